"""A workflow whose activity fails with business text in the message (for encoded-failure tests)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError


@activity.defn(name="obs-refuse")
async def refuse(text: str) -> None:
    """Always fails, quoting its input. No side effects."""
    raise ApplicationError(f"cannot publish: {text}", type="Refused", non_retryable=True)


@workflow.defn(name="obs-failing")
class FailingWorkflow:
    """Runs `obs-refuse` once; fails with its error."""

    @workflow.run
    async def run(self, text: str) -> None:
        await workflow.execute_activity(
            refuse, text, start_to_close_timeout=timedelta(seconds=10), retry_policy=RetryPolicy(maximum_attempts=1)
        )
