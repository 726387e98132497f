"""Role budgets over runs of recurring work, inside real workflows: spend past 80% but under 100%
→ one notice, no gate, the work goes on; a routine's run answers to the project's role budgets
although its own policy (built from the project's row) names none; a new calendar month (workflow
time, skipped on the time-skipping server) starts the role's count afresh and allows a new notice.

Routine runs are started directly (what their Temporal Schedule's action does) against a project
that waits at its interview gate, so nothing but the runs spends under the role. The offline model
is priced at $1 per token (tests/workflows/test_budget_gates.py PRICED); two runs with the same
input cost nearly the same, so the first run's spend sets the budget the second is measured by.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.catalog import load_catalog
from boardroom.settings import Settings
from domain.enums import Channel, TaskStatus
from domain.gates import GateDecision
from domain.project import Policy, ProjectState, RoleBudgetState, RoleBudgetsUpdate
from tests.workflows.helpers import (
    WAIT_S,
    activity_names,
    cancel_and_wait,
    history_events,
    next_gate,
    pending,
    start_project,
    wait_for,
)
from tests.workflows.test_budget_gates import PRICED, decide_budget
from tests.workflows.test_role_budgets import budget_notices_sent, role_gates, spent_notices
from workers.worker import create_worker
from workflows.execution import task_workflow_id
from workflows.project import ProjectWorkflow
from workflows.routine import RoutineInput, RoutineOutput, RoutineWorkflow

pytestmark = pytest.mark.timeout(240)

ROLE = "copywriter"
PLENTY = 1_000_000.0
DAY_S = 24 * 3600.0


def quiet(budget: float) -> Policy:
    """The role's budget; nothing but the runs moves while the project waits at its interview: no
    reminder, no expiry within the month skipped below."""
    return Policy(role_budgets_usd={ROLE: budget}, gate_reminder_s=100 * DAY_S, gate_expiry_s=200 * DAY_S)


Handle = WorkflowHandle[ProjectWorkflow, ProjectState]


async def start_routine(
    client: Client, task_queue: str, project: Handle, number: int, policy: Policy
) -> WorkflowHandle[RoutineWorkflow, RoutineOutput]:
    """Run `number` of a routine, started as its schedule would start it; the routine's policy is
    the one the API builds from the project's row (no role budgets)."""
    state = await project.query(ProjectWorkflow.get_state)
    kind = load_catalog().role(ROLE).produces[0]
    routine_id = f"routine-{state.project_id}-{number}"
    return await client.start_workflow(
        RoutineWorkflow.run,
        RoutineInput(
            project_id=state.project_id,
            project_workflow_id=project.id,
            routine_id=routine_id,
            number=number,
            title="Weekly newsletter",
            role=ROLE,
            deliverable_kind=kind,
            acceptance_criteria=["Mentions this week's new mug"],
            goal=state.goal,
            policy=policy,
        ),
        id=f"{routine_id}-{uuid.uuid4().hex[:6]}",
        task_queue=task_queue,
    )


async def run_routine(client: Client, task_queue: str, project: Handle, number: int, policy: Policy) -> ProjectState:
    """One run that passes; the project's state once the run shows as passed on its board. Waits by
    querying the project (on the time-skipping server a query, unlike awaiting a result, lets no
    time be skipped)."""
    run = await start_routine(client, task_queue, project, number, policy)
    state = await wait_for(project, lambda s: run_status(s, number) == TaskStatus.passed, what=f"run {number}")
    result = await asyncio.wait_for(run.result(), timeout=WAIT_S)
    assert result.status == "passed" and result.deliverable_id is not None
    return state


def run_status(state: ProjectState, number: int) -> TaskStatus | None:
    return next((t.status for t in state.tasks if t.id.startswith(f"rt{number}-")), None)


def said(budgets: RoleBudgetState) -> list[str]:
    """The 80% notices among the role budgets' notices."""
    return [n for n in budgets.notices if " has spent " in n]


async def test_past_80_percent_but_under_the_budget_notifies_once_and_the_work_goes_on(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    client = dev_env.client
    priced = settings.model_copy(update={"prices": PRICED})
    one_round = Policy(pass_threshold=0, max_rounds=1)
    async with create_worker(client, priced, task_queue=task_queue):
        project = await start_project(
            client, task_queue, budget_usd=PLENTY, policy=Policy(role_budgets_usd={ROLE: PLENTY})
        )
        await next_gate(project, "interview")

        # The first run, with plenty of budget: what one run of the role costs.
        state = await run_routine(client, task_queue, project, 1, one_round)
        one_run = state.role_budgets.spent_usd[ROLE]
        assert one_run > 0 and spent_notices(state) == []

        # A budget the second run brings to about 90%: 45% now, no notice yet.
        budget = round(2 * one_run / 0.9, 2)
        changed = await project.execute_update(
            ProjectWorkflow.set_role_budgets, RoleBudgetsUpdate(budgets_usd={ROLE: budget})
        )
        assert said(changed) == [] and changed.held == {}

        # The run crosses 80% and passes: the role's work goes on.
        state = await run_routine(client, task_queue, project, 2, one_round)
        spent = state.role_budgets.spent_usd[ROLE]
        assert 0.8 * budget <= spent < budget, (spent, budget)
        month = state.role_budgets.month
        (notice,) = spent_notices(state)
        assert notice.startswith(f"{ROLE} has spent $") and notice.endswith(f"of its ${budget:,.2f} budget for {month}")
        assert state.role_budgets.notified == [ROLE]
        assert role_gates(state) == [] and state.role_budgets.held == {} and state.role_budgets.refused == []
        assert [g.kind.value for g in pending(state)] == ["interview"]
        assert await budget_notices_sent(project) == 1
        await cancel_and_wait(project)


async def test_a_routine_run_stops_at_the_projects_role_budget(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    client = dev_env.client
    priced = settings.model_copy(update={"prices": PRICED})
    # The routine's policy as the API builds it from the project's row: no role budgets in it.
    row_policy = Policy(pass_threshold=9.5, max_rounds=3)
    async with create_worker(client, priced, task_queue=task_queue):
        project = await start_project(
            client,
            task_queue,
            budget_usd=PLENTY,
            policy=row_policy.model_copy(update={"role_budgets_usd": {ROLE: 1.0}}),
        )
        await next_gate(project, "interview")
        run = await start_routine(client, task_queue, project, 1, row_policy)

        # Its first round spends past $1: the role's gate opens and the run waits behind it.
        state = await wait_for(project, lambda s: any(g.status == "pending" for g in role_gates(s)), what="the gate")
        (gate,) = role_gates(state)
        month = state.role_budgets.month
        assert gate.title == f"Role budget reached: {ROLE} ({month})"
        assert state.role_budgets.held == {ROLE: gate.key}
        spent = state.role_budgets.spent_usd[ROLE]

        await decide_budget(project, gate, "reject", comment="no more copy this month")
        result = await asyncio.wait_for(run.result(), timeout=WAIT_S)
        assert result.status == "dropped"
        assert result.summary == f"budget not raised: the {ROLE} budget for {month}"
        state = await wait_for(project, lambda s: run_status(s, 1) == TaskStatus.dropped, what="the run dropped")
        assert state.role_budgets.spent_usd[ROLE] == spent and state.role_budgets.refused == [ROLE]
        # One producer call and one review: nothing of the role ran after its first round.
        # (A routine's task is a child workflow of the routine's run.)
        task_run = await history_events(client, task_workflow_id(run.id, result.task_id))
        assert activity_names(task_run).count("produce") == activity_names(task_run).count("review") == 1
        await cancel_and_wait(project)


async def test_a_new_month_starts_the_count_afresh_and_notifies_again(
    time_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    client = time_env.client
    priced = settings.model_copy(update={"prices": PRICED})
    one_round = Policy(pass_threshold=0, max_rounds=1)
    async with create_worker(client, priced, task_queue=task_queue):
        # What one run of the role costs, measured on a project of its own: the budget is then set
        # when the next project starts (the time-skipping test server has issues with updates).
        measure = await start_project(client, task_queue, budget_usd=PLENTY, policy=quiet(PLENTY))
        await next_gate(measure, "interview")
        one_run = (await run_routine(client, task_queue, measure, 1, one_round)).role_budgets.spent_usd[ROLE]
        await cancel_and_wait(measure)

        # A budget one run brings to about 90%: told once, no gate, the run passes.
        budget = round(one_run / 0.9, 2)
        project = await start_project(client, task_queue, budget_usd=PLENTY, policy=quiet(budget))
        await next_gate(project, "interview")
        state = await run_routine(client, task_queue, project, 1, one_round)
        first_month = state.role_budgets.month
        assert 0.8 * budget <= state.role_budgets.spent_usd[ROLE] < budget
        assert [n.rsplit(" ", 1)[-1] for n in spent_notices(state)] == [first_month]
        assert state.role_budgets.held == {} and role_gates(state) == []

        # A month later (workflow time) the next run counts alone: about 90% again, a new notice,
        # no gate (counted on top of last month's it would be over the budget).
        await time_env.sleep(timedelta(days=32))
        state = await run_routine(client, task_queue, project, 2, one_round)
        rb = state.role_budgets
        assert rb.month > first_month
        assert 0.8 * budget <= rb.spent_usd[ROLE] < budget, (rb.spent_usd, budget)
        assert [n.rsplit(" ", 1)[-1] for n in spent_notices(state)] == [first_month, rb.month]
        assert rb.notified == [ROLE] and rb.held == {} and role_gates(state) == []
        assert [g.kind.value for g in pending(state)] == ["interview"]
        await cancel_and_wait(project)


async def test_a_gate_of_last_month_rejected_this_month_refuses_nothing_this_month(
    time_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    """The decision counts in the month it is made: last month's gate rejected now refuses last
    month only, so the run it held goes on (and this month's spend opens this month's gate)."""
    client = time_env.client
    priced = settings.model_copy(update={"prices": PRICED})
    async with create_worker(client, priced, task_queue=task_queue):
        project = await start_project(client, task_queue, budget_usd=PLENTY, policy=quiet(0.01))
        await next_gate(project, "interview")
        # Two rounds (QA never passes 9.5): the first round's spend holds the run before its second.
        await start_routine(client, task_queue, project, 1, Policy(pass_threshold=9.5, max_rounds=2))
        state = await wait_for(project, lambda s: any(g.status == "pending" for g in role_gates(s)), what="the gate")
        (gate,) = role_gates(state)
        first_month = state.role_budgets.month

        # A month later (workflow time) the CEO rejects last month's gate.
        await time_env.sleep(timedelta(days=32))
        await project.signal(
            ProjectWorkflow.decide_signal,
            GateDecision(gate_id=gate.id, decision="reject", approver="ceo", channel=Channel.temporal_ui),
        )
        state = await wait_for(project, lambda s: len(role_gates(s)) == 2, what="this month's gate")
        rb = state.role_budgets
        assert rb.month > first_month and rb.refused == []
        assert f"{ROLE}: budget not raised for {first_month} (ceo)" in rb.notices
        # The run went on to its second round: this month's spend holds it behind this month's gate.
        first, second = role_gates(state)
        assert (first.status, second.status) == ("rejected", "pending")
        assert rb.held == {ROLE: second.key} and second.key.startswith(f"role-budget:{ROLE}:{rb.month}:")
        assert run_status(state, 1) in (TaskStatus.running, TaskStatus.waiting_approval)
        await cancel_and_wait(project)
