"""Request bodies past their route's limit are refused before they are read (413 JSON), over real
HTTP (uvicorn) and ASGI alike, with or without a Content-Length: nothing is stored, nothing sent
to a workflow, and the connection is closed instead of streaming 200 MB into the process.

Over real HTTP the tests speak on a plain socket and read the answer as soon as it comes: a
client that keeps writing after the server closed (httpx does) may lose the 413 to the reset."""

from __future__ import annotations

import asyncio
import json
import select as io_select
import socket
import time
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import pytest
from sqlmodel import select

from api.app import create_app
from boardroom.settings import Settings
from store.db import session_scope
from store.tables import BusinessEventRecord, Gate, Project
from tests.api.conftest import AppClient, Seed
from tests.api.test_cli_client import serve
from tests.api.test_slack import signed

pytestmark = pytest.mark.timeout(120)

MIB = 1024 * 1024
CHUNK = 64 * 1024


def stored_events(db_url: str) -> list[BusinessEventRecord]:
    with session_scope(db_url) as s:
        return list(s.exec(select(BusinessEventRecord)).all())


def projects(db_url: str) -> list[Project]:
    with session_scope(db_url) as s:
        return list(s.exec(select(Project)).all())


def raw_request(url: str, head: str, chunks: Iterator[bytes] = iter(())) -> tuple[str, int]:
    """Send `head`, then `chunks` as fast as the server reads them, until the server answers;
    the answer's text and how many body bytes had been sent when it came."""
    parts = urlsplit(url)
    sent = 0
    answer = b""
    pending = b""
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head.encode())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not pending:
                pending = next(chunks, b"")
            readable, writable, _ = io_select.select([sock], [sock] if pending and not answer else [], [], 1)
            if readable:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    break
                if not data:
                    break
                answer += data
                if b"\r\n\r\n" in answer and answer.rstrip().endswith(b"}"):
                    break
            elif writable:
                try:
                    n = sock.send(pending)
                except (BrokenPipeError, ConnectionResetError):
                    pending = b""
                    continue
                sent += n
                pending = pending[n:]
    return answer.decode("latin-1"), sent


def chunked(total: int) -> Iterator[bytes]:
    piece = b"x" * CHUNK
    for _ in range(total // CHUNK):
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


async def test_declared_oversize_webhook_is_refused_before_reading(
    live_settings: Settings, db_url: str, seed: Seed
) -> None:
    seed.project()
    async with serve(live_settings) as url:
        host = urlsplit(url).netloc
        head = (
            f"POST /webhooks/stripe HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Stripe-Signature: t=1,v1=00\r\nContent-Length: {200 * MIB}\r\n\r\n"
        )
        answer, sent = await asyncio.to_thread(raw_request, url, head)
    status_line, _, rest = answer.partition("\r\n")
    assert status_line.startswith("HTTP/1.1 413"), answer
    assert "connection: close" in rest.lower()
    detail = json.loads(rest.split("\r\n\r\n", 1)[1])["detail"]
    assert "webhooks accept at most 1048576 bytes" in detail
    assert sent == 0
    assert stored_events(db_url) == []


async def test_chunked_oversize_webhook_stops_at_the_limit(live_settings: Settings, db_url: str, seed: Seed) -> None:
    """No Content-Length: the bytes are counted as they stream in and the answer comes once they
    pass 1 MiB, while the client still has most of its 200 MB to send."""
    seed.project()
    async with serve(live_settings) as url:
        host = urlsplit(url).netloc
        head = (
            f"POST /webhooks/stripe HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            "Stripe-Signature: t=1,v1=00\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        answer, sent = await asyncio.to_thread(raw_request, url, head, chunked(200 * MIB))
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert "request body too large" in answer
    assert MIB < sent < 100 * MIB, sent  # it read past the limit only by what was in flight
    assert stored_events(db_url) == []


async def test_each_route_class_has_its_limit(offline_api: AppClient, seed: Seed, db_url: str) -> None:
    seed.project()
    gate = seed.gate()
    goal = {"goal": "g" * 300_000}
    async with offline_api() as http:
        api = await http.post("/projects", json=goal)

        async def stream(size: int) -> AsyncIterator[bytes]:
            for _ in range(size // CHUNK):
                yield b"a" * CHUNK

        no_length = await http.post(
            "/projects", content=stream(320 * 1024), headers={"Content-Type": "application/json"}
        )
        slack_body = b"payload=" + b"x" * (MIB + 10)
        slack = await http.post("/slack/interactions", content=slack_body, headers=signed(slack_body))
        page = await http.post(
            f"/a/{'v1.x.y'}",
            content=b"comment=" + b"c" * 300_000,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        codec = await http.post("/codec/decode", content=b"{" + b" " * (5 * MIB))
        bad_length = await http.post("/projects", content=b"{}", headers={"Content-Length": "lots"})
    for resp, what in (
        (api, "JSON API"),
        (no_length, "JSON API"),
        (slack, "Slack"),
        (page, "approval forms"),
        (codec, "codec"),
    ):
        assert resp.status_code == 413, (what, resp.status_code, resp.text[:200])
        assert what in resp.json()["detail"]
    assert bad_length.status_code == 400
    assert projects(db_url)[0].id == "p-seed00000001" and len(projects(db_url)) == 1
    with session_scope(db_url) as s:
        assert s.get(Gate, gate.id).status == "pending"  # type: ignore[union-attr]


async def test_limits_are_configurable_and_bodies_under_them_pass(offline_api: AppClient) -> None:
    async with offline_api(max_body_bytes=2048) as http:
        small = await http.post("/projects", json={"goal": "g" * 1000, "budget_usd": 0})
        large = await http.post("/projects", json={"goal": "g" * 3000})
    assert small.status_code == 422  # read and validated: under the limit
    assert large.status_code == 413
    assert "at most 2048 bytes" in large.json()["detail"]


def test_openapi_documents_the_413(settings: Settings) -> None:
    paths = create_app(settings).openapi()["paths"]
    for path, method in (
        ("/projects", "post"),
        ("/projects/{project_id}/steer", "post"),
        ("/approvals/{gate_id}/decision", "post"),
        ("/codec/decode", "post"),
        ("/slack/interactions", "post"),
        ("/webhooks/stripe", "post"),
        ("/webhooks/github", "post"),
    ):
        assert "413" in paths[path][method]["responses"], (path, method)
