"""Approve with edits: checking, applying and describing an edited plan; edited deliverable text."""

from __future__ import annotations

import pytest

from approvals.edits import apply_plan_edits, deliverable_edit_problem, describe_plan_edits, plan_edits_problem
from domain.enums import Risk
from domain.gates import MAX_EDIT_DELIVERABLE_CHARS, MAX_EDIT_TASKS, PlanEdits, TaskEdit
from domain.work import Plan, TaskSpec


def plan() -> Plan:
    return Plan(
        summary="Mugs",
        tasks=[
            TaskSpec(id="t1", title="Research", role="analyst", acceptance_criteria=["sources"], cost_estimate_usd=1),
            TaskSpec(id="t2", title="Copy", role="writer", depends_on=["t1"], cost_estimate_usd=2),
            TaskSpec(id="t3", title="Site", role="dev", depends_on=["t1", "t2"], risk=Risk.high, cost_estimate_usd=3),
        ],
        estimated_cost_usd=6,
    )


def test_drop_rename_reorder_and_change_risk_and_criteria() -> None:
    edits = PlanEdits(
        tasks=[
            TaskEdit(id="t3", title="  Landing page  ", risk=Risk.medium),
            TaskEdit(id="t1", acceptance_criteria=["three sources", " ", "a price range"]),
        ]
    )
    assert plan_edits_problem(plan(), edits) is None
    edited = apply_plan_edits(plan(), edits)
    assert [t.id for t in edited.tasks] == ["t3", "t1"]
    landing, research = edited.tasks
    assert landing.title == "Landing page" and landing.risk is Risk.medium
    assert landing.depends_on == ["t1"], "the dropped task leaves depends_on"
    assert landing.role == "dev", "what the CEO did not touch stays"
    assert research.acceptance_criteria == ["three sources", "a price range"]
    assert edited.estimated_cost_usd == 4 and edited.summary == "Mugs"
    text = describe_plan_edits(plan(), edits)
    assert text.startswith("plan edited: dropped t2")
    assert "renamed t3 to 'Landing page'" in text and "t3 risk high → medium" in text
    assert "t1 acceptance criteria changed (2)" in text and "order t3, t1" in text
    # the input plan is untouched
    assert [t.id for t in plan().tasks] == ["t1", "t2", "t3"]


def test_unchanged_edits_say_so() -> None:
    edits = PlanEdits(tasks=[TaskEdit(id=t.id) for t in plan().tasks])
    assert apply_plan_edits(plan(), edits) == plan()
    assert describe_plan_edits(plan(), edits) == "plan edited: no changes"


@pytest.mark.parametrize(
    ("edits", "says"),
    [
        (PlanEdits(tasks=[]), "at least one task"),
        (PlanEdits(tasks=[TaskEdit(id="t9")]), "unknown task ids"),
        (PlanEdits(tasks=[TaskEdit(id="t1"), TaskEdit(id="t1")]), "once"),
        (PlanEdits(tasks=[TaskEdit(id="t1", title="   ")]), "title"),
        (PlanEdits(tasks=[TaskEdit(id="t1", title="x" * 201)]), "title"),
        (PlanEdits(tasks=[TaskEdit(id="t1", acceptance_criteria=["c"] * 13)]), "at most 12"),
        (PlanEdits(tasks=[TaskEdit(id="t1", acceptance_criteria=["c" * 501])]), "500"),
        (PlanEdits(tasks=[TaskEdit(id="t1")] * (MAX_EDIT_TASKS + 1)), f"at most {MAX_EDIT_TASKS}"),
    ],
)
def test_bad_edits_are_refused_with_a_reason(edits: PlanEdits, says: str) -> None:
    problem = plan_edits_problem(plan(), edits)
    assert problem is not None and says in problem
    with pytest.raises(ValueError, match=says):
        apply_plan_edits(plan(), edits)


def test_edits_need_a_known_plan() -> None:
    assert "not known" in (plan_edits_problem(None, PlanEdits(tasks=[TaskEdit(id="t1")])) or "")


def test_deliverable_text_bounds() -> None:
    assert deliverable_edit_problem("# Better copy") is None
    assert "empty" in (deliverable_edit_problem("  \n") or "")
    assert "limited" in (deliverable_edit_problem("x" * (MAX_EDIT_DELIVERABLE_CHARS + 1)) or "")
