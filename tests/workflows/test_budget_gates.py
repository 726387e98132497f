"""The budget gate inside real workflows: the spend reaches the budget → a budget gate opens →
approving raises the budget and the work goes on; rejecting ends the work that asked for it
(discovery: the project ends as cancelled with the reason; execution: the task is dropped or
the re-plan skipped; operations: the review is skipped) and nothing is left running.

The offline agents cost nothing by default; these tests price the offline model at $1 per
token (BOARDROOM_PRICES), so every agent call costs at least $2 and the meter counts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import func
from sqlmodel import select
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from boardroom.settings import Settings
from domain.enums import Channel, GateKind, GateStatus, Phase, Risk, Status, TaskStatus
from domain.gates import GateDecision, GateView
from domain.project import Policy, ProjectState, SteerInstruction
from store.db import session_scope
from store.tables import Decision, Project, UsageRecord
from tests.waiting import eventually
from tests.workflows.helpers import (
    WAIT_S,
    assert_one_workflow,
    cancel_and_wait,
    decide,
    next_gate,
    pending,
    start_project,
    wait_for,
)
from workers.worker import create_worker
from workflows.project import ProjectWorkflow

Handle = WorkflowHandle[ProjectWorkflow, ProjectState]

# Long scenarios (whole projects, timers skipped through operations): their own hang guard.
pytestmark = pytest.mark.timeout(240)

# $1 per offline token in and out: every offline call costs whole dollars, at least $2.
PRICED = '{"offline": [1000000, 1000000]}'
# Slack on top of what the spend needs, when a gate should allow exactly one more call.
ONE_CALL = 0.5
PLENTY = 1_000_000.0
ENDED = (Status.completed, Status.failed, Status.cancelled)


@pytest.fixture
def priced(settings: Settings) -> Settings:
    return settings.model_copy(update={"prices": PRICED})


def spent(db_url: str, project_id: str) -> float:
    with session_scope(db_url) as session:
        query = select(func.coalesce(func.sum(UsageRecord.cost_usd), 0.0)).where(UsageRecord.project_id == project_id)
        return float(session.exec(query).one())


def stored_budget(db_url: str, project_id: str) -> float | None:
    with session_scope(db_url) as session:
        row = session.get(Project, project_id)
        return row.budget_usd if row is not None else None


def snapshot_budget(db_url: str, project_id: str) -> float | None:
    with session_scope(db_url) as session:
        row = session.get(Project, project_id)
        return float(row.state["cost"]["budget_usd"]) if row is not None and row.state else None


async def poll(check: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    await eventually(check, what, timeout)


async def decide_budget(
    handle: Handle, gate: GateView, decision: str, *, increase: float | None = None, comment: str = ""
) -> ProjectState:
    """Decide a budget gate through the validated update; an approval waits for the raised budget."""
    before = (await handle.query(ProjectWorkflow.get_state)).cost.budget_usd
    await handle.execute_update(  # type: ignore[unused-coroutine]
        ProjectWorkflow.decide,
        GateDecision(
            gate_id=gate.id,
            decision=decision,  # type: ignore[arg-type]
            comment=comment,
            approver="ceo",
            channel=Channel.api,
            budget_increase_usd=increase,
        ),
    )
    if decision != "approve":
        return await wait_for(handle, lambda s: all(g.id != gate.id for g in pending(s)), what=f"{gate.id} decided")
    assert increase is not None
    raised = round(before + increase, 2)
    return await wait_for(handle, lambda s: s.cost.budget_usd == raised, what=f"the budget raised to {raised}")


def one_call(db_url: str) -> Callable[[Handle, GateView], Awaitable[None]]:
    """Approve a budget gate with just enough for the next call: the budget stays spent."""

    async def approve(handle: Handle, gate: GateView) -> None:
        state = await handle.query(ProjectWorkflow.get_state)
        increase = max(round(spent(db_url, state.project_id) - state.cost.budget_usd, 2), 0.0) + ONE_CALL
        await decide_budget(handle, gate, "approve", increase=increase)

    return approve


async def drive(
    handle: Handle,
    until: Callable[[ProjectState], bool],
    on_budget: Callable[[Handle, GateView], Awaitable[None]],
    what: str,
    timeout: float = WAIT_S,
) -> ProjectState:
    """The test CEO: approves every gate, hands budget gates to `on_budget`, until `until` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        state = await handle.query(ProjectWorkflow.get_state)
        if until(state):
            return state
        assert state.status not in ENDED, f"project ended ({state.status}: {state.error}) before {what}"
        assert loop.time() < deadline, f"timed out waiting for {what}; phase={state.phase}"
        gates = pending(state)
        for gate in gates:
            if gate.kind == GateKind.budget:
                await on_budget(handle, gate)
            else:
                await decide(handle, gate)
        if not gates:
            await asyncio.sleep(0.05)


async def pending_budget_gate(handle: Handle, title: str, exclude: frozenset[str] = frozenset()) -> GateView:
    """The first pending budget gate whose title starts with `title`."""

    def wanted(g: GateView) -> bool:
        return g.kind == GateKind.budget and g.title.startswith(title) and g.id not in exclude

    state = await wait_for(handle, lambda s: any(wanted(g) for g in pending(s)), what=f"a budget gate '{title}'")
    return next(g for g in pending(state) if wanted(g))


async def status_of(client: Client, workflow_id: str) -> WorkflowExecutionStatus | None:
    return (await client.get_workflow_handle(workflow_id).describe()).status


async def test_discovery_budget_approved_goes_on_then_refused_ends_the_project(
    dev_env: WorkflowEnvironment, priced: Settings, task_queue: str
) -> None:
    client, db = dev_env.client, priced.database_url
    async with create_worker(client, priced, task_queue=task_queue):
        handle = await start_project(client, task_queue, budget_usd=0.01)
        project_id = (await handle.query(ProjectWorkflow.get_state)).project_id
        # The interview questions start under the budget and spend all of it.
        await decide(handle, await next_gate(handle, "interview"))
        research = await next_gate(handle, "budget")
        assert research.title == "Budget reached before: market research"
        assert research.risk == Risk.high and research.requester_workflow_id == f"{handle.id}/discovery"
        assert spent(db, project_id) >= 2.0

        # Approve: the budget is raised (workflow and database), the research runs, planning asks next.
        before = spent(db, project_id)
        state = await decide_budget(handle, research, "approve", increase=round(before, 2))
        assert state.cost.budget_usd == round(0.01 + round(before, 2), 2)
        await poll(lambda: stored_budget(db, project_id) == state.cost.budget_usd, "the stored budget")
        # The read model's snapshot shows it too (a budget decision is synced after it raised it).
        await poll(lambda: snapshot_budget(db, project_id) == state.cost.budget_usd, "the read model's budget")
        planning = await next_gate(handle, "budget")
        assert planning.title == "Budget reached before: planning"
        assert spent(db, project_id) > before, "the research ran on the raised budget"

        # Reject: discovery ends with the typed error and the project with a clear reason.
        await decide_budget(handle, planning, "reject", comment="not worth it")
        final: ProjectState = await asyncio.wait_for(handle.result(), timeout=WAIT_S)
        assert final.status == Status.cancelled
        assert final.error == "budget not raised: planning"
        assert final.phase == Phase.discovery and final.plan is None
        assert final.pending_gates == []
        refused = next(g for g in final.gates if g.id == planning.id)
        assert refused.status == GateStatus.rejected and refused.comment == "not worth it"

        # Discovery (inside the project workflow) ended with the typed refusal, cleanly: no
        # workflow task failed (it used to fail over and over) and no child workflow ran.
        await assert_one_workflow(client, handle.id)
        # Nothing is left running: the project's run is closed (with it its timers).
        assert await status_of(client, handle.id) == WorkflowExecutionStatus.COMPLETED
        with session_scope(db) as session:
            row = session.get(Project, project_id)
            assert row is not None and row.status == "cancelled"
            decided = session.exec(select(Decision).where(Decision.gate_id == planning.id)).one()
            assert decided.decision == "reject"


async def test_execution_refused_replan_keeps_the_plan_and_refused_task_is_dropped(
    dev_env: WorkflowEnvironment, priced: Settings, task_queue: str
) -> None:
    client, db = dev_env.client, priced.database_url
    # QA passes every first draft: two paid calls per task.
    policy = Policy(pass_threshold=0, max_rounds=1)
    async with create_worker(client, priced, task_queue=task_queue):
        handle = await start_project(client, task_queue, budget_usd=0.01, policy=policy)
        # Every discovery call gets its own budget gate, approved for that call only.
        state = await drive(handle, lambda s: s.phase == Phase.execution, one_call(db), "execution")
        assert state.plan_revision == 0
        # The spent budget holds every task at its budget gate; execution stays open. (Steering
        # before execution runs would only be noted: wait for a task to ask.)
        await pending_budget_gate(handle, "Budget reached before: producing")
        replan = "Budget reached before: re-planning after a CEO instruction"
        await handle.signal(ProjectWorkflow.steer, SteerInstruction(instruction="Add a wholesale offer for cafes"))
        first = await pending_budget_gate(handle, replan)
        assert first.requester_workflow_id == f"{handle.id}/execution"
        await decide_budget(handle, first, "reject")

        # The refusal did not stop execution: the next instruction asks again (only after the
        # first re-plan gave up, so the plan it kept is still revision 0).
        await handle.signal(ProjectWorkflow.steer, SteerInstruction(instruction="Add a corporate gift box"))
        second = await pending_budget_gate(handle, replan, exclude=frozenset({first.id}))
        assert (await handle.query(ProjectWorkflow.get_state)).plan_revision == 0
        await decide_budget(handle, second, "approve", increase=PLENTY)
        revised = await wait_for(handle, lambda s: s.plan_revision == 1, what="the approved re-plan")
        assert "gift box" in revised.model_dump_json().lower()

        # A task whose budget is refused is dropped; the others get the budget and go on.
        gate = await pending_budget_gate(handle, "Budget reached before: producing")
        assert gate.task_id is not None
        held = await handle.query(ProjectWorkflow.get_state)
        assert next(t for t in held.tasks if t.id == gate.task_id).status == TaskStatus.waiting_approval
        await decide_budget(handle, gate, "reject")

        async def plenty(h: Handle, g: GateView) -> None:
            await decide_budget(h, g, "approve", increase=PLENTY)

        state = await drive(handle, lambda s: s.phase == Phase.operations, plenty, "operations")
        tasks = {t.id: t for t in state.tasks}
        assert tasks[gate.task_id].status == TaskStatus.dropped
        others = [t for t in state.tasks if t.id != gate.task_id and not t.id.startswith("launch-")]
        assert others and all(t.status in (TaskStatus.passed, TaskStatus.accepted) for t in others)
        assert state.cost.budget_usd >= PLENTY
        await assert_one_workflow(client, handle.id)
        await cancel_and_wait(handle)


async def test_operations_refused_review_is_skipped_and_operations_go_on(
    dev_env: WorkflowEnvironment, priced: Settings, task_queue: str
) -> None:
    client, db = dev_env.client, priced.database_url
    # Real time on the dev server (no clock to skip): a review every few seconds.
    interval = 3
    policy = Policy(pass_threshold=0, max_rounds=1, review_interval_s=interval)
    async with create_worker(client, priced, task_queue=task_queue):
        handle = await start_project(client, task_queue, budget_usd=0.01, policy=policy)
        # Just enough for each call all the way: the budget is spent when operations begin.
        await drive(handle, lambda s: s.phase == Phase.operations, one_call(db), "operations")

        first = await pending_budget_gate(handle, "Budget reached before: operations review 1")
        assert first.requester_workflow_id == f"{handle.id}/review-1"
        await decide_budget(handle, first, "reject")
        state = await wait_for(handle, lambda s: s.reviews_done == 1, what="the first review to end")
        assert state.review_summaries[-1] == "Review 1 skipped: budget not raised: operations review 1."
        assert state.kpis.improvements == 0
        assert (state.phase, state.status) == (Phase.operations, Status.running)

        # The next review asks again; approved, it analyses and runs its improvements.
        second = await pending_budget_gate(handle, "Budget reached before: operations review 2")
        await decide_budget(handle, second, "approve", increase=PLENTY)
        state = await drive(handle, lambda s: s.reviews_done == 2, lambda h, g: decide(h, g), "the second review")
        assert state.kpis.improvements >= 1
        assert "skipped" not in state.review_summaries[-1]
        assert (state.phase, state.status) == (Phase.operations, Status.running)
        await assert_one_workflow(client, handle.id)
        await cancel_and_wait(handle)
