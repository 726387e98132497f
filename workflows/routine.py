"""One run of a routine: recurring work the CEO defined on an operating project.

Each routine is a Temporal Schedule (`routine-<project id>-<n>`, api/routers/routines.py) whose
action starts this workflow. The run joins the project's board the way an operations
improvement does (a `plan_updated` signal with a negative revision), then goes through the same
Producer+QA child workflow, whose progress and gates go to the project as for any task.

Role budgets: the policy in a routine's input was fixed when its schedule was made (from the
project's row, which holds no role budgets), so the run's task asks the project about its role
the way a task of a budgeted role does (`ask_role_budget`): the project counts its spend under the
role, notifies at 80% and holds it behind the role's budget gate at 100%.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints
from temporalio import workflow
from temporalio.exceptions import FailureError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from domain.base import Model
    from domain.enums import Risk
    from domain.project import PlanUpdate, Policy
    from domain.work import Plan, TaskSpec
    from workflows.base import SIGNAL_PLAN_UPDATED
    from workflows.execution import task_workflow_id
    from workflows.patches import patched
    from workflows.produce_review import ProduceReviewWorkflow, TaskRunInput

ROUTINE_WORKFLOW = "routine"
ROUTINE_PREFIX = "routine-"
MAX_TITLE = 200
MAX_DESCRIPTION = 2000
MAX_CRITERIA = 10
MAX_CRITERION = 500
# Added while routines were live: a run's task answers to the project's role budgets; runs that
# started before replay without asking.
PATCH_ROUTINE_ROLE_BUDGETS = "routine-role-budgets"

Criterion = Annotated[str, StringConstraints(min_length=1, max_length=MAX_CRITERION)]


def schedule_id(project_id: str, number: int) -> str:
    """The routine's schedule id, also its id in the API: `routine-<project id>-<n>`."""
    return f"{ROUTINE_PREFIX}{project_id}-{number}"


class RoutineInput(Model):
    """Everything one run needs; fixed when the routine is created (the schedule's action)."""

    project_id: str = Field(max_length=64)
    project_workflow_id: str = Field(max_length=200)
    routine_id: str = Field(max_length=200)
    number: int = Field(ge=1, le=1000)
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    role: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    deliverable_kind: str = Field(default="document", max_length=64)
    acceptance_criteria: list[Criterion] = Field(default=[], max_length=MAX_CRITERIA)
    risk: Risk = Risk.low
    goal: str = Field(max_length=4000)
    policy: Policy


class RoutineOutput(Model):
    task_id: str
    status: Literal["pending", "running", "waiting_approval", "passed", "accepted", "dropped", "cancelled", "skipped"]
    qa_score: float | None = None
    deliverable_id: int | None = None
    summary: str = ""


def run_task_id(number: int, stamp: str) -> str:
    """Unique per run: the routine's number and the run's start (UTC, to the second)."""
    return f"rt{number}-{stamp}"


@workflow.defn(name=ROUTINE_WORKFLOW)
class RoutineWorkflow:
    """Puts this run's task on the project's board, then runs it through Producer+QA."""

    @workflow.run
    async def run(self, data: RoutineInput) -> RoutineOutput:
        task = TaskSpec(
            id=run_task_id(data.number, workflow.now().strftime("%Y%m%d%H%M%S")),
            title=data.title,
            role=data.role,
            description=data.description or f"Recurring work (routine {data.routine_id}): {data.title}",
            deliverable_kind=data.deliverable_kind,
            acceptance_criteria=list(data.acceptance_criteria),
            risk=data.risk,
        )
        project = workflow.get_external_workflow_handle(data.project_workflow_id)
        try:
            await project.signal(
                SIGNAL_PLAN_UPDATED,
                PlanUpdate(plan=Plan(summary=f"Routine: {data.title}", tasks=[task]), revision=-1),
            )
        except FailureError as err:
            # The project has ended since the routine was defined: nothing to do for this run.
            workflow.logger.warning("routine %s: project %s is not running: %s", data.routine_id, data.project_id, err)
            return RoutineOutput(task_id=task.id, status="skipped", summary="the project is not running")
        result = await workflow.execute_child_workflow(
            ProduceReviewWorkflow.run,
            TaskRunInput(
                project_id=data.project_id,
                project_workflow_id=data.project_workflow_id,
                goal=data.goal,
                task=task,
                policy=data.policy,
                ask_role_budget=patched(PATCH_ROUTINE_ROLE_BUDGETS),
            ),
            id=task_workflow_id(workflow.info().workflow_id, task.id),
            parent_close_policy=ParentClosePolicy.TERMINATE,
        )
        return RoutineOutput(
            task_id=task.id,
            status=result.status.value,  # type: ignore[arg-type]
            qa_score=result.qa_score,
            deliverable_id=result.deliverable_id,
            summary=result.summary[:500],
        )
