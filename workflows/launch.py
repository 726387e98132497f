"""Launch: a go-live gate before anything public, then Stripe, the website (with the payment link
written in), the repository (GitHub with Pages, or a local git repository), Slack, then validation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.base import Model
    from domain.enums import GateKind, Risk, TaskStatus
    from domain.gates import GateRequest
    from domain.launch import IntegrationResult, PublishInput, SiteInput, ValidateLaunchInput
    from domain.project import Policy, TaskProgress
    from domain.work import Plan, Usage
    from workflows import activity_defs as defs
    from workflows.base import GateClient
    from workflows.compliance_gate import check_before_publishing
    from workflows.options import INTEGRATION
    from workflows.patches import patched

A = TypeVar("A")

# Stripe first, then the website gets its payment link, then the repository publishes the site
# with the deliverables (before: GitHub and Stripe at once, the site as the producer left it).
PATCH_SITE_BEFORE_PUBLISH = "launch-site-before-publish"
# A compliance review of the public deliverables before the go-live gate; blocking findings open
# a `compliance` gate (accept / send back to the producer / no launch).
PATCH_COMPLIANCE = "compliance-before-go-live"

# The launch checklist, as tasks on the project's board.
CHECKLIST = {
    "launch-github": "Publish the deliverables and the website (GitHub and Pages, or a local git repository)",
    "launch-stripe": "Create the Stripe product, price and payment link",
    "launch-site": "Write the payment link into the website and check its links",
    "launch-slack": "Announce the launch on Slack",
    "launch-validate": "Validate that everything is live",
}


# --- the workflow's input and output ---------------------------------------------------


class LaunchInput(Model):
    project_id: str
    project_workflow_id: str
    name: str
    goal: str
    plan: Plan
    deliverable_ids: list[int] = []
    policy: Policy


class LaunchOutput(Model):
    launched: bool
    integrations: list[IntegrationResult] = []
    # The model calls made during the launch (the compliance reviewer), for the project's cost.
    usage: Usage = Usage()


@workflow.defn(name="launch")
class LaunchWorkflow(GateClient):
    """Asks for go-live, then runs the integrations; idempotent (each integration is)."""

    @workflow.run
    async def run(self, data: LaunchInput) -> LaunchOutput:
        self.project_workflow_id = data.project_workflow_id
        offer = data.plan.offer
        price = f"${offer.price_usd:.2f}" if offer else "no price"
        compliance_note = ""
        spent = Usage()
        if patched(PATCH_COMPLIANCE):
            checked = await self._compliance(data, spent)
            if checked is None:
                return LaunchOutput(launched=False, usage=spent)
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
                    requester_workflow_id=self.me,
                )
            )
            if outcome.decision == "approve":
                break
            if outcome.decision == "reject" or attempt >= data.policy.max_plan_revisions:
                return LaunchOutput(launched=False, usage=spent)
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
        if patched(PATCH_SITE_BEFORE_PUBLISH):
            stripe = await self._step("launch-stripe", defs.create_stripe_offer, publish)
            # SiteInput bounds the link; a longer one (never seen from Stripe) keeps "not live".
            link = stripe.url if stripe.status == "done" and stripe.url and len(stripe.url) <= 2000 else None
            site = await self._step(
                "launch-site",
                defs.finalize_site,
                SiteInput(project_id=data.project_id, deliverable_ids=data.deliverable_ids, payment_link=link),
            )
            site_doc = site.details.get("document_id", "")
            if site.status != "skipped" and site_doc.isdigit():
                publish = publish.model_copy(update={"site_document_id": int(site_doc)})
            github = await self._step("launch-github", defs.publish_github, publish)
            launched = [github, stripe, site]
        else:
            github, stripe = await asyncio.gather(
                self._step("launch-github", defs.publish_github, publish),
                self._step("launch-stripe", defs.create_stripe_offer, publish),
            )
            launched = [github, stripe]
        slack = await self._step("launch-slack", defs.announce_slack, publish)
        await self._mark("launch-validate", TaskStatus.running)
        results = await workflow.execute_activity(
            defs.validate_launch,
            ValidateLaunchInput(project_id=data.project_id, results=[*launched, slack]),
            **INTEGRATION,
        )
        ok = all(r.status != "failed" for r in results)
        await self._mark("launch-validate", TaskStatus.passed if ok else TaskStatus.dropped)
        return LaunchOutput(launched=True, integrations=results, usage=spent)

    async def _compliance(self, data: LaunchInput, spent: Usage) -> tuple[list[int], str] | None:
        """Checks the public deliverables (workflows/compliance_gate.py); None: the CEO stopped
        the launch. Returns the deliverable ids to launch and a note for the go-live gate."""
        return await check_before_publishing(
            self,
            project_id=data.project_id,
            project_workflow_id=data.project_workflow_id,
            goal=data.goal,
            plan=data.plan,
            ids=data.deliverable_ids,
            policy=data.policy,
            title=f"Compliance findings before going live with '{data.name}'",
            stop="stops the launch",
            before="go-live",
            spent=spent,
        )

    async def _step(self, task_id: str, step: Callable[[A], Awaitable[IntegrationResult]], arg: A) -> IntegrationResult:
        await self._mark(task_id, TaskStatus.running)
        result = await workflow.execute_activity(step, arg, **INTEGRATION)
        await self._mark(task_id, TaskStatus.dropped if result.status == "failed" else TaskStatus.passed)
        return result

    async def _mark(self, task_id: str, status: TaskStatus) -> None:
        await self.progress(TaskProgress(task_id=task_id, status=status, at=workflow.now()))
