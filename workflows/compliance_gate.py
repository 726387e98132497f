"""The compliance review before anything goes public, shared by launch (before go-live) and the
operations review (before its improvements are published).

`check_before_publishing` runs the rule checks (activity `compliance_review`) over the deliverables
about to go public; blocking findings open a `compliance` gate on the project: approve accepts
them (recorded as the decision), revise sends them back to the producer of the affected tasks
and checks again (bounded), reject stops the publication (None).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.enums import GateKind, Risk, TaskStatus
    from domain.gates import GateRequest
    from domain.launch import ComplianceInput, ComplianceReport
    from domain.project import Policy
    from domain.work import Plan, UpstreamRef, Usage, WorkContext
    from workflows import activity_defs as defs
    from workflows.base import GateClient
    from workflows.options import INTEGRATION
    from workflows.produce_review import ProduceReviewWorkflow, TaskRunInput, TaskRunOutput

# Times the findings may go back to the producer before the CEO must accept or stop.
MAX_COMPLIANCE_REVISIONS = 2
MAX_GUIDANCE_CHARS = 2000


async def check_before_publishing(
    gates: GateClient,
    *,
    project_id: str,
    project_workflow_id: str,
    goal: str,
    plan: Plan,
    ids: list[int],
    policy: Policy,
    title: str,
    stop: str,
    before: str,
    spent: Usage,
) -> tuple[list[int], str] | None:
    """Checks the public deliverables `ids`; returns the ids to publish (revised ones replace
    theirs) and a note for the CEO, or None when the CEO stopped the publication. `title` names
    the gate; `stop` says what reject does ("stops the launch"); `before` what the guidance for
    a revision is for ("go-live"). What the compliance reviewer's model calls cost is added to
    `spent`, for the caller to report to the project."""
    offer = plan.offer
    ids = list(ids)
    kinds = {t.id: t.deliverable_kind for t in plan.tasks}
    revisions = 0
    while True:
        report = await workflow.execute_activity(
            defs.compliance_review,
            ComplianceInput(
                project_id=project_id,
                deliverable_ids=ids,
                price=f"{offer.price_usd:.2f}" if offer and offer.currency.lower() == "usd" else None,
                task_kinds=dict(list(kinds.items())[:200]),
            ),
            **INTEGRATION,
        )
        spent.add(report.usage)
        if not report.blocking:
            warned = [f"{f.code}: {f.message}" for f in report.findings if f.severity == "warning"][:5]
            note = f"Compliance: no blocking findings, {report.warnings} warning(s)" + (
                " — " + "; ".join(warned) if warned else ""
            )
            return ids, note[:1500] + "."
        exhausted = revisions >= MAX_COMPLIANCE_REVISIONS
        last = f" No revisions left: revise now {stop} too." if exhausted else ""
        outcome = await gates.ask(
            GateRequest(
                key=f"compliance:{revisions}",
                kind=GateKind.compliance,
                title=title,
                summary=(
                    f"{report.summary}\n\nApprove accepts these findings as they are; revise sends them "
                    f"back to the producer ({', '.join(report.revise_task_ids) or 'no task to revise'}); "
                    f"reject {stop}.{last}"
                ),
                risk=Risk.high,
                requester_workflow_id=gates.me,
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
            ids = await _revise(
                gates,
                project_id,
                project_workflow_id,
                goal,
                plan,
                policy,
                report,
                ids,
                revisions,
                outcome.comment,
                before,
            )


async def _revise(
    gates: GateClient,
    project_id: str,
    project_workflow_id: str,
    goal: str,
    plan: Plan,
    policy: Policy,
    report: ComplianceReport,
    ids: list[int],
    revision: int,
    comment: str,
    before: str,
) -> list[int]:
    """Re-runs Producer+QA for each affected task with the findings as guidance; a revised
    deliverable replaces the task's old one among the ids to publish."""
    specs = {t.id: t for t in plan.tasks}
    have = report.task_deliverables
    for task_id in report.revise_task_ids:
        task = specs.get(task_id)
        if task is None:
            continue
        mine = [f for f in report.findings if f.severity == "blocking"]
        guidance = (
            f"Compliance review before {before}: fix every finding below, keep everything else. "
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
        result: TaskRunOutput = await gates.child(
            ProduceReviewWorkflow,
            TaskRunInput(
                project_id=project_id,
                project_workflow_id=project_workflow_id,
                goal=goal,
                task=task,
                policy=policy,
                guidance=guidance,
                rounds_before=report.task_versions.get(task_id, 0),
                context=WorkContext(kind=plan.kind, offer=plan.offer, upstream=upstream),
            ),
            f"{gates.me}/compliance-{revision}-{task_id}",
        )
        old = have.get(task_id)
        new = result.deliverable_id
        if new is None or result.status not in (TaskStatus.passed, TaskStatus.accepted):
            continue
        ids = [new if i == old else i for i in ids]
        if new not in ids:
            ids.append(new)
    return ids
