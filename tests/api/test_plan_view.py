"""The plan's summary as shown: a plan approved with edits is described as it runs (its task count,
who decided), not in the planner's words for the proposal; anything else is shown unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.plan_view import shown_plan_summary
from api.schemas import DecisionLogOut
from approvals.edits import apply_plan_edits, describe_plan_edits
from domain.enums import GateKind, GateStatus
from domain.gates import GateView, PlanEdits, TaskEdit
from domain.work import Plan, TaskSpec

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def proposal(n: int = 7) -> Plan:
    tasks = [TaskSpec(id=f"t{i}", title=f"Task {i}", role="copywriter", cost_estimate_usd=0.5) for i in range(n)]
    return Plan(summary=f"[offline] {n} tasks to launch Harbour Mugs at $24", tasks=tasks, estimated_cost_usd=n * 0.5)


def plan_gate(
    plan: Plan, status: GateStatus = GateStatus.approved, by: str = "alice", gid: str = "g-plan-0"
) -> GateView:
    # The summary exactly as workflows/discovery.py writes it for a plan gate.
    summary = (
        f"{plan.summary} — {len(plan.tasks)} tasks, estimated "
        f"${plan.estimated_cost_usd:.2f}. Approve, reject, or request changes."
    )
    decided = status != GateStatus.pending
    return GateView(
        id=gid,
        kind=GateKind.plan,
        title="Approve the plan (revision 0)",
        summary=summary,
        status=status,
        created_at=T0,
        decided_by=by if decided else None,
        decided_at=T0 + timedelta(minutes=5) if decided else None,
    )


def audit(gate: GateView, edits: str, approver: str = "alice") -> DecisionLogOut:
    return DecisionLogOut(
        gate_id=gate.id, decision="approve", approver=approver, channel="web", decided_at=T0, edits=edits
    )


def test_an_edited_plan_is_shown_with_its_own_count_and_who_decided() -> None:
    planned = proposal(7)
    gate = plan_gate(planned)
    edits = PlanEdits(tasks=[TaskEdit(id="t2"), TaskEdit(id="t0", title="Research (CEO)"), TaskEdit(id="t1")])
    running = apply_plan_edits(planned, edits)
    shown = shown_plan_summary(running, [gate], [audit(gate, describe_plan_edits(planned, edits))])
    assert shown == (
        "[offline] 3 tasks to launch Harbour Mugs at $24\n\n"
        "*Approved with edits, decided by alice: 3 tasks (the planner proposed 7), estimated $1.50.*"
    )


def test_renames_only_keep_the_count_and_say_the_plan_was_edited() -> None:
    planned = proposal(4)
    gate = plan_gate(planned, by="bob")
    edits = PlanEdits(tasks=[TaskEdit(id=f"t{i}", title="Renamed" if i == 0 else None) for i in range(4)])
    running = apply_plan_edits(planned, edits)
    # a quorum gate: the audit record carries the votes after the edits
    record = audit(gate, describe_plan_edits(planned, edits) + "; votes: alice approve, bob approve", "bob")
    shown = shown_plan_summary(running, [gate], [record])
    assert shown.startswith("[offline] 4 tasks to launch Harbour Mugs at $24\n\n")
    assert shown.endswith("*Approved with edits, decided by bob: 4 tasks, estimated $2.00.*")


def test_the_count_is_corrected_before_the_audit_record_is_written() -> None:
    # The decision takes effect at once; its audit record is written in the background.
    planned = proposal(5)
    gate = plan_gate(planned)
    running = apply_plan_edits(planned, PlanEdits(tasks=[TaskEdit(id="t0"), TaskEdit(id="t1")]))
    shown = shown_plan_summary(running, [gate], [])
    assert shown.startswith("[offline] 2 tasks to launch") and "(the planner proposed 5)" in shown


def test_unedited_pending_and_replanned_plans_are_shown_as_written() -> None:
    planned = proposal(6)
    approved = plan_gate(planned)
    assert shown_plan_summary(planned, [approved], [audit(approved, "")]) == planned.summary
    assert shown_plan_summary(planned, [plan_gate(planned, GateStatus.pending)], []) == planned.summary
    assert shown_plan_summary(planned, [], []) == planned.summary
    # a re-plan after a CEO instruction: its own summary, whatever the approved gate said
    replanned = proposal(3).model_copy(update={"summary": "Revised after your note: 3 tasks"})
    edited = audit(approved, "plan edited: dropped t5")
    assert shown_plan_summary(replanned, [approved], [edited]) == "Revised after your note: 3 tasks"
    # the latest approved plan gate decides (an older rejected revision does not count)
    rejected = plan_gate(proposal(9), GateStatus.rejected, gid="g-plan-old")
    assert shown_plan_summary(planned, [rejected, approved], []) == planned.summary
