"""Approve with edits from an HTML form (no JavaScript): the approval page's plan editor and
deliverable editor, read back into the decision's bounded `plan_edits` / `deliverable_text`.

The workflow checks the edits again (approvals/edits.py) before anything is written.
"""

from __future__ import annotations

from domain.enums import Risk
from domain.gates import MAX_EDIT_CRITERIA, MAX_EDIT_DELIVERABLE_CHARS, PlanEdits, TaskEdit
from domain.work import Plan

# The hidden fields that say which editor the form carried (a form without them edits nothing).
PLAN_FORM = "plan_form"
DELIVERABLE_FORM = "deliverable_form"


def plan_edits_from_form(plan: Plan | None, form: dict[str, str]) -> PlanEdits | None:
    """The tasks kept (`keep_<id>`), ordered by `pos_<id>` (ties: the planned order), with title,
    risk and acceptance criteria (`criteria_<id>`, one per line). None when nothing changed."""
    if plan is None or form.get(PLAN_FORM) != "1":
        return None
    kept: list[tuple[float, int, TaskEdit]] = []
    for index, task in enumerate(plan.tasks):
        if form.get(f"keep_{task.id}") != "1":
            continue
        try:
            position = float(form.get(f"pos_{task.id}", "") or index + 1)
        except ValueError:
            position = index + 1
        title = form.get(f"title_{task.id}", task.title).strip()
        risk = form.get(f"risk_{task.id}", task.risk.value)
        lines = form.get(f"criteria_{task.id}")
        criteria = (
            [c.strip() for c in lines.replace("\r\n", "\n").split("\n") if c.strip()][: MAX_EDIT_CRITERIA + 1]
            if lines is not None
            else list(task.acceptance_criteria)
        )
        edit = TaskEdit(
            id=task.id,
            title=title if title != task.title else None,
            risk=Risk(risk) if risk in Risk.__members__ and risk != task.risk.value else None,
            acceptance_criteria=criteria if criteria != task.acceptance_criteria else None,
        )
        kept.append((position, index, edit))
    kept.sort(key=lambda k: (k[0], k[1]))
    edits = PlanEdits(tasks=[k[2] for k in kept])
    unchanged = [t.id for t in edits.tasks] == [t.id for t in plan.tasks] and all(
        t.title is None and t.risk is None and t.acceptance_criteria is None for t in edits.tasks
    )
    return None if unchanged else edits


def deliverable_text_from_form(current: str | None, form: dict[str, str]) -> str | None:
    """The edited deliverable text (`deliverable_text`), or None when it was left as it was."""
    if current is None or form.get(DELIVERABLE_FORM) != "1":
        return None
    text = form.get("deliverable_text")
    if text is None:
        return None
    text = text.replace("\r\n", "\n")
    if text.strip() == current.replace("\r\n", "\n").strip():
        return None
    # Longer text is refused by the workflow with a clear message; send just past the bound.
    return text[: MAX_EDIT_DELIVERABLE_CHARS + 1]
