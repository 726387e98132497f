"""One simulated year of operations under time skipping: 52 weekly reviews, 2,000 business
events, continue-as-new along the way, and no run's history anywhere near the limits."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from boardroom.settings import Settings
from domain.enums import AutoApprove, Phase
from domain.project import BusinessEvent, Policy
from tests.workflows.helpers import cancel_and_wait, start_project, wait_for
from workers.worker import create_worker
from workflows.project import ProjectWorkflow

WEEKS = 52
EVENTS = 2000
MAX_EVENTS_PER_RUN = 5000


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


async def test_a_year_of_operations(
    time_env: WorkflowEnvironment, settings: Settings, task_queue: str, artifacts: Path
) -> None:
    policy = Policy(auto_approve=AutoApprove.all, review_interval_s=7 * 24 * 3600, max_history_events=3000)
    async with create_worker(time_env.client, settings, task_queue=task_queue):
        handle = await start_project(time_env.client, task_queue, policy=policy)
        await wait_for(handle, lambda s: s.phase == Phase.operations, what="operations")
        started = time.monotonic()
        sent = 0
        for week in range(WEEKS):
            quota = EVENTS * (week + 1) // WEEKS - sent
            for i in range(quota):
                n = sent + i
                kind = "refund" if n % 25 == 0 else ("issue_opened" if n % 40 == 0 else "payment")
                await handle.signal(
                    ProjectWorkflow.business_event,
                    BusinessEvent(id=f"evt-{n}", source="stripe", kind=kind, amount_usd=20.0),
                )
            sent += quota
            await time_env.sleep(timedelta(days=7))
        state = await wait_for(
            handle,
            lambda s: s.reviews_done >= WEEKS and s.kpis.events >= EVENTS,
            timeout=300,
            what="52 reviews and 2,000 events",
        )
        wall = time.monotonic() - started
        lengths = await run_lengths(time_env.client, handle.id)
        (artifacts / "year-of-operations.json").write_text(
            json.dumps({"wall_s": round(wall, 1), "runs": len(lengths), "history_lengths": lengths}, indent=2)
        )
        assert state.kpis.events == EVENTS
        assert state.kpis.reviews >= WEEKS
        assert state.kpis.refunds == len([n for n in range(EVENTS) if n % 25 == 0])
        assert len(lengths) > 1, "the workflow continued as new"
        assert max(lengths) <= MAX_EVENTS_PER_RUN, lengths
        assert state.runs == len(lengths)
        await cancel_and_wait(handle)
