"""The plan's summary as the pages and the API show it, made at projection time.

The planner writes the summary ("[offline] 7 tasks to launch …") for the plan it proposes. When
the CEO approves the plan with edits (tasks dropped, renamed, reordered) the workflow runs the
edited task list but keeps the planner's summary: its count and wording describe the proposal.
Rather than change live workflow code, the projection says what runs: the proposal's task count
in the planner's words becomes the edited count, and a note names the edit and who decided it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from api.schemas import DecisionLogOut
from domain.enums import GateKind, GateStatus
from domain.gates import GateView
from domain.work import Plan

# The plan gate's summary as discovery writes it (workflows/discovery.py):
# f"{plan.summary} — {len(plan.tasks)} tasks, estimated ${cost:.2f}. Approve, …"
_PROPOSED = re.compile(r"^ — (\d+) tasks, estimated ")
# What the decision's audit record starts with when the plan was edited (approvals/edits.py).
EDITED_PREFIX = "plan edited:"


def proposed_task_count(plan: Plan, gate: GateView) -> int | None:
    """How many tasks the plan gate proposed, when that gate proposed this plan's summary."""
    if not gate.summary.startswith(plan.summary):
        return None
    found = _PROPOSED.match(gate.summary[len(plan.summary) :])
    return int(found.group(1)) if found else None


def shown_plan_summary(plan: Plan, gates: Sequence[GateView], decisions: Sequence[DecisionLogOut]) -> str:
    """The planner's summary, matched to the plan that runs when the CEO approved it with edits."""
    approved = [g for g in gates if g.kind == GateKind.plan and g.status == GateStatus.approved]
    if not approved:
        return plan.summary
    gate = max(approved, key=lambda g: (g.decided_at or g.created_at, g.created_at))
    if not gate.summary.startswith(plan.summary):
        # A later plan (re-planned after a CEO instruction) speaks for itself.
        return plan.summary
    proposed = proposed_task_count(plan, gate)
    audit = [d for d in decisions if d.gate_id == gate.id and d.edits.startswith(EDITED_PREFIX)]
    count = len(plan.tasks)
    if not audit and (proposed is None or proposed == count):
        return plan.summary
    text = plan.summary
    if proposed is not None and proposed != count:
        text = re.sub(rf"\b{proposed} tasks\b", f"{count} tasks", text, count=1)
    noun = "task" if count == 1 else "tasks"
    proposal = f" (the planner proposed {proposed})" if proposed is not None and proposed != count else ""
    estimate = f", estimated ${plan.estimated_cost_usd:.2f}" if plan.estimated_cost_usd else ""
    who = gate.decided_by or (audit[-1].approver if audit else "")
    by = f", decided by {who}" if who else ""
    return f"{text}\n\n*Approved with edits{by}: {count} {noun}{proposal}{estimate}.*"
