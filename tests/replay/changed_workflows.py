"""Deliberately changed workflow code that replay must reject (imported by test_replay only)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.models import ReviewInput, ReviewOutput, TaskRunInput, TaskRunOutput, TaskStatus


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
