"""The offline provider does real work on its inputs, and its QA is a rubric that can fail.

Each test runs the real activities against a real database: the plan, then every task in
dependency order with the context the execution workflow builds (`task_context`), so a
producer reads the deliverables its task depends on by id, as in a project.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import pytest

from activities.agents import AgentActivities, save_document
from activities.planning import topological_order
from activities.rubric import sections
from activities.site import BUY_BUTTON, site_problems, visible_text
from boardroom.settings import Settings
from domain.enums import TaskStatus
from domain.project import Policy
from domain.work import (
    InterviewInput,
    Plan,
    PlanInput,
    ProduceInput,
    ResearchInput,
    ReviewInput,
    ReviewOutput,
    TaskSpec,
    WorkContext,
)
from store.tables import Document
from tests.activities.helpers import activity_env, documents
from workflows.execution import ExecutionInput, task_context
from workflows.produce_review import TaskRunOutput

MUGS = "Sell handmade ceramic mugs online"
MUG_ANSWERS = {
    "audience": "Café owners in Vienna",
    "price": "35 EUR per mug",
    "region": "Austria",
    "constraints": "Budget 500 EUR; no plastic packaging",
}
THESIS = "Write a master's thesis on urban heat islands in Vienna"
THESIS_ANSWERS = {
    "question": "How much do green roofs cool Vienna's districts?",
    "audience": "my supervisor and the examination committee",
    "deadline": "by June 30, 2027",
    "constraints": "20,000 words at most; public satellite data only",
}
_ids = itertools.count(1)


@pytest.fixture
def acts(settings: Settings) -> AgentActivities:
    return AgentActivities(settings)


def env():  # type: ignore[no-untyped-def]
    return activity_env(f"act-{next(_ids)}")


@dataclass
class Run:
    """A project's plan worked through, task by task, as the execution workflow would."""

    plan: Plan
    data: ExecutionInput
    done: dict[str, TaskRunOutput] = field(default_factory=dict)
    contexts: dict[str, WorkContext] = field(default_factory=dict)
    reviews: dict[str, ReviewOutput] = field(default_factory=dict)

    def task(self, task_id: str) -> TaskSpec:
        return next(t for t in self.plan.tasks if t.id == task_id)


async def plan_project(acts: AgentActivities, project_id: str, goal: str, answers: dict[str, str]) -> Run:
    plan = (await env().run(acts.plan, PlanInput(project_id=project_id, goal=goal, answers=answers))).plan
    research = await env().run(acts.research, ResearchInput(project_id=project_id, goal=goal, answers=answers))
    data = ExecutionInput(
        project_id=project_id,
        project_workflow_id=f"project-{project_id}",
        goal=goal,
        plan=plan,
        policy=Policy(),
        answers=answers,
        research_summary=research.summary,
        research_document_id=research.document_id,
    )
    return Run(plan, data)


async def work(acts: AgentActivities, run: Run, task_id: str) -> ReviewOutput:
    """Produce and review one task with its context; record it as done when QA passes."""
    task = run.task(task_id)
    context = task_context(run.data, run.plan, task, run.done, [])
    made = await env().run(
        acts.produce, ProduceInput(project_id=run.data.project_id, task=task, goal=run.data.goal, context=context)
    )
    review = await env().run(
        acts.review,
        ReviewInput(
            project_id=run.data.project_id,
            task=task,
            deliverable_id=made.deliverable_id,
            goal=run.data.goal,
            context=context,
        ),
    )
    run.contexts[task_id] = context
    run.reviews[task_id] = review
    run.done[task_id] = TaskRunOutput(
        task_id=task_id,
        status=TaskStatus.passed if review.passed else TaskStatus.dropped,
        deliverable_id=made.deliverable_id,
        qa_score=review.score,
    )
    return review


async def work_all(acts: AgentActivities, run: Run, until: str | None = None) -> None:
    for task_id in topological_order(run.plan.tasks):
        await work(acts, run, task_id)
        if task_id == until:
            return


def doc(settings: Settings, project_id: str, task_id: str, version: int = 1) -> Document:
    return next(
        d
        for d in documents(settings.database_url, project_id)
        if d.task_id == task_id and d.version == version and d.kind == "deliverable"
    )


def section_map(content: str) -> dict[str, str]:
    return dict(sections(content))


def store(settings: Settings, original: Document, content: str, files: dict[str, str] | None = None) -> int:
    """Overwrite a stored version (a first draft that misses something, as a model might write)."""
    return save_document(
        settings.database_url,
        project_id=original.project_id,
        kind="deliverable",
        task_id=original.task_id,
        version=original.version,
        title=original.title,
        content=content,
        files=files if files is not None else original.files,
        author_role=original.author_role,
        provider="test",
    )


def feedback(review: ReviewOutput) -> list[str]:
    """What the Producer+QA workflow hands the producer for its revision."""
    return [f"[{i.severity}] {i.text}" for i in review.issues]


# --- the kind of goal decides the work ----------------------------------------------------------


async def test_a_mug_business_gets_the_ceos_price_everywhere(acts: AgentActivities, settings: Settings) -> None:
    questions = (await env().run(acts.interview_questions, InterviewInput(project_id="mugs", goal=MUGS))).questions
    assert {q.id for q in questions} == {"audience", "price", "region", "constraints"}
    assert any("currency" in q.text for q in questions if q.id == "price")

    run = await plan_project(acts, "mugs", MUGS, MUG_ANSWERS)
    offer = run.plan.offer
    assert offer is not None
    assert (offer.price_usd, offer.currency, offer.unit) == (35.0, "eur", "per mug")
    assert offer.audience == "Café owners in Vienna" and offer.region == "Austria"
    assert offer.constraints == ["Budget 500 EUR", "no plastic packaging"]
    await work_all(acts, run)
    assert all(r.passed for r in run.reviews.values()), {k: [i.text for i in r.issues] for k, r in run.reviews.items()}
    assert {r.method for r in run.reviews.values()} == {"offline-rubric"}

    deliverables = {t.id: doc(settings, "mugs", t.id) for t in run.plan.tasks}
    assert "Launch price: **35 EUR per mug**" in deliverables["pricing"].content
    for task_id, d in deliverables.items():
        text = d.content + "".join((d.files or {}).values())
        assert "$" not in text and "USD" not in text, task_id
    assert "35 EUR" in deliverables["legal-terms"].content
    assert "35 EUR per mug" in deliverables["launch-content"].content
    assert "Café owners in Vienna" in deliverables["launch-content"].content

    site = deliverables["website"].files or {}
    assert sorted(site) == ["index.html", "privacy.html", "style.css", "terms.html"]
    assert site_problems(site) == []
    index = visible_text(site["index.html"])
    assert "35 EUR" in index and "per mug" in index and "Café owners in Vienna" in index
    assert BUY_BUTTON in site["index.html"]
    assert not re.search(r"(src|href)=\"(https?:)?//", "".join(site.values()))
    assert "{{" not in "".join(site.values())
    # The terms page is the legal deliverable's text: its refund window, its data list.
    legal = section_map(deliverables["legal-terms"].content)
    assert "14 days" in legal["Refund policy"] and "14 days" in visible_text(site["terms.html"])
    assert "Name and email" in visible_text(site["privacy.html"])
    # The website was built from its upstream deliverables, loaded by id.
    upstream = run.contexts["website"].upstream
    assert [u.task_id for u in upstream] == ["product-spec", "pricing", "legal-terms"]
    assert [u.deliverable_id for u in upstream] == [
        deliverables[t].id for t in ("product-spec", "pricing", "legal-terms")
    ]
    assert (
        "Builds on: Terms of service, refund and privacy policy (task legal-terms, v1)"
        in deliverables["website"].content
    )


async def test_a_thesis_gets_no_pricing_legal_or_checkout(acts: AgentActivities, settings: Settings) -> None:
    questions = (await env().run(acts.interview_questions, InterviewInput(project_id="thesis", goal=THESIS))).questions
    assert {q.id for q in questions} == {"question", "audience", "deadline", "constraints"}
    assert not any("charge" in q.text or "price" in q.text.lower() for q in questions)

    run = await plan_project(acts, "thesis", THESIS, THESIS_ANSWERS)
    assert run.plan.kind == "research" and run.plan.offer is None
    kinds = {t.deliverable_kind for t in run.plan.tasks}
    assert not kinds & {"pricing", "legal", "code", "sales"}
    assert not {t.role for t in run.plan.tasks} & {"web-developer", "pricing-strategist", "legal-counsel"}
    await work_all(acts, run)
    assert all(r.passed for r in run.reviews.values()), {k: [i.text for i in r.issues] for k, r in run.reviews.items()}
    timeline = doc(settings, "thesis", "project-plan").content
    assert "by June 30, 2027" in timeline and "public satellite data only" in timeline
    outline = doc(settings, "thesis", "thesis-outline").content
    assert "How much do green roofs cool Vienna's districts?" in outline
    everything = " ".join(d.content for d in documents(settings.database_url, "thesis"))
    assert "Launch price" not in everything and "payment" not in everything.lower()


async def test_a_newsletter_gets_an_editorial_plan_not_a_checkout(acts: AgentActivities) -> None:
    goal = "Start a weekly newsletter about home fermentation"
    run = await plan_project(acts, "news", goal, {"audience": "home cooks in their thirties"})
    assert run.plan.kind == "content" and run.plan.offer is None
    assert not {t.deliverable_kind for t in run.plan.tasks} & {"pricing", "legal", "code"}
    await work_all(acts, run)
    assert all(r.passed for r in run.reviews.values()), {k: [i.text for i in r.issues] for k, r in run.reviews.items()}


async def test_a_service_is_priced_per_hour_in_the_regions_currency(acts: AgentActivities) -> None:
    run = await plan_project(
        acts, "books", "Offer bookkeeping services to freelancers in Berlin", {"price": "90/hour", "region": "Berlin"}
    )
    assert run.plan.kind == "service"
    assert run.plan.offer is not None and run.plan.offer.price_label == "90 EUR per hour"
    assert run.plan.offer.audience == "freelancers in Berlin"
    assert any("Service agreement" in t.title for t in run.plan.tasks)


# --- the rubric fails what is missing, and the revision fixes it there --------------------------


async def test_rubric_fails_a_deliverable_lacking_a_criterion_and_passes_its_revision(
    acts: AgentActivities, settings: Settings
) -> None:
    run = await plan_project(acts, "p-lawyer", MUGS, MUG_ANSWERS)
    await work_all(acts, run, until="legal-terms")
    legal_task = run.task("legal-terms")
    v1 = doc(settings, "p-lawyer", "legal-terms")
    parts = [(h, b) for h, b in sections(v1.content) if h != "For the lawyer"]
    lacking = "\n\n".join((f"## {h}\n\n{b}" if h else b) for h, b in parts)
    store(settings, v1, lacking)
    context = run.contexts["legal-terms"]

    review = await env().run(
        acts.review,
        ReviewInput(project_id="p-lawyer", task=legal_task, deliverable_id=v1.id or 0, goal=MUGS, context=context),
    )
    assert not review.passed and review.score <= 6.0
    (unmet,) = [i for i in review.issues if i.text.startswith("Not met")]
    assert unmet.severity == "high"  # legal work is high risk
    assert unmet.text == (
        "Not met — “Lists what a lawyer must check before go-live”: there is no “For the lawyer” section."
    )

    made = await env().run(
        acts.produce,
        ProduceInput(
            project_id="p-lawyer",
            task=legal_task,
            goal=MUGS,
            round=2,
            previous_deliverable_id=v1.id,
            feedback=feedback(review),
            context=context,
        ),
    )
    again = await env().run(
        acts.review,
        ReviewInput(
            project_id="p-lawyer",
            task=legal_task,
            deliverable_id=made.deliverable_id,
            round=2,
            goal=MUGS,
            context=context,
        ),
    )
    assert again.passed, [i.text for i in again.issues]
    before, after = section_map(lacking), section_map(doc(settings, "p-lawyer", "legal-terms", 2).content)
    # v2 differs from v1 where the issue pointed, and only there (besides its notes and header).
    changed = {h for h in after if before.get(h) != after[h]}
    assert changed == {"For the lawyer", "Revision notes", ""}
    assert "Austria" in after["For the lawyer"]
    assert "rewrote section “For the lawyer”" in after["Revision notes"]


async def test_rubric_checks_the_refund_window_against_the_pricing_deliverable(
    acts: AgentActivities, settings: Settings
) -> None:
    run = await plan_project(acts, "p-refund", MUGS, MUG_ANSWERS)
    await work_all(acts, run, until="legal-terms")
    legal_task = run.task("legal-terms")
    v1 = doc(settings, "p-refund", "legal-terms")
    store(settings, v1, v1.content.replace("Full refund within 14 days", "Full refund within 30 days"))
    context = run.contexts["legal-terms"]
    review = await env().run(
        acts.review,
        ReviewInput(project_id="p-refund", task=legal_task, deliverable_id=v1.id or 0, goal=MUGS, context=context),
    )
    assert not review.passed
    assert any(
        "“The refund policy matches the pricing task's refund rules”: the refund window is 30 days here but 14 days"
        in i.text
        for i in review.issues
    )
    made = await env().run(
        acts.produce,
        ProduceInput(
            project_id="p-refund",
            task=legal_task,
            goal=MUGS,
            round=2,
            previous_deliverable_id=v1.id,
            feedback=feedback(review),
            context=context,
        ),
    )
    v2 = doc(settings, "p-refund", "legal-terms", 2)
    assert made.deliverable_id == v2.id
    assert "within 14 days" in section_map(v2.content)["Refund policy"]
    assert section_map(v2.content)["Terms of service"] == section_map(v1.content)["Terms of service"]
    again = await env().run(
        acts.review,
        ReviewInput(
            project_id="p-refund", task=legal_task, deliverable_id=v2.id or 0, round=2, goal=MUGS, context=context
        ),
    )
    assert again.passed


async def test_a_broken_site_fails_with_reasons_and_the_revision_fixes_the_pages_it_names(
    acts: AgentActivities, settings: Settings
) -> None:
    run = await plan_project(acts, "p-site", MUGS, MUG_ANSWERS)
    await work_all(acts, run, until="website")
    site_task = run.task("website")
    v1 = doc(settings, "p-site", "website")
    files = dict(v1.files or {})
    files["index.html"] = (
        files["index.html"]
        .replace(BUY_BUTTON, '<a class="buy" href="{{PAYMENT_LINK}}">Buy</a>')
        .replace("<strong>35 EUR</strong>", "<strong>49 EUR</strong>")
        .replace('href="style.css">', 'href="style.css"><link rel="stylesheet" href="https://fonts.example/f.css">')
    )
    del files["privacy.html"]
    store(settings, v1, v1.content, files)
    context = run.contexts["website"]
    review = await env().run(
        acts.review,
        ReviewInput(project_id="p-site", task=site_task, deliverable_id=v1.id or 0, goal=MUGS, context=context),
    )
    assert not review.passed
    reasons = " | ".join(i.text for i in review.issues)
    assert "index.html does not show the price 35 EUR (from the pricing deliverable (v1))" in reasons
    assert "lacks the buy button" in reasons
    assert "missing file(s): privacy.html" in reasons
    assert "external resource: https://fonts.example/f.css" in reasons
    assert "template placeholder ({{PAYMENT_LINK}})" in reasons

    await env().run(
        acts.produce,
        ProduceInput(
            project_id="p-site",
            task=site_task,
            goal=MUGS,
            round=2,
            previous_deliverable_id=v1.id,
            feedback=feedback(review),
            context=context,
        ),
    )
    v2 = doc(settings, "p-site", "website", 2)
    fixed = v2.files or {}
    assert site_problems(fixed) == []
    assert "35 EUR" in visible_text(fixed["index.html"]) and "49 EUR" not in fixed["index.html"]
    assert fixed["terms.html"] == files["terms.html"] and fixed["style.css"] == files["style.css"]
    again = await env().run(
        acts.review,
        ReviewInput(
            project_id="p-site", task=site_task, deliverable_id=v2.id or 0, round=2, goal=MUGS, context=context
        ),
    )
    assert again.passed, [i.text for i in again.issues]


async def test_pasting_the_criteria_does_not_pass(acts: AgentActivities, settings: Settings) -> None:
    run = await plan_project(acts, "p-paste", MUGS, MUG_ANSWERS)
    task = run.task("support-playbook")
    content = (
        "# Support playbook\n\n## Acceptance criteria\n\n"
        + "\n".join(f"- [x] {c}" for c in task.acceptance_criteria)
        + "\n\n## Summary\n\n"
        + "\n".join(f"{c}." for c in task.acceptance_criteria)
    )
    doc_id = save_document(
        settings.database_url,
        project_id="p-paste",
        kind="deliverable",
        task_id=task.id,
        version=1,
        title=task.title,
        content=content,
        files=None,
        author_role=task.role,
        provider="test",
    )
    review = await env().run(
        acts.review, ReviewInput(project_id="p-paste", task=task, deliverable_id=doc_id, goal=MUGS)
    )
    assert not review.passed and review.score == 2.0
    assert len([i for i in review.issues if i.text.startswith("Not met")]) == len(task.acceptance_criteria)


async def test_a_criterion_the_templates_cannot_meet_is_left_to_the_ceo(
    acts: AgentActivities, settings: Settings
) -> None:
    task = TaskSpec(
        id="wholesale",
        title="Wholesale offer for cafés",
        role="sales-lead",
        deliverable_kind="sales",
        acceptance_criteria=["Attaches a signed letter of intent from a café chain"],
    )
    context = WorkContext(answers=MUG_ANSWERS)
    made = await env().run(acts.produce, ProduceInput(project_id="p-loi", task=task, goal=MUGS, context=context))
    review = await env().run(
        acts.review,
        ReviewInput(project_id="p-loi", task=task, deliverable_id=made.deliverable_id, goal=MUGS, context=context),
    )
    assert not review.passed
    assert "the offline templates cannot meet it" in review.issues[0].text
    await env().run(
        acts.produce,
        ProduceInput(
            project_id="p-loi",
            task=task,
            goal=MUGS,
            round=2,
            previous_deliverable_id=made.deliverable_id,
            feedback=feedback(review),
            context=context,
        ),
    )
    notes = section_map(doc(settings, "p-loi", "wholesale", 2).content)["Revision notes"]
    assert "not changed: the offline templates cannot meet this criterion" in notes


async def test_steering_to_a_new_audience_and_price_reaches_the_site(acts: AgentActivities, settings: Settings) -> None:
    run = await plan_project(acts, "p-steer", MUGS, MUG_ANSWERS)
    await work_all(acts, run, until="legal-terms")
    instruction = "Target hotel breakfast rooms instead of cafés, at 42 EUR per mug"
    done = sorted(run.done)
    steered = (
        await env().run(
            acts.plan,
            PlanInput(
                project_id="p-steer",
                goal=MUGS,
                previous=run.plan,
                steering=[instruction],
                done_task_ids=done,
                revision=1,
            ),
        )
    ).plan
    assert steered.offer is not None
    assert (steered.offer.audience, steered.offer.price_label) == ("hotel breakfast rooms", "42 EUR per mug")
    run.plan = steered
    run.data = run.data.model_copy(update={"plan": steered, "steering": [instruction]})
    review = await work(acts, run, "website")
    assert review.passed, [i.text for i in review.issues]
    index = visible_text(doc(settings, "p-steer", "website").files["index.html"])  # type: ignore[index]
    assert "hotel breakfast rooms" in index and "42 EUR" in index and "35 EUR" not in index
    content = doc(settings, "p-steer", "website").content
    assert f"“{instruction}” → the price is 42 EUR per mug throughout; written for hotel breakfast rooms" in content
