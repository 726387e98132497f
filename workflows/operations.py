"""One periodic operations review: KPIs → improvement tasks → the same Producer+QA and gates."""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, ChildWorkflowError, FailureError

with workflow.unsafe.imports_passed_through():
    from domain.base import Model
    from domain.enums import TaskStatus
    from domain.launch import IntegrationResult, Publication, PublishInput, SiteInput
    from domain.project import IntegrationView, PlanUpdate, Policy, ProjectState
    from domain.work import KpiInput, KpiOutput, Kpis, Plan, Usage
    from workflows import activity_defs as defs
    from workflows.base import SIGNAL_PLAN_UPDATED, BudgetRejected, GateClient
    from workflows.compliance_gate import check_before_publishing
    from workflows.execution import task_workflow_id
    from workflows.options import INTEGRATION
    from workflows.patches import patched
    from workflows.produce_review import ProduceReviewWorkflow, TaskRunInput, TaskRunOutput

# Added while projects were live: passed improvements of a launched project go through the
# compliance review and are then published (site and repository); older runs replay without.
PATCH_IMPROVEMENT_COMPLIANCE = "compliance-before-improvement-publish"
# Added while projects were live: a compliance review that fails (its activity out of retries,
# a revision child failing) is said in the review's summary instead of failing the review,
# which ended the whole project as failed; runs recorded before it replay the old failure.
PATCH_COMPLIANCE_FAILURE_NOTED = "improvement-compliance-failure-noted"
KEEP_PUBLISHED = 500


# --- the workflow's input and output ---------------------------------------------------


class ReviewCycleInput(Model):
    project_id: str
    project_workflow_id: str
    goal: str
    kpis: Kpis
    review_number: int
    notes: list[str] = []
    customer_reports: list[str] = []
    policy: Policy
    # Set for a launched project: passed improvements are checked for compliance, then published.
    publication: Publication | None = None


class ReviewCycleOutput(Model):
    summary: str
    results: list[TaskRunOutput] = []
    usage: Usage = Usage()
    # The site and repository published again with this review's improvements (none: nothing published).
    integrations: list[IntegrationResult] = []


def publication(state: ProjectState) -> Publication | None:
    """What a review of this project needs to publish improvements; None before launch."""
    if not state.launched or state.plan is None:
        return None
    stripe = next((i for i in state.integrations if i.name == "stripe"), IntegrationView(name="stripe"))
    link = stripe.url if stripe.status == "done" and stripe.url and len(stripe.url) <= 2000 else None
    published = [
        t.deliverable_id
        for t in state.tasks
        if t.deliverable_id is not None and t.status in (TaskStatus.passed, TaskStatus.accepted)
    ]
    return Publication(
        name=state.name[:200],
        offer=state.plan.offer,
        kind=state.plan.kind,
        published_ids=list(dict.fromkeys(published))[-KEEP_PUBLISHED:],
        payment_link=link,
    )


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
                defs.analyze_kpis,
                KpiInput(
                    project_id=data.project_id,
                    goal=data.goal,
                    kpis=data.kpis,
                    review_number=data.review_number,
                    recent_notes=data.notes,
                    customer_reports=data.customer_reports,
                ),
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
        parent_id = self.me
        runs = [
            asyncio.create_task(
                self.child(
                    ProduceReviewWorkflow,
                    TaskRunInput(
                        project_id=data.project_id,
                        project_workflow_id=data.project_workflow_id,
                        goal=data.goal,
                        task=task,
                        policy=data.policy,
                    ),
                    task_workflow_id(parent_id, task.id),
                )
            )
            for task in analysis.improvements
        ]
        try:
            results = await asyncio.gather(*runs)
        except BaseException as err:
            await self.end_with(err, runs)
            raise
        summary = analysis.summary
        published: list[IntegrationResult] = []
        if data.publication is not None and patched(PATCH_IMPROVEMENT_COMPLIANCE):
            note, published = await self._publish(data, data.publication, analysis, list(results))
            summary = f"{summary} {note}".strip()
        return ReviewCycleOutput(summary=summary, results=list(results), usage=analysis.usage, integrations=published)

    async def _publish(
        self, data: ReviewCycleInput, pub: Publication, analysis: KpiOutput, results: list[TaskRunOutput]
    ) -> tuple[str, list[IntegrationResult]]:
        """The compliance review over the passed improvements, then the site and the repository
        published again with them (their results, for the project's integrations). A refused
        review or a failed publication is said in the review's summary; operations go on either way."""
        done = [
            r.deliverable_id
            for r in results
            if r.deliverable_id is not None and r.status in (TaskStatus.passed, TaskStatus.accepted)
        ]
        if not done:
            return "", []
        try:
            checked = await check_before_publishing(
                self,
                project_id=data.project_id,
                project_workflow_id=data.project_workflow_id,
                goal=data.goal,
                plan=Plan(summary=analysis.summary, tasks=analysis.improvements, offer=pub.offer, kind=pub.kind),
                ids=done,
                policy=data.policy,
                title=f"Compliance findings before publishing the improvements of review {data.review_number}",
                stop="publishes nothing",
                before="publishing",
                spent=analysis.usage,
            )
        except (ActivityError, ChildWorkflowError) as err:
            if isinstance(err.cause, CancelledError) or not patched(PATCH_COMPLIANCE_FAILURE_NOTED):
                raise
            cause = err.cause
            reason = (cause.message if isinstance(cause, FailureError) else "") or str(err)
            workflow.logger.warning("Review %s: the compliance review failed: %s", data.review_number, reason)
            return f"Improvements not published: the compliance review failed ({reason[:300]}).", []
        if checked is None:
            return "Improvements not published: stopped at the compliance review.", []
        ids, note = checked
        everything = list(dict.fromkeys([*pub.published_ids, *ids]))[-KEEP_PUBLISHED:]
        try:
            site = await workflow.execute_activity(
                defs.finalize_site,
                SiteInput(project_id=data.project_id, deliverable_ids=everything, payment_link=pub.payment_link),
                summary=f"site with the improvements of review {data.review_number}",
                **INTEGRATION,
            )
            site_doc = site.details.get("document_id", "")
            repo = await workflow.execute_activity(
                defs.publish_github,
                PublishInput(
                    project_id=data.project_id,
                    name=pub.name or data.project_id,
                    goal=data.goal,
                    offer=pub.offer,
                    deliverable_ids=everything,
                    site_document_id=int(site_doc) if site.status != "skipped" and site_doc.isdigit() else None,
                ),
                summary=f"repository with the improvements of review {data.review_number}",
                **INTEGRATION,
            )
        except ActivityError as err:
            cause = err.cause
            reason = cause.message if isinstance(cause, ApplicationError) else str(err)
            return f"{note} Improvements not published: {reason[:300]}", []
        done_note = f"{note} Published {len(ids)} improvement(s): site {site.status}, repository {repo.status}."
        return done_note, [site, repo]
