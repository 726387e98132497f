"""Launch: a go-live gate before anything public, then Stripe, the website (with the payment link
written in), the repository (GitHub with Pages, or a local git repository), Slack, then validation."""

from __future__ import annotations

import asyncio
from typing import Literal

from temporalio import workflow
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from workflows.base import GateClient
    from workflows.models import (
        ComplianceInput,
        ComplianceReport,
        GateKind,
        GateRequest,
        IntegrationResult,
        LaunchInput,
        LaunchOutput,
        PublishInput,
        Risk,
        SiteInput,
        TaskProgress,
        TaskRunInput,
        TaskRunOutput,
        TaskStatus,
        UpstreamRef,
        ValidateLaunchInput,
        WorkContext,
    )
    from workflows.options import INTEGRATION
    from workflows.produce_review import ProduceReviewWorkflow

INTEGRATION_NAMES: dict[str, Literal["github", "stripe", "slack", "site"]] = {
    "publish_github": "github",
    "create_stripe_offer": "stripe",
    "announce_slack": "slack",
    "finalize_site": "site",
}

# Stripe first, then the website gets its payment link, then the repository publishes the site
# with the deliverables (before: GitHub and Stripe at once, the site as the producer left it).
PATCH_SITE_BEFORE_PUBLISH = "launch-site-before-publish"
# A compliance review of the public deliverables before the go-live gate; blocking findings open
# a `compliance` gate (accept / send back to the producer / no launch).
PATCH_COMPLIANCE = "compliance-before-go-live"
# Times the findings may go back to the producer before the CEO must accept or stop.
MAX_COMPLIANCE_REVISIONS = 2
MAX_GUIDANCE_CHARS = 2000

# The launch checklist, as tasks on the project's board.
CHECKLIST = {
    "launch-github": "Publish the deliverables and the website (GitHub and Pages, or a local git repository)",
    "launch-stripe": "Create the Stripe product, price and payment link",
    "launch-site": "Write the payment link into the website and check its links",
    "launch-slack": "Announce the launch on Slack",
    "launch-validate": "Validate that everything is live",
}


@workflow.defn(name="launch")
class LaunchWorkflow(GateClient):
    """Asks for go-live, then runs the integrations; idempotent (each integration is)."""

    @workflow.run
    async def run(self, data: LaunchInput) -> LaunchOutput:
        self.project_workflow_id = data.project_workflow_id
        offer = data.plan.offer
        price = f"${offer.price_usd:.2f}" if offer else "no price"
        compliance_note = ""
        if workflow.patched(PATCH_COMPLIANCE):
            checked = await self._compliance(data)
            if checked is None:
                return LaunchOutput(launched=False)
            ids, compliance_note = checked
            data = data.model_copy(update={"deliverable_ids": ids})
        summary = (
            f"Going live creates the Stripe product '{offer.product_name if offer else data.name}' at "
            f"{price} with a payment link, writes that link into the website, publishes the website and "
            f"{len(data.deliverable_ids)} deliverables to the project's repository (GitHub with Pages "
            "when configured, else a local git repository) and announces it on Slack. Nothing public "
            "happens before you approve."
        ) + (f" {compliance_note}" if compliance_note else "")
        attempt = 0
        while True:
            outcome = await self.ask(
                GateRequest(
                    key=f"go-live:{attempt}",
                    kind=GateKind.go_live,
                    title=f"Go live with '{data.name}'?",
                    summary=summary,
                    risk=Risk.high,
                    requester_workflow_id=workflow.info().workflow_id,
                )
            )
            if outcome.decision == "approve":
                break
            if outcome.decision == "reject" or attempt >= data.policy.max_plan_revisions:
                return LaunchOutput(launched=False)
            attempt += 1
            summary = f"{summary} (CEO asked: {outcome.comment or 'check again'})"
        publish = PublishInput(
            project_id=data.project_id,
            name=data.name,
            goal=data.goal,
            offer=offer,
            deliverable_ids=data.deliverable_ids,
            follow_ups=[t.title for t in data.plan.tasks if t.risk == Risk.high],
        )
        launched: list[IntegrationResult]
        if workflow.patched(PATCH_SITE_BEFORE_PUBLISH):
            stripe = await self._step("launch-stripe", "create_stripe_offer", publish)
            # SiteInput bounds the link; a longer one (never seen from Stripe) keeps "not live".
            link = stripe.url if stripe.status == "done" and stripe.url and len(stripe.url) <= 2000 else None
            site = await self._step(
                "launch-site",
                "finalize_site",
                SiteInput(project_id=data.project_id, deliverable_ids=data.deliverable_ids, payment_link=link),
            )
            site_doc = site.details.get("document_id", "")
            if site.status != "skipped" and site_doc.isdigit():
                publish = publish.model_copy(update={"site_document_id": int(site_doc)})
            github = await self._step("launch-github", "publish_github", publish)
            launched = [github, stripe, site]
        else:
            github, stripe = await asyncio.gather(
                self._step("launch-github", "publish_github", publish),
                self._step("launch-stripe", "create_stripe_offer", publish),
            )
            launched = [github, stripe]
        slack = await self._step("launch-slack", "announce_slack", publish)
        await self._mark("launch-validate", TaskStatus.running)
        results = await workflow.execute_activity(
            "validate_launch",
            ValidateLaunchInput(project_id=data.project_id, results=[*launched, slack]),
            result_type=list[IntegrationResult],
            **INTEGRATION,
        )
        ok = all(r.status != "failed" for r in results)
        await self._mark("launch-validate", TaskStatus.passed if ok else TaskStatus.dropped)
        return LaunchOutput(launched=True, integrations=results)

    async def _compliance(self, data: LaunchInput) -> tuple[list[int], str] | None:
        """Checks the public deliverables; blocking findings open a `compliance` gate: approve
        accepts them (recorded as the decision), revise sends them back to the producer of the
        affected tasks and checks again (bounded), reject stops the launch (None). Returns the
        deliverable ids to launch (revised ones replace theirs) and a note for the go-live gate."""
        offer = data.plan.offer
        ids = list(data.deliverable_ids)
        kinds = {t.id: t.deliverable_kind for t in data.plan.tasks}
        revisions = 0
        while True:
            report: ComplianceReport = await workflow.execute_activity(
                "compliance_review",
                ComplianceInput(
                    project_id=data.project_id,
                    deliverable_ids=ids,
                    price=f"{offer.price_usd:.2f}" if offer and offer.currency.lower() == "usd" else None,
                    task_kinds=dict(list(kinds.items())[:200]),
                ),
                result_type=ComplianceReport,
                **INTEGRATION,
            )
            if not report.blocking:
                warned = [f"{f.code}: {f.message}" for f in report.findings if f.severity == "warning"][:5]
                note = f"Compliance: no blocking findings, {report.warnings} warning(s)" + (
                    " — " + "; ".join(warned) if warned else ""
                )
                return ids, note[:1500] + "."
            exhausted = revisions >= MAX_COMPLIANCE_REVISIONS
            last = " No revisions left: revise now stops the launch too." if exhausted else ""
            outcome = await self.ask(
                GateRequest(
                    key=f"compliance:{revisions}",
                    kind=GateKind.compliance,
                    title=f"Compliance findings before going live with '{data.name}'",
                    summary=(
                        f"{report.summary}\n\nApprove accepts these findings as they are; revise sends them "
                        f"back to the producer ({', '.join(report.revise_task_ids) or 'no task to revise'}); "
                        f"reject stops the launch.{last}"
                    ),
                    risk=Risk.high,
                    requester_workflow_id=workflow.info().workflow_id,
                    task_id=report.revise_task_ids[0] if report.revise_task_ids else None,
                )
            )
            if outcome.decision == "approve":
                accepted = "; ".join(f.code for f in report.findings if f.severity == "blocking")[:500]
                return ids, f"Compliance: the CEO accepted {report.blocking} blocking finding(s) ({accepted})."
            if outcome.decision == "reject" or revisions >= MAX_COMPLIANCE_REVISIONS:
                return None
            revisions += 1
            # Nothing to send back (e.g. only the offer's price disagrees): the check and the gate repeat.
            if report.revise_task_ids:
                ids = await self._revise_for_compliance(data, report, ids, revisions, outcome.comment)

    async def _revise_for_compliance(
        self, data: LaunchInput, report: ComplianceReport, ids: list[int], revision: int, comment: str
    ) -> list[int]:
        """Re-runs Producer+QA for each affected task with the findings as guidance; a revised
        deliverable replaces the task's old one among the launched ids."""
        specs = {t.id: t for t in data.plan.tasks}
        have = report.task_deliverables
        for task_id in report.revise_task_ids:
            task = specs.get(task_id)
            if task is None:
                continue
            mine = [f for f in report.findings if f.severity == "blocking"]
            guidance = (
                "Compliance review before go-live: fix every finding below, keep everything else. "
                + (f"CEO: {comment}. " if comment else "")
                + " ".join(f"[{f.code}{' in ' + f.file if f.file else ''}] {f.message}" for f in mine)
            )[:MAX_GUIDANCE_CHARS]
            upstream = [
                UpstreamRef(
                    task_id=dep,
                    deliverable_id=have[dep],
                    title=specs[dep].title if dep in specs else dep,
                    deliverable_kind=specs[dep].deliverable_kind if dep in specs else "",
                )
                for dep in task.depends_on
                if dep in have
            ]
            result: TaskRunOutput = await workflow.execute_child_workflow(
                ProduceReviewWorkflow.run,
                TaskRunInput(
                    project_id=data.project_id,
                    project_workflow_id=data.project_workflow_id,
                    goal=data.goal,
                    task=task,
                    policy=data.policy,
                    guidance=guidance,
                    rounds_before=report.task_versions.get(task_id, 0),
                    context=WorkContext(kind=data.plan.kind, offer=data.plan.offer, upstream=upstream),
                ),
                id=f"{workflow.info().workflow_id}/compliance-{revision}-{task_id}",
                parent_close_policy=ParentClosePolicy.TERMINATE,
            )
            old = have.get(task_id)
            new = result.deliverable_id
            if new is None or result.status not in (TaskStatus.passed, TaskStatus.accepted):
                continue
            ids = [new if i == old else i for i in ids]
            if new not in ids:
                ids.append(new)
        return ids

    async def _step(self, task_id: str, activity: str, arg: PublishInput | SiteInput) -> IntegrationResult:
        await self._mark(task_id, TaskStatus.running)
        result = await workflow.execute_activity(activity, arg, result_type=IntegrationResult, **INTEGRATION)
        await self._mark(task_id, TaskStatus.dropped if result.status == "failed" else TaskStatus.passed)
        return result

    async def _mark(self, task_id: str, status: TaskStatus) -> None:
        await self.progress(TaskProgress(task_id=task_id, status=status, at=workflow.now()))
