"""The OpenAI provider against a fake OpenAI-compatible server over real sockets.

The `openai` client runs unmodified: these tests check the request it actually sends (model,
strict JSON schema, static prefix first), the parsed outputs, the error mapping that Temporal's
retry policy relies on, bounded re-asks of malformed output, and usage recording per call key.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError

from activities.agents import AgentActivities
from activities.llm import DeliverableOut, FileOut, IssueOut, KpiOut, QuestionsOut, ReviewOut
from activities.usage import DEFAULT_PRICES
from boardroom.settings import Settings
from domain.enums import Risk
from domain.work import InterviewInput, KpiInput, Kpis, ProduceInput, ProduceOutput, ReviewInput, TaskSpec
from tests.activities.helpers import API_KEY, GOAL, activity_env, documents, reviews, usage_rows
from tests.fakes.openai_server import (
    FakeOpenAI,
    Reply,
    api_error,
    bad_key,
    chat_completion,
    rate_limited,
    server_error,
)


def task(tid: str, title: str, role: str = "web-developer", kind: str = "code") -> TaskSpec:
    return TaskSpec(
        id=tid,
        title=title,
        role=role,
        deliverable_kind=kind,
        description=f"Build {title.lower()}.",
        acceptance_criteria=[f"{title} states the price", "Links the terms"],
        risk=Risk.medium,
    )


def deliverable(title: str, files: dict[str, str] | None = None) -> DeliverableOut:
    return DeliverableOut(
        title=title,
        summary=f"{title}: first version.",
        content_markdown=f"# {title}\n\nThe offer costs $29. [Terms](terms.html)",
        files=[FileOut(path=p, content=c) for p, c in (files or {}).items()],
    )


async def produce(acts: AgentActivities, spec: TaskSpec, *, activity_id: str = "act-1", attempt: int = 1):
    env = activity_env(activity_id=activity_id, attempt=attempt)
    return await env.run(acts.produce, ProduceInput(project_id="p1", task=spec, goal=GOAL))


async def test_request_carries_model_schema_and_static_prefix_first(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    settings = openai_settings.model_copy(update={"role_models": '{"web-developer": "gpt-4.1-mini"}'})
    acts = AgentActivities(settings)
    fake_openai.script(
        chat_completion(deliverable("Landing page", {"site/index.html": "<h1>Hi</h1>"}), model="gpt-4.1-mini"),
        chat_completion(deliverable("Pricing page"), model="gpt-4.1-mini"),
    )

    first = await produce(acts, task("landing", "Landing page"), activity_id="a-landing")
    second = await produce(acts, task("pricing-page", "Pricing page"), activity_id="a-pricing")

    one, two = fake_openai.chat_requests()
    assert one.method == "POST" and one.path == "/v1/chat/completions"
    assert one.bearer == API_KEY
    assert one.model == two.model == "gpt-4.1-mini"
    fmt = one.response_format
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "DeliverableOut"
    assert fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert set(schema["required"]) == {"title", "summary", "content_markdown", "files"}
    assert schema["additionalProperties"] is False
    # Static prefix first: the same system message for two different tasks of the same role …
    assert one.messages[0]["role"] == two.messages[0]["role"] == "system"
    assert one.messages[0]["content"] == two.messages[0]["content"]
    assert "Web Developer" in one.messages[0]["content"]
    assert "Build landing page" not in one.messages[0]["content"]
    # … and the variable part last.
    assert one.messages[-1]["role"] == "user" and "Landing page" in one.messages[-1]["content"]
    assert two.messages[-1]["role"] == "user" and "Pricing page" in two.messages[-1]["content"]
    assert "prompt_cache_key" not in one.json()  # an OpenAI-only parameter; this is another server
    # Parsed output round-trips into the claim check.
    assert isinstance(first, ProduceOutput) and first.deliverable_id != second.deliverable_id
    docs = {d.task_id: d for d in documents(settings.database_url)}
    assert docs["landing"].content.startswith("# Landing page")
    assert docs["landing"].files == {"site/index.html": "<h1>Hi</h1>"}
    assert docs["landing"].provider == "openai" and docs["landing"].version == 1
    assert first.summary == "Landing page: first version."
    assert first.usage.provider == "openai" and first.usage.model == "gpt-4.1-mini"
    await acts.aclose()
    assert acts.provider.client.is_closed()  # type: ignore[attr-defined]


async def test_model_falls_back_to_openai_model_and_reviewer_role(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    acts = AgentActivities(openai_settings)
    spec = task("landing", "Landing page")
    fake_openai.script(
        chat_completion(deliverable("Landing page")),
        chat_completion(
            ReviewOut(
                score=6.5,
                summary="Close, but the price is hidden.",
                issues=[IssueOut(severity="high", text="Show the price above the fold.")],
            )
        ),
    )
    out = await produce(acts, spec)
    review = await activity_env("act-review").run(
        acts.review, ReviewInput(project_id="p1", task=spec, deliverable_id=out.deliverable_id, pass_threshold=7.0)
    )

    produce_req, review_req = fake_openai.chat_requests()
    assert produce_req.model == review_req.model == "gpt-4o-mini"
    assert "Code Reviewer" in review_req.messages[0]["content"]
    assert "Rubric" in review_req.messages[0]["content"]
    assert "The offer costs $29" in review_req.messages[-1]["content"]  # the stored deliverable, by id
    assert review_req.response_format["json_schema"]["name"] == "ReviewOut"
    assert review.score == 6.5 and review.passed is False
    assert review.issues[0].severity == "high" and "price" in review.issues[0].text
    (row,) = reviews(openai_settings.database_url)
    assert row.id == review.review_id and row.score == 6.5 and row.passed is False and row.round == 1


async def test_interview_and_kpi_outputs_round_trip(openai_settings: Settings, fake_openai: FakeOpenAI) -> None:
    acts = AgentActivities(openai_settings)
    fake_openai.script(
        chat_completion(QuestionsOut(questions=["Who buys it?", "What price?", "What deadline?"])),
        chat_completion(
            KpiOut(
                summary="Refunds are the problem.",
                improvements=[
                    {  # type: ignore[list-item]
                        "title": "Reduce refunds",
                        "role": "customer-success-manager",
                        "description": "Fix onboarding.",
                        "deliverable_kind": "support",
                        "acceptance_criteria": ["Refund rate below 5%"],
                        "risk": "high",
                        "cost_estimate_usd": 0.2,
                    }
                ],
            )
        ),
    )
    interview = await activity_env("act-i").run(acts.interview_questions, InterviewInput(project_id="p1", goal=GOAL))
    assert [q.id for q in interview.questions] == ["q1", "q2", "q3"]
    assert interview.questions[1].text == "What price?"
    kpis = await activity_env("act-k").run(
        acts.analyze_kpis, KpiInput(project_id="p1", kpis=Kpis(refunds=3), review_number=4)
    )
    assert [t.id for t in kpis.improvements] == ["r4-reduce-refunds"]
    assert kpis.improvements[0].risk == Risk.high
    assert kpis.summary == "Refunds are the problem."


async def test_429_is_retryable_and_the_next_attempt_succeeds(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    acts = AgentActivities(openai_settings)
    spec = task("landing", "Landing page")
    fake_openai.script(rate_limited(retry_after_s=2), chat_completion(deliverable("Landing page")))

    with pytest.raises(ApplicationError) as caught:
        await produce(acts, spec, attempt=1)
    assert caught.value.type == "LLMUnavailable"
    assert caught.value.non_retryable is False
    assert caught.value.next_retry_delay == timedelta(seconds=2)
    assert "429" in caught.value.message

    out = await produce(acts, spec, attempt=2)  # Temporal's retry: same activity id, next attempt
    assert out.deliverable_id > 0
    assert len(fake_openai.chat_requests()) == 2  # max_retries=0: no hidden client-side retries
    assert len(usage_rows(openai_settings.database_url)) == 1


@pytest.mark.parametrize("reply", [server_error(), api_error(503, "overloaded", type_="server_error")])
async def test_5xx_is_retryable(openai_settings: Settings, fake_openai: FakeOpenAI, reply: Reply) -> None:
    acts = AgentActivities(openai_settings)
    fake_openai.script(reply)
    with pytest.raises(ApplicationError) as caught:
        await produce(acts, task("landing", "Landing page"))
    assert caught.value.type == "LLMUnavailable" and caught.value.non_retryable is False
    assert len(fake_openai.chat_requests()) == 1


async def test_timeout_is_retryable(openai_settings: Settings, fake_openai: FakeOpenAI) -> None:
    acts = AgentActivities(openai_settings.model_copy(update={"openai_timeout_s": 0.3}))
    slow = chat_completion(deliverable("Landing page"))
    slow.delay_s = 1.0
    fake_openai.script(slow)
    with pytest.raises(ApplicationError) as caught:
        await produce(acts, task("landing", "Landing page"))
    assert caught.value.type == "LLMUnavailable" and caught.value.non_retryable is False
    assert "timed out" in caught.value.message


async def test_401_is_non_retryable_with_a_clear_message_and_no_key(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    acts = AgentActivities(openai_settings)
    fake_openai.script(bad_key)
    with pytest.raises(ApplicationError) as caught:
        await produce(acts, task("landing", "Landing page"))
    error = caught.value
    assert error.type == "LLMAuthFailed" and error.non_retryable is True
    assert "HTTP 401" in error.message and "OPENAI_API_KEY" in error.message
    assert API_KEY not in error.message and API_KEY not in str(error)
    assert len(fake_openai.chat_requests()) == 1


@pytest.mark.parametrize(
    ("status", "expected"),
    [(400, "LLMRequestRejected"), (403, "LLMAuthFailed"), (404, "LLMRequestRejected"), (422, "LLMRequestRejected")],
)
async def test_client_errors_are_non_retryable(
    openai_settings: Settings, fake_openai: FakeOpenAI, status: int, expected: str
) -> None:
    acts = AgentActivities(openai_settings)
    fake_openai.script(api_error(status, "The model `nope` does not exist", code="model_not_found"))
    with pytest.raises(ApplicationError) as caught:
        await produce(acts, task("landing", "Landing page"))
    assert caught.value.type == expected and caught.value.non_retryable is True
    assert f"HTTP {status}" in caught.value.message
    assert "does not exist" in caught.value.message


async def test_quota_exhausted_429_is_not_retried(openai_settings: Settings, fake_openai: FakeOpenAI) -> None:
    acts = AgentActivities(openai_settings)
    fake_openai.script(api_error(429, "You exceeded your current quota", code="insufficient_quota"))
    with pytest.raises(ApplicationError) as caught:
        await produce(acts, task("landing", "Landing page"))
    assert caught.value.type == "LLMRequestRejected" and caught.value.non_retryable is True


async def test_malformed_json_is_reasked_then_fails_non_retryable(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    acts = AgentActivities(openai_settings)  # llm_output_retries=2 → 3 attempts in all
    fake_openai.script(*[chat_completion('{"title": "Landing", "summary": ', prompt_tokens=100) for _ in range(3)])
    with pytest.raises(ApplicationError) as caught:
        await produce(acts, task("landing", "Landing page"))
    assert caught.value.type == "LLMMalformedOutput" and caught.value.non_retryable is True
    assert "after 3 attempts" in caught.value.message
    requests = fake_openai.chat_requests()
    assert len(requests) == 3
    # Each re-ask carries the bad answer and the validation error, after the same static prefix.
    second = requests[1].messages
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert second[0] == requests[0].messages[0]
    assert "rejected" in second[-1]["content"] and "JSON" in second[-1]["content"]
    assert len(requests[2].messages) == 6
    # Tokens spent on the bad answers are still counted, once, under the attempt's call key.
    (row,) = usage_rows(openai_settings.database_url)
    assert row.tokens_in == 300


async def test_schema_violation_then_valid_answer_succeeds(openai_settings: Settings, fake_openai: FakeOpenAI) -> None:
    acts = AgentActivities(openai_settings)
    fake_openai.script(
        chat_completion({"title": "Landing", "summary": "x"}),  # required fields missing
        chat_completion(deliverable("Landing page")),
    )
    out = await produce(acts, task("landing", "Landing page"))
    assert out.summary == "Landing page: first version."
    requests = fake_openai.chat_requests()
    assert len(requests) == 2
    assert "content_markdown" in requests[1].messages[-1]["content"]


async def test_unsafe_file_path_is_reasked(openai_settings: Settings, fake_openai: FakeOpenAI) -> None:
    acts = AgentActivities(openai_settings.model_copy(update={"llm_output_retries": 0}))
    fake_openai.script(chat_completion(deliverable("Landing page", {"../etc/passwd": "x"})))
    with pytest.raises(ApplicationError) as caught:
        await produce(acts, task("landing", "Landing page"))
    assert caught.value.type == "LLMMalformedOutput"
    assert "must be relative" in caught.value.message
    assert len(fake_openai.chat_requests()) == 1


async def test_refusal_is_non_retryable(openai_settings: Settings, fake_openai: FakeOpenAI) -> None:
    acts = AgentActivities(openai_settings)
    fake_openai.script(chat_completion(None, refusal="I can't help with that."))
    with pytest.raises(ApplicationError) as caught:
        await produce(acts, task("landing", "Landing page"))
    assert caught.value.type == "LLMRefused" and caught.value.non_retryable is True
    assert "I can't help with that." in caught.value.message
    assert len(fake_openai.chat_requests()) == 1


async def test_usage_recorded_from_the_usage_block_with_cached_tokens(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    acts = AgentActivities(openai_settings)
    fake_openai.script(
        chat_completion(deliverable("Landing page"), prompt_tokens=2000, completion_tokens=500, cached_tokens=1536)
    )
    out = await produce(acts, task("landing", "Landing page"), activity_id="act-usage")

    price = DEFAULT_PRICES["gpt-4o-mini"]
    expected = round(((2000 - 1536) * price.input + 1536 * price.cached + 500 * price.output) / 1_000_000, 8)
    assert out.usage.tokens_in == 2000 and out.usage.tokens_out == 500 and out.usage.cached_tokens == 1536
    assert out.usage.usd == pytest.approx(expected)
    (row,) = usage_rows(openai_settings.database_url)
    assert row.call_key == "project-p1:run-1:act-usage"
    assert (row.tokens_in, row.tokens_out, row.cached_tokens) == (2000, 500, 1536)
    assert row.cost_usd == pytest.approx(expected)
    assert (row.provider, row.model, row.activity, row.phase, row.task_id) == (
        "openai",
        "gpt-4o-mini",
        "produce",
        "execution",
        "landing",
    )


async def test_missing_usage_block_is_estimated(openai_settings: Settings, fake_openai: FakeOpenAI) -> None:
    acts = AgentActivities(openai_settings)
    fake_openai.script(chat_completion(deliverable("Landing page"), usage=False))
    out = await produce(acts, task("landing", "Landing page"))
    assert out.usage.tokens_in > 0 and out.usage.tokens_out > 0 and out.usage.usd > 0


async def test_retry_with_the_same_activity_id_records_usage_once(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    acts = AgentActivities(openai_settings)
    spec = task("landing", "Landing page")
    fake_openai.script(
        chat_completion(deliverable("Landing page"), prompt_tokens=1000, completion_tokens=100),
        chat_completion(deliverable("Landing page"), prompt_tokens=1000, completion_tokens=100),
        chat_completion(deliverable("Landing page"), prompt_tokens=1000, completion_tokens=100),
    )
    first = await produce(acts, spec, activity_id="act-1", attempt=1)
    again = await produce(acts, spec, activity_id="act-1", attempt=2)  # e.g. the worker died before completing

    rows = usage_rows(openai_settings.database_url)
    assert len(rows) == 1 and rows[0].tokens_in == 1000
    # The claim check is idempotent too: the same (project, task, round) version, not a duplicate.
    assert first.deliverable_id == again.deliverable_id
    assert len(documents(openai_settings.database_url)) == 1

    await produce(acts, spec, activity_id="act-2")  # a different activity is a different call
    assert len(usage_rows(openai_settings.database_url)) == 2


async def test_revision_sends_previous_version_and_feedback_after_the_same_prefix(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    acts = AgentActivities(openai_settings)
    spec = task("landing", "Landing page")
    fake_openai.script(chat_completion(deliverable("Landing page")), chat_completion(deliverable("Landing page v2")))
    first = await produce(acts, spec)
    revised = await activity_env("act-2").run(
        acts.produce,
        ProduceInput(
            project_id="p1",
            task=spec,
            goal=GOAL,
            round=2,
            previous_deliverable_id=first.deliverable_id,
            feedback=["Show the price above the fold"],
            guidance="Keep it short",
        ),
    )
    one, two = fake_openai.chat_requests()
    assert one.messages[0] == two.messages[0]
    user = two.messages[-1]["content"]
    assert "The offer costs $29" in user  # the previous version, loaded by id from the claim check
    assert "Show the price above the fold" in user and "Keep it short" in user and "round 2" in user
    assert revised.deliverable_id != first.deliverable_id
    versions = sorted(d.version for d in documents(openai_settings.database_url))
    assert versions == [1, 2]


def test_model_choice_role_override_then_catalog_then_openai_model(settings: Settings) -> None:
    from activities.catalog import load_catalog
    from activities.llm import OpenAIProvider

    catalog = load_catalog()
    official = settings.model_copy(
        update={
            "openai_api_key": API_KEY,
            "openai_base_url": "https://api.openai.com/v1",
            "openai_model": "gpt-4o-mini",
            "role_models": '{"copywriter": "gpt-4.1"}',
        }
    )
    provider = OpenAIProvider(official, catalog)
    assert provider.model_for(catalog.role("copywriter")) == "gpt-4.1"
    assert provider.model_for(catalog.role("legal-counsel")) == "gpt-4o"  # catalog default
    assert provider.model_for(catalog.role("web-developer")) == "gpt-4o-mini"  # no catalog default
    # Another server names its models differently: catalog defaults do not apply there.
    other = OpenAIProvider(official.model_copy(update={"openai_base_url": "http://127.0.0.1:9/v1"}), catalog)
    assert other.model_for(catalog.role("legal-counsel")) == "gpt-4o-mini"
    assert other.model_for(catalog.role("copywriter")) == "gpt-4.1"


def test_bad_role_models_and_missing_key_fail_at_construction(settings: Settings) -> None:
    from domain.errors import ConfigError

    openai_on = settings.model_copy(update={"agent_provider": "openai", "openai_api_key": API_KEY})
    with pytest.raises(ConfigError, match="unknown roles: wizard"):
        AgentActivities(openai_on.model_copy(update={"role_models": '{"wizard": "gpt-4o"}'}))
    with pytest.raises(ConfigError, match="BOARDROOM_ROLE_MODELS"):
        AgentActivities(openai_on.model_copy(update={"role_models": "[1]"}))
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        AgentActivities(openai_on.model_copy(update={"openai_api_key": None}))


async def test_a_body_that_is_not_a_chat_completion_is_reasked(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    acts = AgentActivities(openai_settings.model_copy(update={"llm_output_retries": 1}))
    fake_openai.script(Reply(200, {"unexpected": True}), chat_completion(deliverable("Landing page")))
    out = await produce(acts, task("landing", "Landing page"))
    assert out.summary == "Landing page: first version."
    assert len(fake_openai.chat_requests()) == 2
