"""`boardroom worker` with a deliberately non-deterministic change to the project workflow.

The replacement `project` workflow starts a timer before anything else, where the deployed code
first wrote the read model (an activity). New runs behave the same (a 1 ms pause); replaying a
live run's history fails with a non-determinism error.
"""

from __future__ import annotations

import sys
from datetime import timedelta

from temporalio import workflow

from domain.project import ProjectInput, ProjectState
from workflows import project


@workflow.defn(name="project")
class ReorderedProjectWorkflow(project.ProjectWorkflow):
    """The project workflow with a timer inserted ahead of its first command."""

    @workflow.run
    async def run(self, data: ProjectInput) -> ProjectState:
        await workflow.sleep(timedelta(milliseconds=1))
        return await super().run(data)


def main() -> int:
    import workers.worker

    original = workers.worker.workflows

    def patched() -> list[type]:
        return [ReorderedProjectWorkflow if w is project.ProjectWorkflow else w for w in original()]

    workers.worker.workflows = patched
    from boardroom.cli import main as cli_main

    return cli_main(["worker"])


if __name__ == "__main__":
    sys.exit(main())
