"""Prices, cost and the project budget: a paid call never starts once the budget is spent."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from activities.agents import AgentActivities
from activities.llm import DeliverableOut
from activities.usage import DEFAULT_PRICES, Price, PriceTable, parse_prices
from boardroom.settings import Settings
from domain.errors import ConfigError
from domain.work import ProduceInput, TaskSpec
from tests.activities.helpers import GOAL, activity_env, add_project, add_usage, usage_rows
from tests.fakes.openai_server import FakeOpenAI, chat_completion

TASK = TaskSpec(
    id="landing", title="Landing page", role="web-developer", deliverable_kind="code", acceptance_criteria=["Price"]
)
ANSWER = DeliverableOut(title="Landing page", summary="Done.", content_markdown="# Landing page", files=[])


async def produce(acts: AgentActivities, activity_id: str) -> None:
    await activity_env(activity_id).run(acts.produce, ProduceInput(project_id="p1", task=TASK, goal=GOAL))


async def test_spent_budget_stops_the_next_paid_call_before_any_request(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    add_project(openai_settings.database_url, budget_usd=0.001)
    acts = AgentActivities(openai_settings)
    # gpt-4o-mini: 10,000 input tokens cost $0.0015 — more than the whole budget.
    fake_openai.script(chat_completion(ANSWER, prompt_tokens=10_000, completion_tokens=100))
    await produce(acts, "act-1")  # spend 0 < budget: allowed
    assert len(fake_openai.chat_requests()) == 1

    with pytest.raises(ApplicationError) as caught:
        await produce(acts, "act-2")
    error = caught.value
    assert error.type == "BudgetExceeded" and error.non_retryable is True
    assert "has spent $0.0016 of its $0.0010 budget" in error.message
    spent, budget = error.details
    assert spent == pytest.approx(0.00156) and budget == 0.001
    assert len(fake_openai.chat_requests()) == 1  # no HTTP request was made for the refused call
    assert fake_openai.pending == 0


async def test_budget_counts_every_activity_of_the_project(openai_settings: Settings, fake_openai: FakeOpenAI) -> None:
    add_project(openai_settings.database_url, budget_usd=0.05)
    add_usage(openai_settings.database_url, 0.03, call_key="a:1")
    add_usage(openai_settings.database_url, 0.02, call_key="b:1")
    add_usage(openai_settings.database_url, 5.00, project_id="other", call_key="c:1")
    acts = AgentActivities(openai_settings)
    with pytest.raises(ApplicationError) as caught:
        await produce(acts, "act-1")
    assert caught.value.type == "BudgetExceeded"
    assert "spent $0.0500 of its $0.0500 budget" in caught.value.message
    assert fake_openai.chat_requests() == []


async def test_a_reasking_activity_stops_when_its_own_spend_reaches_the_budget(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    add_project(openai_settings.database_url, budget_usd=0.001)
    acts = AgentActivities(openai_settings)
    fake_openai.script(chat_completion("{not json", prompt_tokens=10_000), chat_completion(ANSWER))
    with pytest.raises(ApplicationError) as caught:
        await produce(acts, "act-1")
    assert caught.value.type == "BudgetExceeded"
    assert len(fake_openai.chat_requests()) == 1
    (row,) = usage_rows(openai_settings.database_url)
    assert row.cost_usd > 0.001


async def test_the_retried_attempt_does_not_count_its_earlier_self(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    add_project(openai_settings.database_url, budget_usd=0.001)
    # gpt-4o-mini: 5,000 input tokens cost $0.00075 — within budget once, not twice.
    fake_openai.script(
        chat_completion(ANSWER, prompt_tokens=5_000, completion_tokens=0),
        chat_completion(ANSWER, prompt_tokens=5_000, completion_tokens=0),
    )
    acts = AgentActivities(openai_settings)
    await produce(acts, "act-1")
    await produce(acts, "act-1")  # same call key: its own earlier record is replaced, not added
    assert len(fake_openai.chat_requests()) == 2
    assert len(usage_rows(openai_settings.database_url)) == 1


async def test_no_project_row_means_no_budget_check(openai_settings: Settings, fake_openai: FakeOpenAI) -> None:
    add_usage(openai_settings.database_url, 1000.0)
    fake_openai.script(chat_completion(ANSWER))
    await produce(AgentActivities(openai_settings), "act-1")
    assert len(fake_openai.chat_requests()) == 1


async def test_free_models_and_the_offline_provider_are_never_stopped(
    settings: Settings, openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    add_project(settings.database_url, budget_usd=0.01)
    add_usage(settings.database_url, 1.0)
    await produce(AgentActivities(settings), "act-offline")  # offline: price 0, no budget check
    local = openai_settings.model_copy(update={"openai_model": "llama-3-local"})  # unknown → free
    fake_openai.script(chat_completion(ANSWER, model="llama-3-local"))
    await produce(AgentActivities(local), "act-local")
    assert fake_openai.chat_requests()[0].model == "llama-3-local"


async def test_price_override_makes_a_model_paid(openai_settings: Settings, fake_openai: FakeOpenAI) -> None:
    add_project(openai_settings.database_url, budget_usd=0.01)
    add_usage(openai_settings.database_url, 0.01)
    local = openai_settings.model_copy(
        update={"openai_model": "llama-3-local", "prices": '{"llama-3-local": [1.0, 2.0]}'}
    )
    with pytest.raises(ApplicationError) as caught:
        await produce(AgentActivities(local), "act-1")
    assert caught.value.type == "BudgetExceeded"
    assert fake_openai.chat_requests() == []


def test_cost_uses_cached_and_output_prices() -> None:
    table = PriceTable()
    p = DEFAULT_PRICES["gpt-4o"]
    assert table.cost("gpt-4o", 1_000_000, 0) == pytest.approx(p.input)
    assert table.cost("gpt-4o", 1_000_000, 0, cached_tokens=1_000_000) == pytest.approx(p.cached)
    assert table.cost("gpt-4o", 0, 1_000_000) == pytest.approx(p.output)
    assert table.cost("offline", 10**9, 10**9) == 0.0


def test_dated_model_names_are_priced_as_their_family() -> None:
    table = PriceTable()
    assert table.price("gpt-4o-mini-2024-07-18") == DEFAULT_PRICES["gpt-4o-mini"]
    assert table.price("gpt-4o-2024-08-06") == DEFAULT_PRICES["gpt-4o"]
    assert not table.price("mystery-model").paid


def test_price_overrides_parse_and_validate() -> None:
    assert parse_prices('{"m": [1, 2, 0.5], "n": [3, 4]}') == {"m": Price(1, 2, 0.5), "n": Price(3, 4, 3)}
    assert parse_prices("") == {}
    table = PriceTable(parse_prices('{"gpt-4o": [0, 0, 0]}'))
    assert not table.price("gpt-4o").paid
    for bad in ("not json", "[1, 2]", '{"m": [1]}', '{"m": [-1, 2]}', '{"m": "cheap"}'):
        with pytest.raises(ConfigError, match="BOARDROOM_PRICES"):
            parse_prices(bad)


def test_bad_price_setting_fails_at_construction(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="BOARDROOM_PRICES"):
        AgentActivities(settings.model_copy(update={"prices": "{oops"}))
