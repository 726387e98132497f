"""A workflow that reads the wall clock: what the strict sandbox refuses. Its own module, so a test
can pass it through the sandbox the way workers/worker.py passes `workflows` through."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow


@workflow.defn(name="reads-the-clock")
class ReadsTheClock:
    @workflow.run
    async def run(self) -> str:
        return datetime.now().isoformat()  # non-deterministic on purpose (workflow.now() is right)
