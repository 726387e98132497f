"""The project workflow as deployed before the one-workflow patch (imported by test_upgrade)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.project import ProjectInput, ProjectState
    from workflows.project import ProjectWorkflow


@workflow.defn(name="project")
class ProjectBeforeOneWorkflow(ProjectWorkflow):
    """It never asks for the one-workflow patch, so its phases and tasks run as child workflows
    (what a run recorded then replays)."""

    @workflow.run
    async def run(self, data: ProjectInput) -> ProjectState:
        return await super().run(data)

    def _shape(self) -> bool:
        return False
