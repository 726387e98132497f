"""Role budgets inside real workflows: a role's spend this month reaches 80% → the CEO is told once;
100% → that role's work waits behind a budget gate for the role while the other roles go on;
approving raises the role's budget and its work goes on; rejecting drops that role's work with a
clear reason and the project goes on.

The offline model is priced at $1 per token (BOARDROOM_PRICES) so the meter counts; offline QA
never scores above 9, so with a 9.5 threshold every task takes all its rounds.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from boardroom.settings import Settings
from domain.enums import Channel, GateKind, Risk, Status, TaskStatus
from domain.gates import GateDecision, GateView
from domain.project import Policy, ProjectState, RoleBudgetsUpdate
from domain.work import ProduceInput, ReviewInput
from tests.workflows.helpers import activity_inputs, cancel_and_wait, next_gate, start_project
from tests.workflows.test_budget_gates import PRICED, Handle, decide_budget
from tests.workflows.test_budget_gates import drive as budget_drive
from workers.worker import create_worker
from workflows.project import ProjectWorkflow

pytestmark = pytest.mark.timeout(240)

ROLE = "pricing-strategist"
TASK = "pricing"


def role_gates(state: ProjectState) -> list[GateView]:
    return [g for g in state.gates if g.kind == GateKind.budget and g.title.startswith("Role budget reached")]


def spent_notices(state: ProjectState) -> list[str]:
    return [n for n in state.role_budgets.notices if " has spent " in n]


def task(state: ProjectState, task_id: str = TASK) -> TaskStatus:
    return next(t for t in state.tasks if t.id == task_id).status


def rounds(state: ProjectState, task_id: str = TASK) -> int:
    return next(t for t in state.tasks if t.id == task_id).rounds


async def task_calls(client: Client, workflow_id: str, task_id: str) -> tuple[int, int]:
    """How many `produce` and `review` calls the project's run made for one task."""
    produced = await activity_inputs(client, workflow_id, "produce", ProduceInput)
    reviewed = await activity_inputs(client, workflow_id, "review", ReviewInput)
    return (
        sum(1 for data, _ in produced if data.task.id == task_id),
        sum(1 for data, _ in reviewed if data.task.id == task_id),
    )


async def budget_notices_sent(handle: Handle) -> int:
    """How many `notify_slack` calls of phase `budget` the project scheduled."""
    history = await handle.fetch_history()
    return sum(
        1
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "notify_slack"
        and json.loads(e.activity_task_scheduled_event_attributes.input.payloads[0].data)["phase"] == "budget"
    )


async def approve_role(handle: Handle, gate: GateView, increase: float) -> None:
    await handle.execute_update(  # type: ignore[unused-coroutine]
        ProjectWorkflow.decide,
        GateDecision(
            gate_id=gate.id, decision="approve", approver="ceo", channel=Channel.api, budget_increase_usd=increase
        ),
    )


async def leave_pending(_handle: Handle, _gate: GateView) -> None:
    """The role gates are decided by the test itself; `drive` approves everything else."""
    await asyncio.sleep(0.05)


async def drive(handle: Handle, until: Callable[[ProjectState], bool], what: str) -> ProjectState:
    return await budget_drive(handle, until, leave_pending, what)


async def test_role_budget_notice_gate_approve_then_reject(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    client = dev_env.client
    priced = settings.model_copy(update={"prices": PRICED})
    policy = Policy(pass_threshold=9.5, max_rounds=3, role_budgets_usd={ROLE: 1.0})
    async with create_worker(client, priced, task_queue=task_queue):
        handle = await start_project(client, task_queue, budget_usd=1_000_000.0, policy=policy)

        # The pricing task's first round spends past $1: the 80% notice and the role's gate at once.
        state = await drive(handle, lambda s: any(g.status == "pending" for g in role_gates(s)), "the role's gate")
        (first,) = role_gates(state)
        month = state.role_budgets.month
        assert first.title == f"Role budget reached: {ROLE} ({month})"
        assert (first.risk, first.requester_workflow_id) == (Risk.high, handle.id)
        assert state.role_budgets.held == {ROLE: first.key}
        assert state.role_budgets.spent_usd[ROLE] >= 1.0
        assert len(spent_notices(state)) == 1 and spent_notices(state)[0].startswith(f"{ROLE} has spent $")
        assert rounds(state) == 1

        # The role's work waits: another role's task does all its three rounds (and is accepted)
        # while pricing stays at its first.
        state = await drive(
            handle, lambda s: task(s, "market-research") == TaskStatus.accepted, "market research to finish"
        )
        assert rounds(state, "market-research") == 3
        assert rounds(state) == 1 and task(state) == TaskStatus.running
        assert [g.status for g in role_gates(state)] == ["pending"]

        # Approve with an increase smaller than the spend: the role is still over, a new gate at once.
        spent = state.role_budgets.spent_usd[ROLE]
        await approve_role(handle, first, 1.0)
        state = await drive(handle, lambda s: len(role_gates(s)) == 2, "the role's second gate")
        second = role_gates(state)[1]
        assert state.role_budgets.budgets_usd[ROLE] == 2.0
        assert state.role_budgets.held == {ROLE: second.key}
        assert rounds(state) == 1 and state.role_budgets.spent_usd[ROLE] == spent

        # Approve enough for the spend so far: the work goes on, one more round, then asks again.
        await approve_role(handle, second, round(spent, 2))
        state = await drive(handle, lambda s: len(role_gates(s)) == 3, "the role's third gate")
        third = role_gates(state)[2]
        assert state.role_budgets.budgets_usd[ROLE] == round(2.0 + round(spent, 2), 2)
        assert rounds(state) == 2 and state.role_budgets.spent_usd[ROLE] > spent
        assert state.role_budgets.held == {ROLE: third.key}
        assert len(spent_notices(state)) == 1, "the 80% notice is sent once per role and month"
        spent = state.role_budgets.spent_usd[ROLE]

        # Reject: the pricing task is dropped with the reason; the project goes on.
        await decide_budget(handle, third, "reject", comment="enough pricing this month")
        state = await drive(handle, lambda s: task(s) == TaskStatus.dropped, "the pricing task dropped")
        assert state.role_budgets.refused == [ROLE] and state.role_budgets.held == {}
        assert state.role_budgets.spent_usd[ROLE] == spent, "no call of the role after the refusal"
        assert state.status in (Status.running, Status.waiting_approval)
        assert any(n.startswith(f"{ROLE}: budget not raised for {month}") for n in state.role_budgets.notices)
        assert await task_calls(client, handle.id, TASK) == (2, 2), "two rounds before the refusal"

        # The CEO's Slack notice went out once (skipped without Slack, but asked for once).
        assert await budget_notices_sent(handle) == 1
        await cancel_and_wait(handle)


async def test_role_budgets_set_on_a_running_project_bind_the_tasks_that_start_later(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    client = dev_env.client
    priced = settings.model_copy(update={"prices": PRICED})
    async with create_worker(client, priced, task_queue=task_queue):
        handle = await start_project(
            client, task_queue, budget_usd=1_000_000.0, policy=Policy(pass_threshold=9.5, max_rounds=3)
        )
        await next_gate(handle, "interview")
        budgets = await handle.execute_update(
            ProjectWorkflow.set_role_budgets, RoleBudgetsUpdate(budgets_usd={ROLE: 1.0})
        )
        assert budgets.budgets_usd == {ROLE: 1.0} and budgets.notices == [f"role budgets set: {ROLE} $1.00"]

        # The pricing task starts after the change: its first round spends past $1 and it is held.
        state = await drive(handle, lambda s: any(g.status == "pending" for g in role_gates(s)), "the role's gate")
        (gate,) = role_gates(state)
        assert gate.title == f"Role budget reached: {ROLE} ({state.role_budgets.month})"
        assert state.role_budgets.held == {ROLE: gate.key} and rounds(state) == 1

        # Lifting the budget on the running project releases nothing by itself: the gate decides.
        raised = await handle.execute_update(
            ProjectWorkflow.set_role_budgets, RoleBudgetsUpdate(budgets_usd={ROLE: 1_000_000.0})
        )
        assert raised.held == {ROLE: gate.key}
        await approve_role(handle, gate, 1.0)
        state = await drive(handle, lambda s: rounds(s) >= 2, "the pricing task to go on")
        assert len(role_gates(state)) == 1 and state.role_budgets.held == {}
        await cancel_and_wait(handle)


async def test_role_budgets_set_during_execution_hold_the_tasks_it_starts_afterwards(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    """PUT during execution: the running execution is told, so a task it starts afterwards waits
    at its role's gate, and a reject drops it."""
    client = dev_env.client
    priced = settings.model_copy(update={"prices": PRICED})
    manager, spec = "product-manager", "product-spec"
    async with create_worker(client, priced, task_queue=task_queue):
        handle = await start_project(
            client, task_queue, budget_usd=1_000_000.0, policy=Policy(pass_threshold=9.5, max_rounds=3)
        )

        # Execution runs; the spec waits for market research, whose escalation is left pending.
        def research_escalated(s: ProjectState) -> bool:
            return any(
                g.status == "pending" and g.kind == GateKind.escalation and g.task_id == "market-research"
                for g in s.gates
            )

        state = await drive(handle, research_escalated, "market research's escalation")
        assert state.phase == "execution" and task(state, spec) == TaskStatus.pending
        budgets = await handle.execute_update(
            ProjectWorkflow.set_role_budgets, RoleBudgetsUpdate(budgets_usd={manager: 1.0})
        )
        assert budgets.budgets_usd == {manager: 1.0}

        # The spec starts once research is accepted; its first round spends past $1 and it waits.
        state = await drive(handle, lambda s: any(g.status == "pending" for g in role_gates(s)), "the role's gate")
        (gate,) = role_gates(state)
        month = state.role_budgets.month
        assert gate.title == f"Role budget reached: {manager} ({month})"
        assert state.role_budgets.held == {manager: gate.key}
        assert rounds(state, spec) == 1 and task(state, spec) == TaskStatus.running
        spent = state.role_budgets.spent_usd[manager]

        # Reject: the spec is dropped with the reason, nothing more of the role runs.
        await decide_budget(handle, gate, "reject", comment="no more specs this month")
        state = await drive(handle, lambda s: task(s, spec) == TaskStatus.dropped, "the spec dropped")
        assert state.role_budgets.refused == [manager] and state.role_budgets.spent_usd[manager] == spent
        assert any(n.startswith(f"{manager}: budget not raised for {month}") for n in state.role_budgets.notices)
        # One producer call and one review: nothing of the role ran after its first round.
        assert await task_calls(client, handle.id, spec) == (1, 1)
        await cancel_and_wait(handle)


async def test_a_role_gate_decided_after_its_budget_was_removed_only_releases_the_work(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    client = dev_env.client
    priced = settings.model_copy(update={"prices": PRICED})
    policy = Policy(pass_threshold=9.5, max_rounds=3, role_budgets_usd={ROLE: 1.0})
    async with create_worker(client, priced, task_queue=task_queue):
        handle = await start_project(client, task_queue, budget_usd=1_000_000.0, policy=policy)
        state = await drive(handle, lambda s: any(g.status == "pending" for g in role_gates(s)), "the role's gate")
        (gate,) = role_gates(state)
        assert rounds(state) == 1

        # The CEO removes the role's budget; its pending gate still holds the work until decided.
        removed = await handle.execute_update(ProjectWorkflow.set_role_budgets, RoleBudgetsUpdate(budgets_usd={}))
        assert removed.budgets_usd == {} and removed.held == {ROLE: gate.key}

        # Approving releases the work without bringing the budget back or opening a new gate.
        await approve_role(handle, gate, 1.0)
        state = await drive(handle, lambda s: rounds(s) >= 2, "the pricing task to go on")
        assert state.role_budgets.budgets_usd == {} and state.role_budgets.held == {}
        assert len(role_gates(state)) == 1 and state.role_budgets.refused == []
        assert state.role_budgets.notices[-1] == f"{ROLE}: no budget any more; its work goes on (ceo)"
        await cancel_and_wait(handle)
