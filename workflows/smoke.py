"""A tiny end-to-end probe of the stack: one activity round trip through the worker."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.health import PingInput, PingOutput, ping


@workflow.defn(name="smoke")
class SmokeWorkflow:
    """Calls the `ping` activity once and returns its answer. Idempotent."""

    @workflow.run
    async def run(self, data: PingInput) -> PingOutput:
        return await workflow.execute_activity(
            ping,
            data,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
