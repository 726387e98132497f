"""`boardroom up` supervises its parts: when one dies the whole stack stops with a one-line reason,
and the Temporal dev server never outlives `up` (not even a SIGKILL of it)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

# Hang guards only: the stack starts in a few seconds.
START_S = 90.0
STOP_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pids_with(needle: str) -> list[int]:
    """Processes whose command line contains `needle` (the test's own database file)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def wait_until(check, what: str, timeout: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


class Up:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.frontend, self.api = free_port(), free_port()
        self.db_file = tmp / f"temporal-{self.frontend}.db"
        config = tmp / "temporal-dev.yaml"
        config.write_text(
            "namespace: default\n"
            f"frontend:\n  ip: 127.0.0.1\n  port: {self.frontend}\n"
            "ui:\n  enabled: false\n"
            f"database_file: {self.db_file}\n"
            f"api:\n  host: 127.0.0.1\n  port: {self.api}\n"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "BOARDROOM_", "DATABASE_"))}
        env.update(
            DATABASE_URL=f"sqlite:///{tmp / 'boardroom.db'}",
            BOARDROOM_AGENT_PROVIDER="offline",
            BOARDROOM_API_PORT=str(self.api),
            TEMPORAL_ADDRESS=f"127.0.0.1:{self.frontend}",
            BOARDROOM_GRACEFUL_SHUTDOWN_S="5",
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "boardroom.cli", "--config", str(config), "up"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=tmp,
            start_new_session=True,
        )

    def healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"`up` exited early: {self.proc.communicate()[1].decode()[-2000:]}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.api}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def dev_server_pids(self) -> list[int]:
        return [p for p in pids_with(str(self.db_file)) if p != self.proc.pid]

    def close(self) -> None:
        for pid in [self.proc.pid, *self.dev_server_pids()]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=STOP_S)


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    stack = Up(tmp_path)
    try:
        wait_until(stack.healthy, "the API of `boardroom up`", START_S)
        yield stack
    finally:
        stack.close()


def test_sigkill_of_up_takes_the_dev_server_with_it(up: Up) -> None:
    servers = up.dev_server_pids()
    assert servers, "the dev server runs under `up`"
    up.proc.kill()
    up.proc.wait(timeout=STOP_S)
    wait_until(lambda: not up.dev_server_pids(), "the dev server to exit after `up` was killed", STOP_S)


def test_when_the_dev_server_dies_the_stack_stops_with_one_line(up: Up) -> None:
    (server,) = up.dev_server_pids()
    os.kill(server, signal.SIGKILL)
    code = up.proc.wait(timeout=STOP_S + 30)
    stderr = up.proc.communicate()[1].decode()
    assert code == 2, stderr[-2000:]
    assert "Traceback" not in stderr
    last = [line for line in stderr.splitlines() if line.strip()][-1]
    assert last.startswith("boardroom: the Temporal dev server exited with code -9; the stack was stopped"), last
    # Nothing of the stack is left: the API port is free again.
    with socket.socket() as s:
        s.bind(("127.0.0.1", up.api))
