"""Launch integration activities against local fakes that speak the Stripe, GitHub and Slack
wire protocols; the client libraries run unmodified."""

from __future__ import annotations

import dataclasses
import socket
from datetime import UTC, datetime

import pytest
from sqlmodel import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.integrations import (
    AUTH_ERROR,
    BAD_REQUEST,
    LIVE_KEY_REFUSED,
    UNAVAILABLE,
    IntegrationActivities,
    SlackNotice,
    git_blob_sha,
    repo_name,
)
from boardroom.settings import Settings
from domain.launch import IntegrationResult, PublishInput, ValidateLaunchInput
from domain.work import Offer
from store.db import session_scope
from store.tables import Document, IntegrationRecord
from tests.fakes.github_server import FakeGitHub, blob_sha
from tests.fakes.slack_server import FakeSlack
from tests.fakes.stripe_server import FakeStripe

PROJECT = "p-7f3a"

# stripe's HTTPXClient hands httpx a bytes `data=`; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


def activity_env(run_id: str = "run-0001", activity_id: str = "7") -> ActivityEnvironment:
    """An ActivityEnvironment whose info names one workflow run and one activity."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        ActivityEnvironment.default_info(),
        workflow_id=f"project-{PROJECT}",
        workflow_run_id=run_id,
        activity_id=activity_id,
    )
    return env


def acts(settings: Settings) -> IntegrationActivities:
    return IntegrationActivities(settings, github_write_interval_s=0)


def add_documents(db_url: str) -> list[int]:
    with session_scope(db_url) as session:
        docs = [
            Document(
                project_id=PROJECT,
                task_id="t1-landing",
                title="Landing page",
                content="# Landing page\n\nBuy the thing.\n",
                files={"site/index.html": "<h1>Hello</h1>\n", "../escape.txt": "kept inside\n"},
                author_role="writer",
                created_at=datetime.now(UTC),
            ),
            Document(
                project_id=PROJECT,
                task_id="t2-pricing",
                title="Pricing",
                content="Pricing notes",
                created_at=datetime.now(UTC),
            ),
        ]
        session.add_all(docs)
        session.commit()
        return [d.id for d in docs if d.id is not None]


def publish_input(deliverable_ids: list[int] | None = None, **kw: object) -> PublishInput:
    data = {
        "project_id": PROJECT,
        "name": "Sourdough Club!",
        "goal": "Sell a monthly sourdough\nstarter kit to home bakers.",
        "offer": Offer(product_name="Starter kit", description="Everything to start", price_usd=29.5),
        "deliverable_ids": deliverable_ids or [],
        "follow_ups": ["Set up the FAQ page", "Write the onboarding email"],
    } | kw
    return PublishInput.model_validate(data)


def records(db_url: str) -> dict[str, IntegrationRecord]:
    with session_scope(db_url) as session:
        rows = session.exec(select(IntegrationRecord).where(IntegrationRecord.project_id == PROJECT)).all()
        return {row.name: row for row in rows}


# --- Stripe ----------------------------------------------------------------------------------


async def test_stripe_offer_sends_form_fields_keys_and_metadata(
    wired_settings: Settings, fake_stripe: FakeStripe, db_url: str
) -> None:
    result = await activity_env().run(acts(wired_settings).create_stripe_offer, publish_input())

    product_req, price_req, link_req = fake_stripe.calls("POST")
    assert [r.path for r in (product_req, price_req, link_req)] == [
        "/v1/products",
        "/v1/prices",
        "/v1/payment_links",
    ]
    assert [r.header("Idempotency-Key") for r in (product_req, price_req, link_req)] == [
        "boardroom-run-0001-7-product",
        "boardroom-run-0001-7-price",
        "boardroom-run-0001-7-payment_link",
    ]
    assert all(r.header("Content-Type") == "application/x-www-form-urlencoded" for r in fake_stripe.requests)
    product = fake_stripe.form(product_req)
    assert product == {
        "name": "Starter kit",
        "description": "Everything to start",
        "metadata": {"project_id": PROJECT},
    }
    price = fake_stripe.form(price_req)
    assert price["unit_amount"] == "2950"
    assert price["currency"] == "usd"
    assert price["product"] in fake_stripe.products
    assert price["metadata"] == {"project_id": PROJECT}
    link = fake_stripe.form(link_req)
    assert link["line_items"] == [{"price": next(iter(fake_stripe.prices)), "quantity": "1"}]
    assert link["metadata"] == {"project_id": PROJECT}
    assert link["payment_intent_data"] == {"metadata": {"project_id": PROJECT}}

    (plink,) = fake_stripe.payment_links.values()
    assert result.status == "done"
    assert result.url == plink["url"]
    assert result.details["payment_link"] == plink["id"]
    assert result.details["livemode"] == "false"
    rec = records(db_url)["stripe"]
    assert (rec.status, rec.url, rec.details) == ("done", result.url, result.details)


async def test_stripe_crash_and_retry_reuses_keys_and_creates_one_of_each(
    wired_settings: Settings, fake_stripe: FakeStripe
) -> None:
    env = activity_env()
    # First attempt: the product is created, then Stripe fails on the price (the "crash").
    fake_stripe.fail_next(500, {"error": {"type": "api_error", "message": "boom"}}, path="/v1/prices")
    with pytest.raises(ApplicationError) as info:
        await env.run(acts(wired_settings).create_stripe_offer, publish_input())
    assert not info.value.non_retryable
    assert info.value.type == UNAVAILABLE

    # The retry (same run id and activity id) replays the product and finishes the rest.
    first = await env.run(acts(wired_settings).create_stripe_offer, publish_input())
    again = await env.run(acts(wired_settings).create_stripe_offer, publish_input())
    assert first == again
    assert (len(fake_stripe.products), len(fake_stripe.prices), len(fake_stripe.payment_links)) == (1, 1, 1)
    product_keys = {r.header("Idempotency-Key") for r in fake_stripe.calls("POST", "/v1/products")}
    assert product_keys == {"boardroom-run-0001-7-product"}
    assert len(fake_stripe.calls("POST", "/v1/products")) == 3

    # Another workflow run is another launch: new keys, new objects.
    await activity_env(run_id="run-0002").run(acts(wired_settings).create_stripe_offer, publish_input())
    assert len(fake_stripe.products) == 2


async def test_stripe_refuses_a_live_key_outside_production(
    wired_settings: Settings, fake_stripe: FakeStripe, db_url: str
) -> None:
    live = wired_settings.model_copy(update={"stripe_api_key": "sk_live_123"})
    with pytest.raises(ApplicationError) as info:
        await activity_env().run(acts(live).create_stripe_offer, publish_input())
    assert info.value.non_retryable
    assert info.value.type == LIVE_KEY_REFUSED
    assert fake_stripe.requests == []
    assert records(db_url)["stripe"].status == "failed"


async def test_stripe_errors_are_classified(wired_settings: Settings, fake_stripe: FakeStripe) -> None:
    wrong = wired_settings.model_copy(update={"stripe_api_key": "sk_test_wrong"})
    with pytest.raises(ApplicationError) as info:
        await activity_env().run(acts(wrong).create_stripe_offer, publish_input())
    assert (info.value.non_retryable, info.value.type) == (True, AUTH_ERROR)
    assert "sk_test_wrong" not in str(info.value)

    fake_stripe.fail_next(503, {"error": {"type": "api_error", "message": "unavailable"}})
    with pytest.raises(ApplicationError) as info:
        await activity_env(run_id="run-2").run(acts(wired_settings).create_stripe_offer, publish_input())
    assert (info.value.non_retryable, info.value.type) == (False, UNAVAILABLE)

    fake_stripe.fail_next(400, {"error": {"type": "invalid_request_error", "message": "bad"}})
    with pytest.raises(ApplicationError) as info:
        await activity_env(run_id="run-3").run(acts(wired_settings).create_stripe_offer, publish_input())
    assert (info.value.non_retryable, info.value.type) == (True, BAD_REQUEST)


async def test_stripe_without_offer_is_skipped(wired_settings: Settings, fake_stripe: FakeStripe) -> None:
    result = await activity_env().run(acts(wired_settings).create_stripe_offer, publish_input(offer=None))
    assert (result.status, result.reason) == ("skipped", "the plan has no offer to sell")
    assert fake_stripe.requests == []


# --- GitHub ----------------------------------------------------------------------------------


async def test_github_publishes_repo_files_and_issues_idempotently(
    wired_settings: Settings, fake_github: FakeGitHub, db_url: str
) -> None:
    ids = add_documents(db_url)
    data = publish_input(ids)
    result = await activity_env().run(acts(wired_settings).publish_github, data)

    name = repo_name("Sourdough Club!", PROJECT)
    assert name == f"sourdough-club-{PROJECT}"
    full = f"ceo-bot/{name}"
    assert fake_github.calls("POST", "/user/repos")[0].json()["private"] is True
    assert set(fake_github.files[full]) == {
        "README.md",
        "deliverables/t1-landing.md",
        "docs/index.html",  # the website (GitHub Pages serves docs/), not repeated under deliverables/
        "deliverables/t1-landing/escape.txt",
        "deliverables/t2-pricing.md",
    }
    readme = fake_github.files[full]["README.md"].decode()
    assert "# Sourdough Club!" in readme and "[Landing page](deliverables/t1-landing.md)" in readme
    assert fake_github.files[full]["deliverables/t2-pricing.md"] == b"Pricing notes\n"
    assert [i["title"] for i in fake_github.issues[full]] == ["Set up the FAQ page", "Write the onboarding email"]
    assert result.status == "done"
    assert result.url == f"{fake_github.html_base}/{full}"
    assert result.details["repo"] == full
    assert result.details["project_id"] == PROJECT
    assert records(db_url)["github"].url == result.url
    assert all(r.header("Authorization") == "token ghp_boardroom" for r in fake_github.requests)

    # A re-run (a retry after a crash, or a replayed launch) creates nothing twice.
    commits = len(fake_github.commits[full])
    fake_github.issues[full][0]["state"] = "closed"
    rerun = await activity_env(run_id="run-0002").run(acts(wired_settings).publish_github, data)
    assert len(fake_github.calls("POST", "/user/repos")) == 1
    assert len(fake_github.commits[full]) == commits
    assert len(fake_github.issues[full]) == 2
    assert rerun.details["files_written"] == "0"
    assert rerun.details["issues_opened"] == "0"

    # A changed deliverable is an update of the existing file (its sha sent along).
    with session_scope(db_url) as session:
        doc = session.get(Document, ids[1])
        assert doc is not None
        doc.content = "Pricing notes, revised"
        session.add(doc)
        session.commit()
    await activity_env(run_id="run-0003").run(acts(wired_settings).publish_github, data)
    assert len(fake_github.commits[full]) == commits + 1
    put = fake_github.calls("PUT", rf"/repos/{full}/contents/deliverables/t2-pricing\.md")[-1].json()
    assert put["sha"] == blob_sha(b"Pricing notes\n") == git_blob_sha(b"Pricing notes\n")


async def test_github_registers_the_issues_webhook_once_when_reachable(
    wired_settings: Settings, fake_github: FakeGitHub, db_url: str
) -> None:
    local = await activity_env().run(acts(wired_settings).publish_github, publish_input())
    assert local.details["webhook"] == "not registered: BOARDROOM_PUBLIC_URL is not reachable from GitHub"

    public = wired_settings.model_copy(update={"public_url": "https://boardroom.example.com/"})
    for run in ("run-2", "run-3"):
        result = await activity_env(run_id=run).run(acts(public).publish_github, publish_input())
        assert result.details["webhook"] == "registered: https://boardroom.example.com/webhooks/github"
    (hook,) = fake_github.hooks[result.details["repo"]]
    assert hook["events"] == ["issues"]
    assert hook["config"] == {
        "url": "https://boardroom.example.com/webhooks/github",
        "content_type": "json",
        "secret": "github-test-secret",
        "insecure_ssl": "0",
    }


async def test_github_repo_goes_under_the_org(wired_settings: Settings, fake_github: FakeGitHub, db_url: str) -> None:
    org = wired_settings.model_copy(update={"github_org": "acme"})
    result = await activity_env().run(acts(org).publish_github, publish_input(follow_ups=[]))
    assert len(fake_github.calls("POST", "/orgs/acme/repos")) == 1
    assert result.details["repo"] == f"acme/{repo_name('Sourdough Club!', PROJECT)}"
    assert fake_github.calls("GET", r"/repos/acme/.*/issues") == []


async def test_github_bad_token_is_non_retryable_and_recorded(
    wired_settings: Settings, fake_github: FakeGitHub, db_url: str
) -> None:
    wrong = wired_settings.model_copy(update={"github_token": "ghp_wrong"})
    with pytest.raises(ApplicationError) as info:
        await activity_env().run(acts(wrong).publish_github, publish_input())
    assert (info.value.non_retryable, info.value.type) == (True, AUTH_ERROR)
    assert records(db_url)["github"].status == "failed"

    fake_github.fail_next(502, {"message": "Bad Gateway"})
    with pytest.raises(ApplicationError) as info:
        await activity_env().run(acts(wired_settings).publish_github, publish_input())
    assert (info.value.non_retryable, info.value.type) == (False, UNAVAILABLE)


async def test_github_unknown_deliverable_is_a_bad_request(wired_settings: Settings, db_url: str) -> None:
    with pytest.raises(ApplicationError) as info:
        await activity_env().run(acts(wired_settings).publish_github, publish_input([424242]))
    assert (info.value.non_retryable, info.value.type) == (True, BAD_REQUEST)


# --- Slack -----------------------------------------------------------------------------------


async def test_slack_announces_once_with_links(
    wired_settings: Settings, fake_slack: FakeSlack, fake_stripe: FakeStripe, db_url: str
) -> None:
    a = acts(wired_settings)
    stripe_result = await activity_env().run(a.create_stripe_offer, publish_input())
    result = await activity_env().run(a.announce_slack, publish_input())

    (call,) = fake_slack.calls("POST", "/api/chat.postMessage")
    assert call.header("Authorization") == "Bearer xoxb-boardroom"
    (message,) = fake_slack.messages
    assert message["channel"] == "#launches"
    assert "*Sourdough Club!* is live" in message["text"]
    assert f"Buy: <{stripe_result.url}>" in message["text"]
    assert result.status == "done"
    assert result.details["ts"] == message["ts"]
    assert records(db_url)["slack"].details == result.details

    again = await activity_env(run_id="run-2").run(a.announce_slack, publish_input())
    assert again == result
    assert len(fake_slack.messages) == 1


async def test_slack_errors_and_notifications(wired_settings: Settings, fake_slack: FakeSlack) -> None:
    unknown = wired_settings.model_copy(update={"slack_channel": "#nowhere"})
    with pytest.raises(ApplicationError) as info:
        await activity_env().run(acts(unknown).announce_slack, publish_input())
    assert (info.value.non_retryable, info.value.type) == (True, BAD_REQUEST)

    wrong = wired_settings.model_copy(update={"slack_bot_token": "xoxb-wrong"})
    with pytest.raises(ApplicationError) as info:
        await activity_env().run(acts(wrong).notify_slack, SlackNotice(project_id=PROJECT, text="hi"))
    assert (info.value.non_retryable, info.value.type) == (True, AUTH_ERROR)

    notice = SlackNotice(project_id=PROJECT, text="Plan approved", phase="execution", url="http://x/p")
    result = await activity_env().run(acts(wired_settings).notify_slack, notice)
    assert result.status == "done"
    assert fake_slack.messages[-1]["text"] == "*execution* · Plan approved\n<http://x/p>"


# --- without credentials ---------------------------------------------------------------------


async def test_without_credentials_each_integration_is_skipped_and_recorded(settings: Settings, db_url: str) -> None:
    """…except the repository: without GITHUB_TOKEN it is a local git repository (test_publish.py)."""
    a = acts(settings)
    env = activity_env()
    github = await env.run(a.publish_github, publish_input())
    stripe_ = await env.run(a.create_stripe_offer, publish_input())
    slack = await env.run(a.announce_slack, publish_input())
    notice = await env.run(a.notify_slack, SlackNotice(project_id=PROJECT, text="hello"))

    assert github.status == "local" and github.reason.startswith("GITHUB_TOKEN is not set: published to the local")
    assert (stripe_.status, stripe_.reason) == ("skipped", "STRIPE_API_KEY is not set")
    assert (slack.status, slack.reason) == ("skipped", "SLACK_BOT_TOKEN is not set")
    assert notice.status == "skipped"
    saved = records(db_url)
    assert {name: (r.status, r.reason) for name, r in saved.items()} == {
        "github": ("local", github.reason),
        "stripe": ("skipped", "STRIPE_API_KEY is not set"),
        "slack": ("skipped", "SLACK_BOT_TOKEN is not set"),
    }
    validated = await env.run(
        a.validate_launch, ValidateLaunchInput(project_id=PROJECT, results=[github, stripe_, slack])
    )
    assert validated == [github, stripe_, slack]


# --- validation ------------------------------------------------------------------------------


async def test_validate_launch_marks_what_is_not_live(
    wired_settings: Settings, fake_github: FakeGitHub, fake_stripe: FakeStripe, db_url: str
) -> None:
    a = acts(wired_settings)
    data = publish_input(add_documents(db_url))
    results = [
        await activity_env().run(a.publish_github, data),
        await activity_env().run(a.create_stripe_offer, data),
        await activity_env().run(a.announce_slack, data),
    ]
    check = ValidateLaunchInput(project_id=PROJECT, results=results)
    assert await activity_env().run(a.validate_launch, check) == results

    full = results[0].details["repo"]
    del fake_github.files[full]["deliverables/t2-pricing.md"]
    next(iter(fake_stripe.payment_links.values()))["active"] = False
    github, stripe_, slack = await activity_env().run(a.validate_launch, check)
    assert (github.status, github.reason) == ("failed", f"missing files in {full}: deliverables/t2-pricing.md")
    assert stripe_.status == "failed" and "is not active" in stripe_.reason
    assert slack == results[2]
    saved = records(db_url)
    assert saved["github"].status == saved["stripe"].status == "failed"

    gone = IntegrationResult(name="stripe", status="done", details={"payment_link": "plink_nope"})
    (checked,) = await activity_env().run(a.validate_launch, ValidateLaunchInput(project_id=PROJECT, results=[gone]))
    assert (checked.status, checked.reason) == ("failed", "payment link plink_nope not found")


async def test_network_failures_are_retryable(wired_settings: Settings, db_url: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{sock.getsockname()[1]}"
    down = wired_settings.model_copy(
        update={"stripe_api_base": nowhere, "github_api_url": nowhere, "slack_api_url": nowhere + "/api"}
    )
    a = acts(down)
    for fn in (a.create_stripe_offer, a.publish_github, a.announce_slack):
        with pytest.raises(ApplicationError) as info:
            await activity_env().run(fn, publish_input())
        assert (info.value.non_retryable, info.value.type) == (False, UNAVAILABLE), fn
    # Transient failures are retried by Temporal, not recorded as the outcome.
    assert records(db_url) == {}


def test_activities_lists_the_bound_methods(settings: Settings) -> None:
    a = IntegrationActivities(settings)
    names = [fn.__temporal_activity_definition.name for fn in a.activities()]  # type: ignore[attr-defined]
    assert names == [
        "publish_github",
        "finalize_site",
        "create_stripe_offer",
        "announce_slack",
        "validate_launch",
        "notify_slack",
        "compliance_review",
    ]
