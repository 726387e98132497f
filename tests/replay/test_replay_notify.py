"""The notification changes replay: a `digest` run, and a project whose gate and reminder went out
by email and webhook behind the `gate-notify-channels` patch (recorded by
tests/replay/record_notify.py). The older sets (v1, v2) prove the unpatched side."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from boardroom.client import data_converter
from workers.worker import workflow_runner, workflows
from workflows.patches import taken
from workflows.project import PATCH_GATE_NOTIFY

FOLDER = Path(__file__).resolve().parent.parent / "histories" / "notify"


def load(name: str) -> WorkflowHistory:
    ids = json.loads((FOLDER / "workflow-ids.json").read_text())
    return WorkflowHistory.from_json(ids[name], (FOLDER / f"{name}.json").read_text())


def events(name: str) -> list[dict[str, object]]:
    return list(json.loads((FOLDER / f"{name}.json").read_text())["events"])


@pytest.mark.parametrize("name", ["digest", "project"])
async def test_notify_history_replays(name: str) -> None:
    history = events(name)
    started = history[0]["workflowExecutionStartedEventAttributes"]
    assert started["workflowType"]["name"] == name  # type: ignore[index]
    replayer = Replayer(workflows=workflows(), workflow_runner=workflow_runner(), data_converter=data_converter())
    result = await replayer.replay_workflow(load(name))
    assert result.replay_failure is None


def test_the_recorded_project_took_the_patched_path() -> None:
    found: set[str] = set()
    activities: list[str] = []
    for event in events("project"):
        details = event.get("markerRecordedEventAttributes", {}).get("details", {})  # type: ignore[attr-defined]
        for payload in details.get("patch-data", {}).get("payloads", []):
            found.add(json.loads(base64.b64decode(payload["data"]))["id"])
        scheduled = event.get("activityTaskScheduledEventAttributes")
        if scheduled:
            activities.append(scheduled["activityType"]["name"])  # type: ignore[index]
    assert taken(found, PATCH_GATE_NOTIFY)
    assert activities.count("notify_email") >= 2 and activities.count("notify_webhook") >= 2
    for name in ("v1", "v2"):
        assert "notify_email" not in (FOLDER.parent / name / "project.json").read_text()
