"""Browser fixtures: the system Chromium driven by Playwright, and the whole stack live on loopback
(the session's Temporal dev server, a worker on the test's task queue, the real API app served by
uvicorn on a free port that BOARDROOM_PUBLIC_URL points at, so approval links open as sent)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, async_playwright
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from boardroom.settings import Settings
from workers.devstack_runner import KEEP_ALIVE_S
from workers.worker import create_worker

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Hang guards only: the stack answers in well under a second.
STARTUP_S = 20.0
SHUTDOWN_S = 15.0


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """The system Chromium (never a downloaded one: `playwright install` is not used)."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need the system Chromium. Install it with "
            "`apt-get update && apt-get install -y chromium` (.ci/run does this in CI)."
        )
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000)
        try:
            yield chromium
        finally:
            await chromium.close()


@dataclass
class Stack:
    settings: Settings
    base_url: str
    http: httpx.AsyncClient


def _loopback_socket() -> socket.socket:
    """Bound before the app is built, so its public URL can carry the port with no race."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


@pytest.fixture
async def stack(dev_env: WorkflowEnvironment, settings: Settings, task_queue: str) -> AsyncIterator[Stack]:
    """A worker and the API (uvicorn, real HTTP) on the dev server; stopped when the test ends."""
    sock = _loopback_socket()
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    live = settings.model_copy(
        update={
            "temporal_address": dev_env.client.service_client.config.target_host,
            "temporal_namespace": dev_env.client.namespace,
            "task_queue": task_queue,
            "public_url": base_url,
        }
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(live),
            lifespan="on",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,
            timeout_keep_alive=KEEP_ALIVE_S,
        )
    )
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(STARTUP_S):
            while not server.started:
                if serving.done():
                    serving.result()  # raises what stopped it
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0.05)
        async with (
            create_worker(dev_env.client, live, task_queue=task_queue),
            httpx.AsyncClient(base_url=base_url, timeout=30) as http,
        ):
            yield Stack(settings=live, base_url=base_url, http=http)
    finally:
        server.should_exit = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(serving, timeout=SHUTDOWN_S)
        if not serving.done():
            serving.cancel()
        sock.close()
