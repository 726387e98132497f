"""Approve with edits, as pure functions importable inside the workflow sandbox.

The CEO approves a plan with an edited task list (drop, rename, reorder, change a task's risk or
acceptance criteria) or a deliverable with edited text. The workflow checks an edit with
`plan_edits_problem` / `deliverable_edit_problem` before anything is written (its `decide`
validator), then applies it with `apply_plan_edits`; `describe_plan_edits` is what the decision's
audit record says.
"""

from __future__ import annotations

from domain.enums import Risk
from domain.gates import (
    MAX_EDIT_CRITERIA,
    MAX_EDIT_CRITERION_CHARS,
    MAX_EDIT_DELIVERABLE_CHARS,
    MAX_EDIT_TASKS,
    MAX_EDIT_TITLE_CHARS,
    PlanEdits,
)
from domain.work import Plan


def plan_edits_problem(plan: Plan | None, edits: PlanEdits) -> str | None:
    """Why these edits cannot apply to this plan (None: they can)."""
    if plan is None:
        return "the plan under decision is not known yet; approve without edits or try again"
    if not edits.tasks:
        return "an edited plan must keep at least one task (reject the plan instead)"
    if len(edits.tasks) > MAX_EDIT_TASKS:
        return f"an edited plan has at most {MAX_EDIT_TASKS} tasks"
    known = [t.id for t in plan.tasks]
    ids = [t.id for t in edits.tasks]
    unknown = [i for i in ids if i not in known]
    if unknown:
        shown = ", ".join(repr(i[:64]) for i in unknown[:5])
        return f"unknown task ids in the edited plan: {shown} (the plan has {', '.join(known)})"
    if len(set(ids)) != len(ids):
        return "each task may appear once in the edited plan"
    for task in edits.tasks:
        if task.title is not None and not (0 < len(task.title.strip()) <= MAX_EDIT_TITLE_CHARS):
            return f"task {task.id}: a title has 1 to {MAX_EDIT_TITLE_CHARS} characters"
        criteria = task.acceptance_criteria
        if criteria is not None:
            if len(criteria) > MAX_EDIT_CRITERIA:
                return f"task {task.id}: at most {MAX_EDIT_CRITERIA} acceptance criteria"
            if any(len(c) > MAX_EDIT_CRITERION_CHARS for c in criteria):
                return f"task {task.id}: each acceptance criterion has at most {MAX_EDIT_CRITERION_CHARS} characters"
    return None


def apply_plan_edits(plan: Plan, edits: PlanEdits) -> Plan:
    """The plan as edited: the listed tasks in the listed order, with their changes; dropped tasks
    leave the others' depends_on. Call `plan_edits_problem` first (raises ValueError otherwise)."""
    problem = plan_edits_problem(plan, edits)
    if problem:
        raise ValueError(problem)
    planned = {t.id: t for t in plan.tasks}
    kept = {t.id for t in edits.tasks}
    tasks = []
    for edit in edits.tasks:
        task = planned[edit.id]
        update: dict[str, object] = {"depends_on": [d for d in task.depends_on if d in kept]}
        if edit.title is not None:
            update["title"] = edit.title.strip()
        if edit.risk is not None:
            update["risk"] = Risk(edit.risk)
        if edit.acceptance_criteria is not None:
            update["acceptance_criteria"] = [c.strip() for c in edit.acceptance_criteria if c.strip()]
        tasks.append(task.model_copy(update=update, deep=True))
    estimate = round(sum(t.cost_estimate_usd for t in tasks), 2) if any(t.cost_estimate_usd for t in tasks) else None
    changed: dict[str, object] = {"tasks": tasks}
    if estimate is not None:
        changed["estimated_cost_usd"] = estimate
    return plan.model_copy(update=changed, deep=True)


def describe_plan_edits(plan: Plan, edits: PlanEdits, limit: int = 2000) -> str:
    """The edits in words for the audit trail: dropped, renamed, risk and criteria changes, order."""
    planned = {t.id: t for t in plan.tasks}
    kept = [t.id for t in edits.tasks]
    parts: list[str] = []
    dropped = [t.id for t in plan.tasks if t.id not in kept]
    if dropped:
        parts.append("dropped " + ", ".join(dropped))
    for edit in edits.tasks:
        task = planned.get(edit.id)
        if task is None:
            continue
        if edit.title is not None and edit.title.strip() != task.title:
            parts.append(f"renamed {edit.id} to '{edit.title.strip()}'")
        if edit.risk is not None and Risk(edit.risk) != task.risk:
            parts.append(f"{edit.id} risk {task.risk.value} → {Risk(edit.risk).value}")
        if edit.acceptance_criteria is not None:
            criteria = [c.strip() for c in edit.acceptance_criteria if c.strip()]
            if criteria != task.acceptance_criteria:
                parts.append(f"{edit.id} acceptance criteria changed ({len(criteria)})")
    if kept != [t.id for t in plan.tasks if t.id in kept]:
        parts.append("order " + ", ".join(kept))
    text = "plan edited: " + ("; ".join(parts) if parts else "no changes")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def deliverable_edit_problem(text: str) -> str | None:
    """Why an edited deliverable text is refused (None: it is taken)."""
    if not text.strip():
        return "the edited deliverable is empty (reject it instead)"
    if len(text) > MAX_EDIT_DELIVERABLE_CHARS:
        return f"the edited deliverable is limited to {MAX_EDIT_DELIVERABLE_CHARS:,} characters"
    return None
