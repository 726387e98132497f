"""Signed webhooks with bad values, through the whole app (middleware, routers) against a real
Temporal dev server: amounts that are not finite, negative or absurd, 100k nested `[`, lone
surrogates — each a 400 with a reason, nothing stored and no signal sent. A value that reaches a
signal is checked before the answer says it was routed (an infinite amount used to be answered
`routed: true` and then dropped by the worker)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from temporalio.common import RetryPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from boardroom.settings import Settings
from tests.api.conftest import running_app
from tests.integrations.project_stub import RecordingProjectWorkflow
from tests.integrations.test_webhooks import (
    Live,
    add_github_record,
    add_project,
    github_event,
    github_headers,
    stored,
    stripe_event,
    stripe_headers,
)
from workflows.ids import project_workflow_id

pytestmark = pytest.mark.timeout(120)


@dataclass
class App:
    live: Live
    http: httpx.AsyncClient


@pytest.fixture
async def app(dev_env: WorkflowEnvironment, settings: Settings, task_queue: str) -> AsyncIterator[App]:
    """The real app (create_app) on the dev server, and a stand-in project workflow to signal."""
    project_id = f"p{uuid.uuid4().hex[:10]}"
    add_project(settings.database_url, project_id)
    live_settings = settings.model_copy(
        update={
            "temporal_address": dev_env.client.service_client.config.target_host,
            "temporal_namespace": dev_env.client.namespace,
            "task_queue": task_queue,
            "public_url": "http://testserver",
        }
    )
    async with Worker(dev_env.client, task_queue=task_queue, workflows=[RecordingProjectWorkflow]):
        handle = await dev_env.client.start_workflow(
            RecordingProjectWorkflow.run,
            id=project_workflow_id(project_id),
            task_queue=task_queue,
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
        try:
            async with running_app(live_settings) as (_, http):
                yield App(Live(project_id, handle, http), http)
        finally:
            await handle.terminate("test over")


def raw_stripe(project_id: str, kind: str, amount_field: str, amount: str) -> bytes:
    """A Stripe event whose amount is written verbatim (NaN, Infinity, 1e309 are not JSON numbers
    Python's json would write)."""
    body = json.loads(stripe_event(project_id, kind=kind, id="obj_1"))
    body["data"]["object"][amount_field] = "__AMOUNT__"
    return json.dumps(body).replace('"__AMOUNT__"', amount).encode()


BAD_AMOUNTS = ["NaN", "Infinity", "-Infinity", "1e309", "1e308", "-100", "2950.5", '"2950"', "true", "100000001"]


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
async def test_bad_stripe_amounts_are_400_and_store_nothing(app: App, settings: Settings, amount: str) -> None:
    for kind, field in (("charge.refunded", "amount_refunded"), ("checkout.session.completed", "amount_total")):
        payload = raw_stripe(app.live.project_id, kind, field, amount)
        resp = await app.http.post("/webhooks/stripe", content=payload, headers=stripe_headers(payload))
        assert resp.status_code == 400, (kind, amount, resp.text)
        assert resp.json()["detail"].startswith("malformed Stripe event")
        assert field in resp.json()["detail"] or "amount" in resp.json()["detail"]
    assert stored(settings.database_url) == []
    assert await app.live.signals() == 0


async def test_good_amounts_still_count(app: App) -> None:
    for kind, field, amount in (
        ("charge.refunded", "amount_refunded", "1000"),
        ("checkout.session.completed", "amount_total", "2950.0"),
        ("checkout.session.completed", "amount_total", "0"),
    ):
        payload = raw_stripe(app.live.project_id, kind, field, amount)
        resp = await app.http.post("/webhooks/stripe", content=payload, headers=stripe_headers(payload))
        assert (resp.status_code, resp.json()["status"], resp.json()["routed"]) == (200, "accepted", True), resp.text
    events = await app.live.events(3)
    assert [(e.kind, e.amount_usd) for e in events] == [("refund", 10.0), ("payment", 29.5), ("payment", 0.0)]


async def test_hostile_github_bodies_are_400(app: App, settings: Settings) -> None:
    add_github_record(settings.database_url, app.live.project_id)
    nested = b"[" * 100_000
    surrogate = github_event().replace(b"Broken checkout link", b"Broken \\ud800 link")
    long_repo = json.dumps({**json.loads(github_event()), "repository": {"full_name": "a/" + "b" * 300}}).encode()
    for body in (nested, surrogate, long_repo):
        resp = await app.http.post("/webhooks/github", content=body, headers=github_headers(body))
        assert resp.status_code == 400, resp.text
        assert resp.json()["detail"].startswith("malformed GitHub event")
    form = b"payload=" + b"%5B" * 100_000
    resp = await app.http.post(
        "/webhooks/github",
        content=form,
        headers=github_headers(form) | {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 400
    assert stored(settings.database_url) == []
    assert await app.live.signals() == 0


async def test_long_issue_titles_reach_the_workflow_bounded(app: App, settings: Settings) -> None:
    add_github_record(settings.database_url, app.live.project_id)
    body = json.loads(github_event())
    body["issue"]["title"] = "Refund me " * 2000
    payload = json.dumps(body).encode()
    resp = await app.http.post("/webhooks/github", content=payload, headers=github_headers(payload, delivery="d-9"))
    assert (resp.status_code, resp.json()["routed"]) == (200, True)
    (event,) = await app.live.events(1)
    assert len(event.summary) == 500 and event.summary.startswith("acme/sourdough-p1#3 opened: Refund me")
    (row,) = stored(settings.database_url)
    assert row.summary == event.summary
