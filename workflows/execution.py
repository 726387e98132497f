"""Execution: every task as a Producer+QA child, concurrent as far as dependencies allow.

A CEO instruction (steer) revises the part of the plan that has not started yet.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pydantic import field_validator

    from domain.base import Model
    from domain.enums import TaskStatus
    from domain.project import PlanUpdate, Policy, RoleBudgetsUpdate, SteerInstruction
    from domain.work import Plan, PlanInput, TaskSpec, UpstreamRef, WorkContext, bound_answers, bound_steering
    from workflows import activity_defs as defs
    from workflows.base import (
        SIGNAL_PLAN_UPDATED,
        BudgetRejected,
        GateClient,
        cancel_requested,
        raise_if_cancelled,
    )
    from workflows.produce_review import ProduceReviewWorkflow, TaskRunInput, TaskRunOutput

SIGNAL_STEER = "steer"
# The project's role budgets changed (workflows/role_budgets.py): tasks started afterwards follow them.
SIGNAL_ROLE_BUDGETS = "role_budgets"
FINISHED = {TaskStatus.passed, TaskStatus.accepted, TaskStatus.dropped}
# Deliverables a dependent task builds on.
USABLE = {TaskStatus.passed, TaskStatus.accepted}


# --- the workflow's input and output ---------------------------------------------------


class ExecutionInput(Model):
    project_id: str
    project_workflow_id: str
    goal: str
    plan: Plan
    policy: Policy
    done: dict[str, TaskRunOutput] = {}
    # What every task works from (bounded in WorkContext): the CEO's answers and steering,
    # the research by id and summary.
    answers: dict[str, str] = {}
    research_summary: str = ""
    research_document_id: int | None = None
    steering: list[str] = []

    _answers = field_validator("answers", mode="before")(bound_answers)
    _steering = field_validator("steering", mode="before")(bound_steering)


class ExecutionOutput(Model):
    results: dict[str, TaskRunOutput] = {}


def task_workflow_id(parent_id: str, task_id: str) -> str:
    return f"{parent_id}/task-{task_id}"


def task_context(
    data: ExecutionInput, plan: Plan, task: TaskSpec, done: dict[str, TaskRunOutput], steering: list[str]
) -> WorkContext:
    """What the task's producer and reviewer work from: the CEO's answers and steering, the
    research by id, the current offer, and the deliverables of the finished tasks it depends on
    (by id: the activities load them). Dropped dependencies contribute nothing."""
    specs = {t.id: t for t in plan.tasks}
    upstream = []
    for dep in task.depends_on:
        result = done.get(dep)
        if result is None or result.deliverable_id is None or result.status not in USABLE:
            continue
        spec = specs.get(dep)
        upstream.append(
            UpstreamRef(
                task_id=dep,
                deliverable_id=result.deliverable_id,
                title=spec.title if spec else dep,
                deliverable_kind=spec.deliverable_kind if spec else "",
            )
        )
    notes = list(dict.fromkeys([*data.steering, *steering]))
    return WorkContext(
        kind=plan.kind,
        answers=data.answers,
        research_document_id=data.research_document_id,
        research_summary=data.research_summary,
        offer=plan.offer,
        steering=notes,
        upstream=upstream,
    )


def ready_tasks(plan: Plan, done: dict[str, TaskRunOutput], running: set[str]) -> list[TaskSpec]:
    """Tasks whose dependencies have all finished (dropped ones included: work goes on)."""
    return [t for t in plan.tasks if t.id not in done and t.id not in running and all(d in done for d in t.depends_on)]


@workflow.defn(name="execution")
class ExecutionWorkflow(GateClient):
    """Runs the approved plan to the end; returns each task's outcome. Idempotent per workflow id."""

    def __init__(self) -> None:
        super().__init__()
        self._steering: list[str] = []
        # Role budgets set on the project since this run started (None: the input's policy holds).
        self._role_budgets: dict[str, float] | None = None

    @workflow.signal(name=SIGNAL_STEER)
    def steer(self, instruction: SteerInstruction) -> None:
        self._steering.append(instruction.instruction)

    @workflow.signal(name=SIGNAL_ROLE_BUDGETS)
    def role_budgets(self, update: RoleBudgetsUpdate) -> None:
        """The project's role budgets changed: the tasks this run starts from now on follow them
        (tasks already running keep theirs; the project still counts and holds by role)."""
        self._role_budgets = dict(update.budgets_usd)

    @workflow.run
    async def run(self, data: ExecutionInput) -> ExecutionOutput:
        self.project_workflow_id = data.project_workflow_id
        plan = data.plan
        revision = 0
        done: dict[str, TaskRunOutput] = dict(data.done)
        running: dict[str, asyncio.Task[TaskRunOutput]] = {}
        applied_steering = 0
        parent_id = self.me
        try:
            while True:
                if applied_steering < len(self._steering):
                    new = self._steering[applied_steering:]
                    applied_steering = len(self._steering)
                    plan, revision = await self._revise(data, plan, new, done, set(running), revision)
                for task in ready_tasks(plan, done, set(running)):
                    policy = data.policy
                    if self._role_budgets is not None:
                        policy = policy.model_copy(update={"role_budgets_usd": dict(self._role_budgets)})
                    running[task.id] = asyncio.create_task(
                        self.child(
                            ProduceReviewWorkflow,
                            TaskRunInput(
                                project_id=data.project_id,
                                project_workflow_id=data.project_workflow_id,
                                goal=data.goal,
                                task=task,
                                policy=policy,
                                context=task_context(data, plan, task, done, self._steering),
                            ),
                            task_workflow_id(parent_id, task.id),
                        )
                    )
                if not running:
                    break
                seen = applied_steering
                await workflow.wait_condition(
                    lambda: (
                        any(t.done() for t in running.values())  # noqa: B023
                        or seen < len(self._steering)  # noqa: B023
                        or cancel_requested()
                    )
                )
                raise_if_cancelled()
                for task_id, fut in list(running.items()):
                    if fut.done():
                        done[task_id] = fut.result()
                        del running[task_id]
        except BaseException as err:
            await self.end_with(err, list(running.values()))
            raise
        return ExecutionOutput(results=done)

    async def _revise(
        self,
        data: ExecutionInput,
        plan: Plan,
        steering: list[str],
        done: dict[str, TaskRunOutput],
        running: set[str],
        revision: int,
    ) -> tuple[Plan, int]:
        """Re-plan what has not started; finished and running tasks stay as they are.

        When the CEO refuses the budget for the re-plan, the plan stays as it was (the refused
        budget gate is the record) and execution goes on.
        """
        try:
            revised = await self.agent(
                defs.plan,
                PlanInput(
                    project_id=data.project_id,
                    goal=data.goal,
                    steering=steering,
                    done_task_ids=sorted(done) + sorted(running),
                    previous=plan,
                    revision=revision + 1,
                ),
                what="re-planning after a CEO instruction",
            )
        except BudgetRejected as err:
            workflow.logger.warning("steering not applied (%s): %s", err.message, "; ".join(steering)[:500])
            return plan, revision
        started = set(done) | running
        kept = [t for t in plan.tasks if t.id in started]
        known = {t.id for t in kept}
        fresh = [t for t in revised.plan.tasks if t.id not in known]
        # Dependencies may only point at tasks that exist in the merged plan.
        ids = known | {t.id for t in fresh}
        fresh = [t.model_copy(update={"depends_on": [d for d in t.depends_on if d in ids]}) for t in fresh]
        merged = revised.plan.model_copy(update={"tasks": kept + fresh})
        update = PlanUpdate(plan=merged, revision=revision + 1, usage=revised.usage)
        await self.tell_project(SIGNAL_PLAN_UPDATED, update)
        return merged, revision + 1
