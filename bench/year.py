"""Section 5: one simulated year of operations on the time-skipping test server — weekly reviews,
business events, continue-as-new — its wall time and the largest history of any run."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType, IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from bench.common import rnd, start_projects
from boardroom.client import data_converter
from boardroom.devstack import load_devstack
from boardroom.settings import Settings
from domain.enums import AutoApprove, Phase
from domain.project import BusinessEvent, Policy, ProjectState
from workers.worker import create_worker
from workflows.project import ProjectWorkflow

INDEXED = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Text": IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "Double": IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
    "Bool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    "KeywordList": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
}


async def run_lengths(client: Client, workflow_id: str) -> list[int]:
    """History length of every run of one workflow id, newest first (walks the continue-as-new chain)."""
    lengths: list[int] = []
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        lengths.append(len(history.events))
        start = history.events[0]
        assert start.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
        previous = start.workflow_execution_started_event_attributes.continued_execution_run_id
        if not previous:
            return lengths
        run_id = previous


async def _wait_state(handle: Any, predicate: Any, timeout: float, what: str) -> ProjectState:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        state: ProjectState = await handle.query(ProjectWorkflow.get_state)
        if predicate(state):
            return state
        if loop.time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}; phase={state.phase} reviews={state.reviews_done}")
        await asyncio.sleep(0.05)


async def year_of_operations(settings: Settings, test_server: str, weeks: int, events: int) -> dict[str, Any]:
    """The approach of tests/workflows/test_year_of_operations.py, timed from operations on."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter(), test_server_existing_path=test_server
    )
    try:
        dev = load_devstack()
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={name: INDEXED[kind] for name, kind in dev.search_attributes.items()},
            )
        )
        policy = Policy(auto_approve=AutoApprove.all, review_interval_s=7 * 24 * 3600, max_history_events=3000)
        async with create_worker(env.client, settings, task_queue="bench-year"):
            (handle,) = await start_projects(env.client, "bench-year", "bench-year", 1, policy)
            await _wait_state(handle, lambda s: s.phase == Phase.operations, 120, "operations")
            started = time.monotonic()
            sent = 0
            for week in range(weeks):
                quota = events * (week + 1) // weeks - sent
                for i in range(quota):
                    n = sent + i
                    kind = "refund" if n % 25 == 0 else ("issue_opened" if n % 40 == 0 else "payment")
                    await handle.signal(
                        ProjectWorkflow.business_event,
                        BusinessEvent(id=f"evt-{n}", source="stripe", kind=kind, amount_usd=20.0),
                    )
                sent += quota
                await env.sleep(timedelta(days=7))
            state = await _wait_state(
                handle,
                lambda s: s.reviews_done >= weeks and s.kpis.events >= events,
                300,
                f"{weeks} reviews and {events} events",
            )
            wall = time.monotonic() - started
            lengths = await run_lengths(env.client, handle.id)
            # End the project while the worker is still up, so the server's clock is not held.
            await handle.cancel()
            try:
                await asyncio.wait_for(handle.result(), timeout=60)
            except WorkflowFailureError:
                pass
        return {
            "weeks": weeks,
            "business_events": events,
            "reviews_done": state.reviews_done,
            "events_counted": state.kpis.events,
            "wall_s": rnd(wall, 1),
            "runs": len(lengths),
            "history_events_per_run_max": max(lengths),
            "history_lengths": lengths,
        }
    finally:
        await env.shutdown()


def test_server_binary(bin_dir: Path) -> str:
    from shutil import which

    path = bin_dir / "temporal-test-server"
    if path.exists():
        return str(path)
    found = which("temporal-test-server")
    if not found:
        raise RuntimeError("temporal-test-server not found: install the project (make install)")
    return found
