"""The CLI client commands against the real API served by uvicorn on a free loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
import uvicorn
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from boardroom.cli import main
from boardroom.settings import Settings
from tests.api.conftest import Seed, closed_port
from workers.worker import create_worker

pytestmark = pytest.mark.timeout(120)


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[str]:
    port = closed_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started or task.done():
            break
        await asyncio.sleep(0.05)
    assert server.started, "the API did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_read_commands_and_one_line_errors(
    offline_settings: Settings, seed: Seed, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seed.project(cost_usd=1.25, budget_usd=10)
    pending = seed.gate(seq=1, title="Approve the plan")
    decided = seed.gate(seq=2, title="Answer questions", kind="interview")
    seed.decide_row(decided.id, "approved", "alice", datetime(2030, 1, 2, 3, 4, tzinfo=UTC))
    async with serve(offline_settings) as url:
        monkeypatch.setenv("BOARDROOM_API_URL", url)
        monkeypatch.delenv("BOARDROOM_API_KEY", raising=False)

        assert await cli("project", "list") == 0
        out = capsys.readouterr().out
        assert re.search(r"p-seed00000001\s+discovery\s+running\s+0\s+\$1\.25/\$10\.00\s+Seeded shop", out)

        assert await cli("project", "show", "p-seed00000001") == 0
        out = capsys.readouterr().out
        assert "p-seed00000001  Seeded shop  [discovery / running]" in out
        assert "discovery ● → execution · → launch · → operations ·" in out
        assert "cost: $1.25 of $10.00 (12%)" in out
        assert f"→ {pending.id} waits for you: http://testserver/a/v1." in out

        assert await cli("approvals") == 0
        out = capsys.readouterr().out
        assert pending.id in out and decided.id not in out and "/a/v1." in out

        assert await cli("approve", decided.id, "--reject") == 2
        err = capsys.readouterr().err.strip()
        assert err == (
            f"boardroom: POST /approvals/{decided.id}/decision: 409 "
            f"gate {decided.id} was already approved by alice at 2030-01-02 03:04 UTC"
        )

        assert await cli("project", "show", "p-nope") == 2
        assert capsys.readouterr().err.strip() == "boardroom: GET /projects/p-nope: 404 unknown project p-nope"

        assert await cli("project", "new", "") == 2
        assert "422 goal: String should have at least 1 character" in capsys.readouterr().err

    monkeypatch.setenv("BOARDROOM_API_URL", f"http://127.0.0.1:{closed_port()}")
    assert await cli("project", "list") == 2
    err = capsys.readouterr().err
    assert err.startswith("boardroom: cannot reach the Boardroom API at http://127.0.0.1:") and err.count("\n") == 1


async def test_bearer_key_from_the_environment(
    offline_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = offline_settings.model_copy(update={"api_keys": "cli-key-123"})
    async with serve(settings) as url:
        monkeypatch.setenv("BOARDROOM_API_URL", url)
        monkeypatch.delenv("BOARDROOM_API_KEY", raising=False)
        assert await cli("approvals") == 2
        assert "401 missing bearer token" in capsys.readouterr().err
        monkeypatch.setenv("BOARDROOM_API_KEY", "cli-key-123")
        assert await cli("approvals") == 0
        assert capsys.readouterr().out.strip() == "nothing waits for a decision"


async def test_new_prints_the_first_approval_link_then_approve(
    dev_env: WorkflowEnvironment,
    live_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with create_worker(dev_env.client, live_settings, task_queue=live_settings.task_queue):
        async with serve(live_settings) as url:
            monkeypatch.setenv("BOARDROOM_API_URL", url)
            code = await cli("project", "new", "Sell tea subscriptions", "--budget", "3", "--wait", "30")
            out = capsys.readouterr().out
            assert code == 0, out
            pid = re.search(r"project (p-[0-9a-f]{12}) started", out)
            gate = re.search(r"first decision: .* \((p-[0-9a-f]{12}-g\d+)\)\n  approve: (\S+)", out)
            assert pid and gate, out
            assert gate.group(2).startswith("http://testserver/a/v1.")
            assert await cli("approve", gate.group(1), "--comment", "fine") == 0
            assert re.match(rf"{gate.group(1)} approved by ceo at ", capsys.readouterr().out)
            assert await cli("project", "show", pid.group(1)) == 0
            assert "Sell tea subscriptions" in capsys.readouterr().out
            assert await cli("project", "steer", pid.group(1), "Focus on green tea") == 0
            assert await cli("project", "cancel", pid.group(1)) == 0
            out = capsys.readouterr().out
            assert f"instruction sent to {pid.group(1)}" in out and f"cancellation requested for {pid.group(1)}" in out
