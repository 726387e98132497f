"""Plan validation: a pure function both providers' plans go through; invalid LLM plans are re-asked."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from activities.agents import AgentActivities
from activities.llm import OfferOut, PlanOut, TaskOut
from activities.planning import PlanValidationError, find_cycle, topological_order, validate_plan
from boardroom.settings import Settings
from domain.work import Plan, PlanInput, TaskSpec
from tests.activities.helpers import GOAL, activity_env
from tests.fakes.openai_server import FakeOpenAI, chat_completion


def t(tid: str, *deps: str, role: str = "market-researcher", kind: str = "research") -> TaskSpec:
    return TaskSpec(id=tid, title=f"Task {tid}", role=role, deliverable_kind=kind, depends_on=list(deps))


def test_a_valid_plan_passes() -> None:
    plan = Plan(tasks=[t("a"), t("b", "a"), t("c"), t("d", "b", "c")])
    validate_plan(plan)
    assert topological_order(plan.tasks).index("a") < topological_order(plan.tasks).index("d")


def test_rejects_a_cycle() -> None:
    plan = Plan(tasks=[t("a", "c"), t("b", "a"), t("c", "b"), t("d")])
    with pytest.raises(PlanValidationError, match="dependency cycle") as caught:
        validate_plan(plan)
    cycle = find_cycle(plan.tasks)
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}
    assert " -> ".join(cycle) in str(caught.value)


def test_rejects_a_self_dependency() -> None:
    with pytest.raises(PlanValidationError, match="'a' depends on itself"):
        validate_plan(Plan(tasks=[t("a", "a")]))


def test_rejects_unknown_roles_and_names_the_choices() -> None:
    with pytest.raises(PlanValidationError) as caught:
        validate_plan(Plan(tasks=[t("a", role="wizard")]))
    assert "unknown role 'wizard'" in str(caught.value)
    assert "market-researcher" in str(caught.value)


def test_rejects_qa_roles_as_producers_and_unknown_kinds() -> None:
    with pytest.raises(PlanValidationError) as caught:
        validate_plan(Plan(tasks=[t("a", role="code-reviewer"), t("b", kind="poetry")]))
    assert "QA role" in str(caught.value)
    assert "unknown deliverable kind 'poetry'" in str(caught.value)
    assert len(caught.value.problems) == 2


def test_rejects_dangling_dependencies() -> None:
    with pytest.raises(PlanValidationError, match="'b' depends on missing task 'ghost'"):
        validate_plan(Plan(tasks=[t("a"), t("b", "ghost")]))


def test_rejects_duplicates_empty_plans_and_dropped_done_work() -> None:
    with pytest.raises(PlanValidationError, match="duplicate task id 'a'"):
        validate_plan(Plan(tasks=[t("a"), t("a")]))
    with pytest.raises(PlanValidationError, match="no tasks"):
        validate_plan(Plan(tasks=[]))
    with pytest.raises(PlanValidationError, match="completed tasks must be kept: done-1"):
        validate_plan(Plan(tasks=[t("a")]), keep_task_ids=["done-1"])


async def test_offline_plans_are_valid(settings: Settings) -> None:
    acts = AgentActivities(settings)
    out = await activity_env().run(acts.plan, PlanInput(project_id="p1", goal=GOAL))
    validate_plan(out.plan)


def _plan_out(*tasks: TaskOut) -> PlanOut:
    return PlanOut(
        summary="Launch plan",
        kind="business",
        tasks=list(tasks),
        offer=OfferOut(
            product_name="Meal Planner",
            description="Printable planner",
            price=19.0,
            currency="USD",
            unit="",
            audience="busy parents",
            region="",
            constraints=[],
        ),
        risks=["Pricing untested"],
    )


def _task_out(tid: str, *deps: str, role: str = "market-researcher") -> TaskOut:
    return TaskOut(
        id=tid,
        title=f"Task {tid}",
        role=role,
        description="Do it.",
        deliverable_kind="research",
        depends_on=list(deps),
        acceptance_criteria=["It is done"],
        risk="high" if tid == "a" else "low",
        cost_estimate_usd=0.1,
    )


async def test_invalid_llm_plan_is_reasked_with_the_error(openai_settings: Settings, fake_openai: FakeOpenAI) -> None:
    acts = AgentActivities(openai_settings)
    fake_openai.script(
        chat_completion(_plan_out(_task_out("a", "b"), _task_out("b", "a"))),  # a cycle
        chat_completion(_plan_out(_task_out("a"), _task_out("b", "a"))),
    )
    out = await activity_env().run(acts.plan, PlanInput(project_id="p1", goal=GOAL))
    assert [task.id for task in out.plan.tasks] == ["a", "b"]
    assert out.plan.offer is not None and out.plan.offer.price_usd == 19.0 and out.plan.offer.currency == "usd"
    assert out.plan.estimated_cost_usd == pytest.approx(0.2)
    first, second = fake_openai.chat_requests()
    assert first.response_format["json_schema"]["name"] == "PlanOut"
    # The catalog is part of the static prefix, so the planner can only pick real roles.
    assert "market-researcher" in first.messages[0]["content"]
    assert "dependency cycle" in second.messages[-1]["content"]


async def test_llm_plan_with_unknown_roles_fails_after_bounded_reasks(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    acts = AgentActivities(openai_settings.model_copy(update={"llm_output_retries": 1}))
    bad = _plan_out(_task_out("a", role="wizard"), _task_out("b", "ghost"))
    fake_openai.script(chat_completion(bad), chat_completion(bad))
    with pytest.raises(ApplicationError) as caught:
        await activity_env().run(acts.plan, PlanInput(project_id="p1", goal=GOAL))
    assert caught.value.type == "LLMMalformedOutput" and caught.value.non_retryable is True
    assert "unknown role 'wizard'" in caught.value.message
    assert "missing task 'ghost'" in caught.value.message
    assert len(fake_openai.chat_requests()) == 2


async def test_llm_replan_keeps_done_tasks_exactly(openai_settings: Settings, fake_openai: FakeOpenAI) -> None:
    acts = AgentActivities(openai_settings)
    done = TaskSpec(
        id="a", title="Original research", role="market-researcher", deliverable_kind="research", risk="low"
    )
    previous = Plan(tasks=[done, t("b", "a")])
    # The model rewrites the done task and adds one depending on it: the done task is kept as it was.
    fake_openai.script(chat_completion(_plan_out(_task_out("a"), _task_out("c", "a"))))
    out = await activity_env().run(
        acts.plan,
        PlanInput(project_id="p1", goal=GOAL, previous=previous, steering=["Focus on teachers"], done_task_ids=["a"]),
    )
    assert out.plan.tasks[0] == done
    assert [task.id for task in out.plan.tasks] == ["a", "c"]
    user = fake_openai.chat_requests()[0].messages[-1]["content"]
    assert "Focus on teachers" in user and "Completed tasks" in user
