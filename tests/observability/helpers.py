"""Helpers for observability tests: walk histories, decode payload bytes, scan for secrets."""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

from temporalio.client import Client

from tests.conftest import binary

WAIT_S = 120.0


def payload_dicts(obj: Any) -> Iterator[dict[str, Any]]:
    """Every proto-JSON Payload ({"metadata": {...}, "data": "<base64>"}) anywhere in `obj`."""
    if isinstance(obj, dict):
        if isinstance(obj.get("metadata"), dict) and "encoding" in obj["metadata"]:
            yield obj
        for value in obj.values():
            yield from payload_dicts(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from payload_dicts(value)


def b64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return value.encode()


def encoding(payload: dict[str, Any]) -> bytes:
    return b64(payload["metadata"]["encoding"])


def visible_bytes(history_json: str) -> bytes:
    """What anyone holding the history can read: the JSON itself plus every payload's data
    decoded from base64 (a plain json/plain payload hides nothing behind its base64)."""
    doc = json.loads(history_json)
    parts = [history_json.encode()]
    parts += [b64(p["data"]) for p in payload_dicts(doc) if isinstance(p.get("data"), str)]
    return b"\n".join(parts)


async def workflow_tree(client: Client, workflow_id: str) -> dict[str, str]:
    """The history JSON of a workflow and of every child it started, recursively, by workflow id."""
    out: dict[str, str] = {}
    todo = [workflow_id]
    while todo:
        wid = todo.pop()
        if wid in out:
            continue
        history = await client.get_workflow_handle(wid).fetch_history()
        out[wid] = history.to_json()
        for event in history.events:
            if event.HasField("start_child_workflow_execution_initiated_event_attributes"):
                todo.append(event.start_child_workflow_execution_initiated_event_attributes.workflow_id)
    return out


def cli_show(address: str, namespace: str, workflow_id: str) -> str:
    """The history as the real Temporal CLI exports it (`temporal workflow show --output json`)."""
    proc = subprocess.run(
        [
            binary("temporal"),
            "workflow",
            "show",
            "--workflow-id",
            workflow_id,
            "--address",
            address,
            "--namespace",
            namespace,
            "--output",
            "json",
        ],
        # Only the flags speak: no TEMPORAL_* environment or profile of the machine running the tests.
        env={k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def find_leaks(blob: bytes, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s.encode() in blob]
