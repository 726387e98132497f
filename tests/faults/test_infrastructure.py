"""The infrastructure goes away mid-execution: the Temporal dev server restarts on the same
database file; the application database refuses writes for longer than SQLite's busy timeout.
Projects still end where an undisturbed run ends, with nothing lost and nothing recorded twice."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from domain.enums import Phase
from tests.faults.support import Fakes, assert_undisturbed_end_state, project_workflow_ids, retried_attempts, start
from tests.stack import Stack, _until, in_operations, still_running, wait_state

# A whole stack in processes (dev server, API, workers): slow under load; the guard only catches hangs.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


async def test_dev_server_restart_mid_execution(persistent_stack: Stack, fakes: Fakes) -> None:
    stack = persistent_stack
    fakes.llm.delay_s = 1.5
    worker = await stack.start_worker(fakes.worker_env())
    handle = await start(stack, tag="server-restart")
    await wait_state(handle, lambda s: s.phase == Phase.execution, 60, "execution")
    await _until(lambda: stack.started_activities(worker), 30, "an activity in flight")

    # Down while activities are in flight: they finish while no server is there to hear it.
    await stack.server.stop(graceful=True)
    assert not stack.server.proc or not stack.server.proc.alive()
    await asyncio.sleep(3)
    fakes.llm.delay_s = 0.3
    await stack.server.start()
    assert stack.server.starts == 2 and stack.server.db_file.stat().st_size > 0

    state = await wait_state(handle, in_operations, 120, "operations after the restart")
    await assert_undisturbed_end_state(stack, fakes, state)
    assert worker.alive(), "the worker rides out the server restart"


async def test_database_unavailable_during_activities(stack: Stack, fakes: Fakes) -> None:
    fakes.llm.delay_s = 0.3
    worker = await stack.start_worker(fakes.worker_env())
    handle = await start(stack, tag="db-outage")
    await wait_state(handle, lambda s: s.phase == Phase.execution, 60, "execution")

    # How the database is taken away: the worker's pooled SQLite connections keep their file
    # descriptors, so chmod (ignored by root anyway) or renaming the file changes nothing for
    # them. A write lock held by this process stops every write instead. store/db.py makes
    # SQLite wait up to 30 s for a lock (busy_timeout), so a shorter outage is absorbed as a
    # wait; held for OUTAGE_S the writes fail ("database is locked") or time out, and the
    # activities are retried by Temporal.
    locker = await asyncio.to_thread(_lock_database, stack.db_file)
    outage_started = time.monotonic()
    try:
        await asyncio.sleep(OUTAGE_S)
        assert await still_running(handle)
    finally:
        await asyncio.to_thread(_unlock_database, locker)
    outage = time.monotonic() - outage_started

    state = await wait_state(handle, in_operations, 150, "operations after the outage")
    await assert_undisturbed_end_state(stack, fakes, state)
    retried = await retried_attempts(stack, await project_workflow_ids(stack, state.project_id))
    assert retried, "no activity needed a retry: the outage did not hit the activities"
    assert outage >= OUTAGE_S
    assert worker.alive()
    assert "database is locked" in worker.output() or "timed out" in worker.output().lower()


# Longer than SQLite's 30 s busy timeout, so that writes fail instead of waiting it out.
OUTAGE_S = 33.0


def _lock_database(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN EXCLUSIVE")
    return conn


def _unlock_database(conn: sqlite3.Connection) -> None:
    conn.execute("ROLLBACK")
    conn.close()
