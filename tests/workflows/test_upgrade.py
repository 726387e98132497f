"""Live projects survive the move to one workflow per project: a project started on the code
before it (phases and tasks as child workflows) goes on under today's worker in that shape, and
moves to the one-workflow shape at its next continue-as-new with its state intact."""

from __future__ import annotations

import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from boardroom.settings import Settings
from domain.enums import Phase
from domain.project import BusinessEvent, Policy
from tests.workflows.helpers import (
    approve_until,
    cancel_and_wait,
    decide,
    history_events,
    next_gate,
    start_project,
    wait_for,
)
from tests.workflows.old_shape import ProjectBeforeOneWorkflow
from workers.worker import activities, create_worker, workflow_runner, workflows
from workflows import patches
from workflows.patches import BASELINE
from workflows.project import PATCH_ONE_WORKFLOW, ProjectWorkflow

CHILD_STARTED = EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED


def patches_in(events: list[HistoryEvent]) -> set[str]:
    found = set()
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            details = e.marker_recorded_event_attributes.details
            if "patch-data" in details:
                for payload in details["patch-data"].payloads:
                    found.add(payload.data.decode())
    return found


async def test_a_project_started_before_one_workflow_goes_on_and_moves_at_continue_as_new(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = dev_env.client
    # Reviews every 3 s (real time), and a history limit every run in operations reaches at once:
    # the old run continues as new as soon as it is live.
    policy = Policy(review_interval_s=3, max_history_events=200, pass_threshold=0, max_rounds=1)
    old = Worker(
        client,
        task_queue=task_queue,
        workflows=[ProjectBeforeOneWorkflow if w is ProjectWorkflow else w for w in workflows()],
        activities=activities(settings),
        workflow_runner=workflow_runner(),
    )
    # The code of then also asked each patch on its own (no baseline marker: workflows/patches.py).
    monkeypatch.setattr(patches, "BASELINES", ())
    async with old:
        handle = await start_project(client, task_queue, goal=f"Sell tea towels {uuid.uuid4().hex[:6]}", policy=policy)
        first_run = (await handle.describe()).run_id
        await decide(handle, await next_gate(handle, "interview"))
        # The old code waits at the plan gate, inside its discovery child workflow.
        plan = await next_gate(handle, "plan")
        assert plan.requester_workflow_id == f"{handle.id}/discovery"

    # Today's worker takes over the live run (and its child) mid-discovery.
    monkeypatch.undo()
    async with create_worker(client, settings, task_queue=task_queue):
        await decide(handle, plan)
        state = await approve_until(handle, Phase.operations)
        assert state.launched
        await handle.signal(
            ProjectWorkflow.business_event, BusinessEvent(id="upgrade-1", kind="payment", amount_usd=30)
        )
        state = await wait_for(handle, lambda s: s.reviews_done >= 1 and s.kpis.events >= 1, what="a review")

        # The old run went on in its own shape (child workflows, no patch) and continued as new.
        old_events = await history_events_of_run(client, handle.id, first_run)
        assert [e for e in old_events if e.event_type == CHILD_STARTED], "the old run used child workflows"
        assert not any(PATCH_ONE_WORKFLOW in p or BASELINE in p for p in patches_in(old_events))
        assert old_events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW

        # The new run is one workflow, with the state carried: gates, tasks, KPIs.
        now = await history_events(client, handle.id)
        # One marker for every patch of then, one-workflow among them.
        found = patches_in(now)
        assert len(found) == 1 and BASELINE in found.pop() and PATCH_ONE_WORKFLOW in patches.COVERED
        assert not [e for e in now if e.event_type == CHILD_STARTED], "the new run started a child workflow"
        assert state.runs >= 2
        assert {g.kind.value for g in state.gates} >= {"interview", "plan", "go_live"}
        assert all(g.status.value != "pending" for g in state.gates if g.kind.value in ("interview", "plan"))
        assert state.kpis.orders == 1 and state.kpis.revenue_usd == 30
        planned = {t.id for t in state.plan.tasks} if state.plan else set()
        assert planned and all(t.status.value in ("passed", "accepted") for t in state.tasks if t.id in planned)
        await cancel_and_wait(handle)


async def history_events_of_run(client: Client, workflow_id: str, run_id: str) -> list[HistoryEvent]:
    return [e async for e in client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history_events()]
