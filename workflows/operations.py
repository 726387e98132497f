"""One periodic operations review: KPIs → improvement tasks → the same Producer+QA and gates."""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from workflows.base import SIGNAL_PLAN_UPDATED, BudgetRejected, GateClient
    from workflows.execution import task_workflow_id
    from workflows.models import (
        KpiInput,
        KpiOutput,
        Plan,
        PlanUpdate,
        ReviewCycleInput,
        ReviewCycleOutput,
        TaskRunInput,
    )
    from workflows.produce_review import ProduceReviewWorkflow


@workflow.defn(name="operations-review")
class OperationsReviewWorkflow(GateClient):
    """Analyses the KPIs and runs the improvement tasks it proposes. Idempotent per workflow id.

    A refused budget skips the review (or drops the improvement task that asked for it).
    """

    @workflow.run
    async def run(self, data: ReviewCycleInput) -> ReviewCycleOutput:
        self.project_workflow_id = data.project_workflow_id
        try:
            analysis = await self.agent(
                "analyze_kpis",
                KpiInput(
                    project_id=data.project_id,
                    goal=data.goal,
                    kpis=data.kpis,
                    review_number=data.review_number,
                    recent_notes=data.notes,
                    customer_reports=data.customer_reports,
                ),
                KpiOutput,
                what=f"operations review {data.review_number}",
            )
        except BudgetRejected as err:
            # No analysis, so no improvements this time; operations go on to the next review.
            return ReviewCycleOutput(summary=f"Review {data.review_number} skipped: {err.message}.")
        if not analysis.improvements:
            return ReviewCycleOutput(summary=analysis.summary, usage=analysis.usage)
        # Show the improvement tasks on the project's board before they run.
        await self.tell_project(
            SIGNAL_PLAN_UPDATED,
            PlanUpdate(plan=Plan(summary=analysis.summary, tasks=analysis.improvements), revision=-1),
        )
        parent_id = workflow.info().workflow_id
        runs = [
            asyncio.create_task(
                workflow.execute_child_workflow(
                    ProduceReviewWorkflow.run,
                    TaskRunInput(
                        project_id=data.project_id,
                        project_workflow_id=data.project_workflow_id,
                        goal=data.goal,
                        task=task,
                        policy=data.policy,
                    ),
                    id=task_workflow_id(parent_id, task.id),
                    parent_close_policy=ParentClosePolicy.TERMINATE,
                )
            )
            for task in analysis.improvements
        ]
        try:
            results = await asyncio.gather(*runs)
        except asyncio.CancelledError:
            for run in runs:
                run.cancel()
            await asyncio.gather(*runs, return_exceptions=True)
            raise
        return ReviewCycleOutput(summary=analysis.summary, results=list(results), usage=analysis.usage)
