"""Deliberately changed workflow code that replay must reject (imported by test_replay only)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain.enums import TaskStatus
    from domain.project import ProjectInput, ProjectState
    from domain.work import ReviewInput, ReviewOutput
    from workflows.produce_review import ProduceReviewWorkflow, TaskRunInput, TaskRunOutput
    from workflows.project import ProjectWorkflow


@workflow.defn(name="produce-review")
class ReorderedProduceReview:
    """A 'refactor' that reviews before producing: exactly what replay must catch."""

    @workflow.run
    async def run(self, data: TaskRunInput) -> TaskRunOutput:
        await workflow.execute_activity(
            "review",
            ReviewInput(project_id=data.project_id, task=data.task, deliverable_id=0),
            result_type=ReviewOutput,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
        return TaskRunOutput(task_id=data.task.id, status=TaskStatus.passed)


class ReviewFirstTask(ProduceReviewWorkflow):
    """The same 'refactor' of a task that runs inside the project workflow (one-workflow shape)."""

    async def run(self, data: TaskRunInput) -> TaskRunOutput:
        return await ReorderedProduceReview().run(data)


@workflow.defn(name="project")
class ProjectWithReorderedTasks(ProjectWorkflow):
    """Today's project workflow with its tasks reviewing before producing: a project recorded in
    the one-workflow shape must fail replay with it."""

    @workflow.run
    async def run(self, data: ProjectInput) -> ProjectState:
        return await super().run(data)

    async def run_inline(self, cls: Any, arg: Any, scope: str, *, phase: bool = False) -> Any:
        if cls is ProduceReviewWorkflow:
            cls = ReviewFirstTask
        return await super().run_inline(cls, arg, scope, phase=phase)
