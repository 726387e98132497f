"""The offline provider: deterministic, visibly labelled, and doing real work on its inputs."""

from __future__ import annotations

import logging

import pytest
from temporalio import activity

from activities.agents import AgentActivities
from activities.catalog import load_catalog
from activities.offline import MAX_OFFLINE_SCORE, OFFLINE_LABEL
from activities.planning import validate_plan
from activities.site import BUY_BUTTON
from boardroom.settings import Settings
from domain.enums import Risk
from domain.work import (
    InterviewInput,
    KpiInput,
    Kpis,
    Plan,
    PlanInput,
    ProduceInput,
    ResearchInput,
    ReviewInput,
    TaskSpec,
    TeamInput,
    WorkContext,
)
from tests.activities.helpers import GOAL, activity_env, documents, reviews, usage_rows


@pytest.fixture
def acts(settings: Settings) -> AgentActivities:
    assert settings.provider == "offline"
    return AgentActivities(settings)


async def make_plan(acts: AgentActivities, **kw: object) -> Plan:
    out = await activity_env("act-plan").run(acts.plan, PlanInput(project_id="p1", goal=GOAL, **kw))  # type: ignore[arg-type]
    return out.plan


def ancestors(plan: Plan, tid: str) -> set[str]:
    by_id = {t.id: t for t in plan.tasks}
    seen: set[str] = set()
    stack = list(by_id[tid].depends_on)
    while stack:
        dep = stack.pop()
        if dep not in seen:
            seen.add(dep)
            stack.extend(by_id[dep].depends_on)
    return seen


async def produce_and_review(
    acts: AgentActivities, task: TaskSpec, round_: int = 1, feedback: list[str] | None = None, threshold: float = 7.0
):
    env = activity_env(f"act-{task.id}-{round_}")
    made = await env.run(
        acts.produce, ProduceInput(project_id="p1", task=task, goal=GOAL, round=round_, feedback=feedback or [])
    )
    review = await activity_env(f"act-{task.id}-{round_}-qa").run(
        acts.review,
        ReviewInput(
            project_id="p1",
            task=task,
            deliverable_id=made.deliverable_id,
            round=round_,
            pass_threshold=threshold,
            goal=GOAL,
        ),
    )
    return made, review


async def test_plan_shape_dependencies_chains_and_risk(acts: AgentActivities) -> None:
    plan = await make_plan(acts)
    validate_plan(plan)
    assert len(plan.tasks) >= 6
    roles = set(load_catalog().names)
    assert all(t.role in roles for t in plan.tasks)
    assert all(t.acceptance_criteria for t in plan.tasks)
    assert all(t.cost_estimate_usd > 0 for t in plan.tasks)
    assert plan.estimated_cost_usd == pytest.approx(sum(t.cost_estimate_usd for t in plan.tasks), abs=0.01)
    assert any(t.risk == Risk.high for t in plan.tasks)
    # Two independent chains (each at least two tasks long) that meet at a join task.
    joins = []
    for task in plan.tasks:
        for i, a in enumerate(task.depends_on):
            for b in task.depends_on[i + 1 :]:
                chain_a, chain_b = ancestors(plan, a) | {a}, ancestors(plan, b) | {b}
                if not chain_a & chain_b and len(chain_a) >= 2 and len(chain_b) >= 2:
                    joins.append(task.id)
    assert joins, "expected a join task over two independent chains"
    # Some tasks can start at once, others must wait.
    assert len([t for t in plan.tasks if not t.depends_on]) >= 2
    assert plan.offer is not None and plan.offer.product_name and plan.offer.price_usd > 0
    assert "Meal" in plan.offer.product_name
    assert plan.summary.startswith("[offline]")


async def test_plan_is_deterministic_and_uses_a_price_from_the_answers(acts: AgentActivities) -> None:
    assert await make_plan(acts) == await make_plan(acts)
    plan = await make_plan(acts, answers={"q2": "About $24 one-off"})
    assert plan.offer is not None and plan.offer.price_usd == 24.0
    pricing = next(t for t in plan.tasks if t.deliverable_kind == "pricing")
    assert "24 USD" in pricing.description and "$" not in pricing.description


async def test_interview_questions_derive_from_the_goal(acts: AgentActivities) -> None:
    out = await activity_env().run(acts.interview_questions, InterviewInput(project_id="p1", goal=GOAL))
    assert 3 <= len(out.questions) <= 4
    assert len({q.id for q in out.questions}) == len(out.questions)
    assert any("Meal Planner" in q.text for q in out.questions)
    other = await activity_env().run(
        acts.interview_questions, InterviewInput(project_id="p1", goal="Launch a dog-walking app")
    )
    assert [q.text for q in other.questions] != [q.text for q in out.questions]


async def test_research_is_stored_as_a_labelled_document(acts: AgentActivities, settings: Settings) -> None:
    out = await activity_env().run(acts.research, ResearchInput(project_id="p1", goal=GOAL, answers={"q1": "parents"}))
    again = await activity_env().run(
        acts.research, ResearchInput(project_id="p1", goal=GOAL, answers={"q1": "parents"})
    )
    assert out.document_id is not None and out.document_id == again.document_id
    (doc,) = documents(settings.database_url)
    assert doc.kind == "research" and doc.content.startswith(OFFLINE_LABEL)
    assert len(out.summary) <= 300


async def test_qa_is_a_rubric_the_planned_work_passes(acts: AgentActivities, settings: Settings) -> None:
    # No hash decides: each planned task's first draft meets the criteria the planner wrote for it,
    # and QA says how it checked (the stored review carries the method).
    plan = await make_plan(acts)
    for task in plan.tasks:
        _, review = await produce_and_review(acts, task)
        assert review.passed, (task.id, [i.text for i in review.issues])
        assert review.method == "offline-rubric"
        assert 8.0 <= review.score <= MAX_OFFLINE_SCORE
        assert all(i.severity == "low" for i in review.issues)  # advisories only
    rows = reviews(settings.database_url)
    assert len(rows) == len(plan.tasks)
    assert {r.method for r in rows} == {"offline-rubric"}
    assert all(r.summary.startswith("[offline rubric]") for r in rows)


async def test_revision_addresses_each_feedback_item(acts: AgentActivities, settings: Settings) -> None:
    task = (await make_plan(acts)).tasks[0]
    feedback = ["Name three competitors with prices", "Show the market-size arithmetic"]
    made, _ = await produce_and_review(acts, task, round_=2, feedback=feedback)
    doc = next(d for d in documents(settings.database_url) if d.id == made.deliverable_id)
    assert doc.version == 2
    assert "## Revision notes" in doc.content
    for item in feedback:
        assert item in doc.content


async def test_a_threshold_above_nine_never_passes(acts: AgentActivities) -> None:
    plan = await make_plan(acts)
    for task in plan.tasks[:3]:
        for round_ in (1, 2, 3):
            _, review = await produce_and_review(acts, task, round_=round_, feedback=["more detail"], threshold=9.1)
            assert review.score <= 9.0 and not review.passed


async def test_deliverables_differ_per_task_and_carry_the_label(acts: AgentActivities, settings: Settings) -> None:
    plan = await make_plan(acts)
    outs = [
        await activity_env(f"act-{t.id}").run(acts.produce, ProduceInput(project_id="p1", task=t, goal=GOAL))
        for t in plan.tasks
    ]
    docs = {d.id: d for d in documents(settings.database_url)}
    contents = [docs[o.deliverable_id].content for o in outs]
    assert len(set(contents)) == len(contents)
    assert all(c.startswith(OFFLINE_LABEL) for c in contents)
    for task, content in zip(plan.tasks, contents, strict=True):
        assert task.title in content
        # The work meets its criteria; it does not paste them.
        assert not any(c in content for c in task.acceptance_criteria), task.id
    build = next(t for t in plan.tasks if t.deliverable_kind == "code")
    files = docs[outs[plan.tasks.index(build)].deliverable_id].files
    assert files is not None and sorted(files) == ["index.html", "privacy.html", "style.css", "terms.html"]
    assert BUY_BUTTON in files["index.html"] and "offline provider" in files["index.html"]


async def test_produce_and_review_are_idempotent(acts: AgentActivities, settings: Settings) -> None:
    task = (await make_plan(acts)).tasks[0]
    first, r1 = await produce_and_review(acts, task)
    second, r2 = await produce_and_review(acts, task)
    assert first.deliverable_id == second.deliverable_id and r1.review_id == r2.review_id
    assert len(documents(settings.database_url)) == 1
    assert len(reviews(settings.database_url)) == 1


async def test_guidance_changes_the_work_and_qa_checks_against_it(acts: AgentActivities) -> None:
    plan = await make_plan(acts, answers={"price": "29 USD per planner"})
    pricing = next(t for t in plan.tasks if t.id == "pricing")
    context = WorkContext(offer=plan.offer, answers={"price": "29 USD per planner"})
    guidance = "Make it 39 USD per planner: parents pay more for the printed edition."
    made = await activity_env("act-guided").run(
        acts.produce,
        ProduceInput(project_id="p2", task=pricing, goal=GOAL, guidance=guidance, context=context),
    )
    doc = next(d for d in documents(acts.settings.database_url, "p2") if d.id == made.deliverable_id)
    assert "Launch price: **39 USD per planner**" in doc.content
    assert "29 USD" not in doc.content.split("## Recommendation")[1]  # every price-bearing section changed
    # The reviewer knows the guidance: the new price is right …
    guided = await activity_env("act-guided-qa").run(
        acts.review,
        ReviewInput(
            project_id="p2",
            task=pricing,
            deliverable_id=made.deliverable_id,
            goal=GOAL,
            context=context,
            guidance=guidance,
        ),
    )
    assert guided.passed, [i.text for i in guided.issues]
    # … while against the plan's offer alone the same text is inconsistent, and QA says why.
    plain = await activity_env("act-plain-qa").run(
        acts.review,
        ReviewInput(
            project_id="p2", task=pricing, deliverable_id=made.deliverable_id, round=2, goal=GOAL, context=context
        ),
    )
    assert not plain.passed
    assert any("39 USD differs from 29 USD" in i.text for i in plain.issues)


async def test_feedback_visibly_changes_the_plan(acts: AgentActivities) -> None:
    first = await make_plan(acts)
    feedback = "Add an Instagram launch campaign"
    revised = await make_plan(acts, previous=first, feedback=[feedback], revision=1)
    validate_plan(revised)
    added = [t for t in revised.tasks if t.id not in {x.id for x in first.tasks}]
    assert len(added) == 1 and feedback in added[0].title + added[0].description
    assert added[0].role == "growth-marketer"
    join = next(t for t in revised.tasks if added[0].id in t.depends_on)
    assert any(feedback in c for c in join.acceptance_criteria)
    assert feedback in revised.summary
    # Re-planning with the same feedback does not add it twice.
    again = await make_plan(acts, previous=revised, feedback=[feedback], revision=2)
    assert len(again.tasks) == len(revised.tasks)


async def test_feedback_naming_a_price_changes_the_offer(acts: AgentActivities) -> None:
    first = await make_plan(acts)
    revised = await make_plan(acts, previous=first, feedback=["Price it at $39 instead"], revision=1)
    assert revised.offer is not None and revised.offer.price_usd == 39.0
    pricing = next(t for t in revised.tasks if t.id == "pricing")
    assert "39 USD" in pricing.description


async def test_steering_keeps_done_tasks_and_revises_the_rest(acts: AgentActivities) -> None:
    first = await make_plan(acts)
    done = [t.id for t in first.tasks if not t.depends_on]
    instruction = "Target teachers instead of parents"
    steered = await make_plan(acts, previous=first, steering=[instruction], done_task_ids=done, revision=1)
    validate_plan(steered, keep_task_ids=done)
    before = {t.id: t for t in first.tasks}
    after = {t.id: t for t in steered.tasks}
    for tid in done:
        assert after[tid] == before[tid]
    new = [t for t in steered.tasks if t.id not in before]
    assert len(new) == 1 and instruction in new[0].description
    remaining = [t for t in steered.tasks if t.id not in done and t.id != new[0].id]
    assert remaining and all(any(instruction in c for c in t.acceptance_criteria) for t in remaining)
    assert instruction in steered.summary
    assert steered.offer is not None and steered.offer.audience == "teachers"  # the offer follows the CEO


async def test_team_maps_every_role_to_a_named_member(acts: AgentActivities) -> None:
    plan = await make_plan(acts)
    out = await activity_env().run(acts.assemble_team, TeamInput(project_id="p1", plan=plan))
    by_role = {m.role: m for m in out.members}
    for task in plan.tasks:
        assert task.id in by_role[task.role].task_ids
    assert all(m.name and " — " in m.name for m in out.members)
    assert len({m.name for m in out.members}) == len(out.members)
    assert "code-reviewer" in by_role  # reviewers are staffed too


@pytest.mark.parametrize(
    ("kpis", "expected"),
    [
        (Kpis(refunds=2, refunded_usd=58.0), ["reduce-refunds"]),
        (Kpis(open_issues=3), ["fix-open-customer-issues"]),
        (Kpis(refunds=1, open_issues=1), ["reduce-refunds", "fix-open-customer-issues"]),
        (Kpis(revenue_usd=290.0, orders=10), ["grow-conversion"]),
    ],
)
async def test_kpi_analysis_turns_kpis_into_improvements(
    acts: AgentActivities, kpis: Kpis, expected: list[str]
) -> None:
    out = await activity_env().run(acts.analyze_kpis, KpiInput(project_id="p1", kpis=kpis, review_number=2))
    assert [t.id for t in out.improvements] == [f"r2-{e}" for e in expected]
    validate_plan(Plan(tasks=out.improvements))
    assert out.summary.startswith("[offline] Review 2")


async def test_improvement_ids_are_unique_per_review(acts: AgentActivities) -> None:
    ids: set[str] = set()
    for n in (1, 2, 3):
        out = await activity_env().run(
            acts.analyze_kpis, KpiInput(project_id="p1", kpis=Kpis(refunds=1), review_number=n)
        )
        ids.update(t.id for t in out.improvements)
    assert len(ids) == 3


async def test_offline_usage_is_counted_free_once_per_call_key(acts: AgentActivities, settings: Settings) -> None:
    task = (await make_plan(acts)).tasks[0]
    env = activity_env("act-same")
    await env.run(acts.produce, ProduceInput(project_id="p1", task=task, goal=GOAL))
    await env.run(acts.produce, ProduceInput(project_id="p1", task=task, goal=GOAL))
    rows = [r for r in usage_rows(settings.database_url) if r.activity == "produce"]
    assert len(rows) == 1
    assert (rows[0].provider, rows[0].model, rows[0].cost_usd) == ("offline", "offline", 0.0)
    assert rows[0].tokens_in > 0 and rows[0].tokens_out > 0


async def test_offline_provider_logs_that_it_is_offline(
    acts: AgentActivities, caplog: pytest.LogCaptureFixture
) -> None:
    # The level of the logger the provider writes to (an earlier test may have turned the
    # SDK's loggers down, as the CLI does), not only the root's.
    with caplog.at_level(logging.INFO), caplog.at_level(logging.INFO, logger="temporalio.activity"):
        await activity_env().run(acts.interview_questions, InterviewInput(project_id="p1", goal=GOAL))
    assert any("offline provider (no LLM)" in r.getMessage() for r in caplog.records)


def test_activities_are_registered_with_explicit_names(settings: Settings) -> None:
    acts = AgentActivities(settings)
    names = [activity._Definition.must_from_callable(fn).name for fn in acts.activities()]
    assert names == ["interview_questions", "research", "plan", "assemble_team", "produce", "review", "analyze_kpis"]


async def test_improvement_work_is_accounted_to_operations(acts: AgentActivities, settings: Settings) -> None:
    kpis = await activity_env("act-kpi").run(
        acts.analyze_kpis, KpiInput(project_id="p1", kpis=Kpis(open_issues=1), review_number=5)
    )
    (improvement,) = kpis.improvements
    await activity_env("act-imp").run(acts.produce, ProduceInput(project_id="p1", task=improvement, goal=GOAL))
    phases = {r.activity: r.phase for r in usage_rows(settings.database_url)}
    assert phases == {"analyze_kpis": "operations", "produce": "operations"}
