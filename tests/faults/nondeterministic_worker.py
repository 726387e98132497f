"""`boardroom worker` with a deliberately non-deterministic change to the task workflow.

The replacement `produce-review` workflow starts a timer before anything else, where the
deployed code first signalled the project and scheduled `produce`. New runs behave the same
(a 1 ms pause); replaying a live run's history fails with a non-determinism error.
"""

from __future__ import annotations

import sys
from datetime import timedelta

from temporalio import workflow

from workflows import produce_review
from workflows.models import TaskRunInput, TaskRunOutput


@workflow.defn(name="produce-review")
class ReorderedProduceReviewWorkflow(produce_review.ProduceReviewWorkflow):
    """The task workflow with a timer inserted ahead of its first command."""

    @workflow.run
    async def run(self, data: TaskRunInput) -> TaskRunOutput:
        await workflow.sleep(timedelta(milliseconds=1))
        return await super().run(data)


def main() -> int:
    import workers.worker

    original = workers.worker.workflows

    def patched() -> list[type]:
        return [ReorderedProduceReviewWorkflow if w is produce_review.ProduceReviewWorkflow else w for w in original()]

    workers.worker.workflows = patched
    from boardroom.cli import main as cli_main

    return cli_main(["worker"])


if __name__ == "__main__":
    sys.exit(main())
