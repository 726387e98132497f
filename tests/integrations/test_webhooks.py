"""Stripe and GitHub webhooks through the real router, a real database and a real Temporal dev
server: signatures verified, deliveries deduplicated, events signalled to the project workflow."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
import stripe
from fastapi import FastAPI
from sqlmodel import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.common import RetryPolicy
from temporalio.service import RetryConfig
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.routers import webhooks
from boardroom.client import data_converter
from boardroom.settings import Settings
from domain.project import BusinessEvent
from store.db import get_engine, session_scope
from store.tables import BusinessEventRecord, IntegrationRecord, Project
from tests.integrations.project_stub import RecordingProjectWorkflow
from workflows.ids import project_workflow_id


def make_app(settings: Settings, client: Client) -> FastAPI:
    app = FastAPI()
    app.include_router(webhooks.router)
    app.state.settings = settings
    app.state.engine = get_engine(settings.database_url)
    app.state.temporal = client
    return app


def add_project(db_url: str, project_id: str) -> None:
    now = datetime.now(UTC)
    with session_scope(db_url) as session:
        session.add(
            Project(
                id=project_id,
                name="Sourdough Club",
                goal="Sell starter kits",
                workflow_id=project_workflow_id(project_id),
                created_at=now,
                updated_at=now,
            )
        )
        session.commit()


def stored(db_url: str) -> list[BusinessEventRecord]:
    with session_scope(db_url) as session:
        return list(session.exec(select(BusinessEventRecord)).all())


def stripe_event(project_id: str | None, *, kind: str = "checkout.session.completed", **obj: object) -> bytes:
    metadata = {"project_id": project_id} if project_id else {}
    body = {
        "id": f"evt_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "type": kind,
        "data": {
            "object": {
                "id": "cs_test_1",
                "object": "checkout.session",
                "amount_total": 2950,
                "currency": "usd",
                "payment_status": "paid",
                "metadata": metadata,
                **obj,
            }
        },
    }
    return json.dumps(body).encode()


def stripe_headers(payload: bytes, secret: str = "whsec_test", timestamp: int | None = None) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(payload.decode(), secret, timestamp=timestamp)
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


def github_event(action: str = "opened", full_name: str = "acme/sourdough-p1", number: int = 3) -> bytes:
    body = {
        "action": action,
        "issue": {"number": number, "title": "Broken checkout link", "state": "open"},
        "repository": {
            "name": full_name.split("/")[1],
            "full_name": full_name,
            "html_url": f"https://github.com/{full_name}",
        },
    }
    return json.dumps(body).encode()


def github_headers(
    payload: bytes, *, secret: str = "github-test-secret", event: str = "issues", delivery: str | None = None
) -> dict[str, str]:
    digest = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    return {
        "X-Hub-Signature-256": f"sha256={digest}",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "Content-Type": "application/json",
    }


@dataclass
class Live:
    """A running stand-in project workflow and an HTTP client on the webhook router."""

    project_id: str
    handle: WorkflowHandle[RecordingProjectWorkflow, None]
    http: httpx.AsyncClient

    async def events(self, count: int) -> list[BusinessEvent]:
        for _ in range(100):
            events = await self.handle.query(RecordingProjectWorkflow.recorded)
            if len(events) >= count:
                return events
            await asyncio.sleep(0.05)
        raise AssertionError(f"expected {count} business events, got {events}")

    async def signals(self) -> int:
        history = await self.handle.fetch_history()
        return sum(1 for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)


@pytest.fixture
async def live(dev_env: WorkflowEnvironment, settings: Settings, task_queue: str) -> AsyncIterator[Live]:
    project_id = f"p{uuid.uuid4().hex[:10]}"
    add_project(settings.database_url, project_id)
    app = make_app(settings, dev_env.client)
    async with Worker(dev_env.client, task_queue=task_queue, workflows=[RecordingProjectWorkflow]):
        handle = await dev_env.client.start_workflow(
            RecordingProjectWorkflow.run,
            id=project_workflow_id(project_id),
            task_queue=task_queue,
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://boardroom.test") as http:
            try:
                yield Live(project_id, handle, http)
            finally:
                await handle.terminate("test over")


# --- Stripe ----------------------------------------------------------------------------------


async def test_signed_stripe_payment_is_stored_and_signalled_once(live: Live, settings: Settings) -> None:
    payload = stripe_event(live.project_id)
    evt_id = json.loads(payload)["id"]

    resp = await live.http.post("/webhooks/stripe", content=payload, headers=stripe_headers(payload))
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "status": "accepted",
        "event_id": f"stripe:{evt_id}",
        "kind": "payment",
        "project_id": live.project_id,
        "routed": True,
        "reason": "",
    }
    (event,) = await live.events(1)
    assert event == BusinessEvent(
        id=f"stripe:{evt_id}",
        source="stripe",
        kind="payment",
        amount_usd=29.5,
        summary="checkout cs_test_1 paid 29.50 USD",
    )

    # Stripe redelivers: stored and signalled once.
    again = await live.http.post("/webhooks/stripe", content=payload, headers=stripe_headers(payload))
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert again.json()["routed"] is True
    (row,) = stored(settings.database_url)
    assert (row.id, row.kind, row.project_id, row.amount_usd, row.routed) == (
        f"stripe:{evt_id}",
        "payment",
        live.project_id,
        29.5,
        True,
    )
    assert await live.signals() == 1


async def test_stripe_refund_and_cancellation_kinds(live: Live) -> None:
    refund = stripe_event(live.project_id, kind="charge.refunded", id="ch_1", amount_refunded=1000)
    cancel = stripe_event(live.project_id, kind="customer.subscription.deleted", id="sub_1")
    for payload in (refund, cancel):
        resp = await live.http.post("/webhooks/stripe", content=payload, headers=stripe_headers(payload))
        assert resp.json()["status"] == "accepted"
    events = await live.events(2)
    assert [(e.kind, e.amount_usd) for e in events] == [("refund", 10.0), ("subscription_cancelled", 0.0)]


async def test_bad_stripe_requests_are_400_and_store_nothing(live: Live, settings: Settings) -> None:
    payload = stripe_event(live.project_id)
    cases = [
        stripe_headers(payload, secret="whsec_other"),
        stripe_headers(payload, timestamp=int(time.time()) - 301),
        {"Content-Type": "application/json"},
        {"Stripe-Signature": "garbage"},
    ]
    for headers in cases:
        resp = await live.http.post("/webhooks/stripe", content=payload, headers=headers)
        assert resp.status_code == 400, headers
        assert resp.json() == {"detail": "invalid Stripe-Signature"}
    for malformed in (b"{not json", b'{"id": "evt_1"}', b'{"id":"e","type":"x","data":{"object":[]}}'):
        resp = await live.http.post("/webhooks/stripe", content=malformed, headers=stripe_headers(malformed))
        assert resp.status_code == 400
        assert resp.json()["detail"].startswith("malformed Stripe event")
    assert stored(settings.database_url) == []
    assert await live.signals() == 0


async def test_stripe_unknown_project_and_untracked_types_are_ignored(live: Live, settings: Settings) -> None:
    for payload in (
        stripe_event("p-nobody"),
        stripe_event(None),
        stripe_event(live.project_id, kind="payment_intent.created"),
        stripe_event(live.project_id, payment_status="unpaid"),
    ):
        resp = await live.http.post("/webhooks/stripe", content=payload, headers=stripe_headers(payload))
        assert resp.status_code == 200
        assert resp.json()["status"] == "ignored"
        assert resp.json()["routed"] is False
    assert stored(settings.database_url) == []


async def test_project_without_a_workflow_keeps_the_event_unrouted(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    add_project(settings.database_url, "p-finished")
    app = make_app(settings, dev_env.client)
    payload = stripe_event("p-finished")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        resp = await http.post("/webhooks/stripe", content=payload, headers=stripe_headers(payload))
    assert resp.status_code == 200
    assert (resp.json()["status"], resp.json()["routed"]) == ("accepted", False)
    (row,) = stored(settings.database_url)
    assert row.routed is False


async def test_temporal_unavailable_is_503_and_the_redelivery_routes_it(live: Live, settings: Settings) -> None:
    down = await Client.connect(
        f"127.0.0.1:{closed_port()}",
        data_converter=data_converter(),
        lazy=True,
        retry_config=RetryConfig(max_retries=0),
    )
    app = make_app(settings, down)
    payload = stripe_event(live.project_id)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        resp = await http.post("/webhooks/stripe", content=payload, headers=stripe_headers(payload))
    assert resp.status_code == 503
    assert "detail" in resp.json()
    (row,) = stored(settings.database_url)
    assert row.routed is False

    # Stripe retries once Temporal is back: the stored event is routed now, exactly once.
    resp = await live.http.post("/webhooks/stripe", content=payload, headers=stripe_headers(payload))
    assert (resp.status_code, resp.json()["status"], resp.json()["routed"]) == (200, "duplicate", True)
    await live.events(1)
    assert await live.signals() == 1
    assert stored(settings.database_url)[0].routed is True


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- GitHub ----------------------------------------------------------------------------------


def add_github_record(db_url: str, project_id: str, full_name: str = "acme/sourdough-p1") -> None:
    with session_scope(db_url) as session:
        session.add(
            IntegrationRecord(
                project_id=project_id,
                name="github",
                status="done",
                url=f"https://github.com/{full_name}",
                details={"repo": full_name, "project_id": project_id},
                updated_at=datetime.now(UTC),
            )
        )
        session.commit()


async def test_signed_github_issue_events_are_routed_once(live: Live, settings: Settings) -> None:
    add_github_record(settings.database_url, live.project_id)
    opened = github_event("opened")
    headers = github_headers(opened, delivery="d-1")
    resp = await live.http.post("/webhooks/github", content=opened, headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "accepted"
    assert resp.json()["project_id"] == live.project_id

    again = await live.http.post("/webhooks/github", content=opened, headers=headers)
    assert again.json()["status"] == "duplicate"

    # Found by full name (case-insensitively) when the html_url differs, e.g. after a rename.
    closed = json.loads(github_event("closed", full_name="Acme/Sourdough-P1"))
    closed["repository"]["html_url"] = "https://github.example/Acme/Sourdough-P1"
    body = json.dumps(closed).encode()
    resp = await live.http.post("/webhooks/github", content=body, headers=github_headers(body, delivery="d-2"))
    assert resp.json()["status"] == "accepted"

    events = await live.events(2)
    assert [(e.id, e.source, e.kind) for e in events] == [
        ("github:d-1", "github", "issue_opened"),
        ("github:d-2", "github", "issue_closed"),
    ]
    assert events[0].summary == "acme/sourdough-p1#3 opened: Broken checkout link"
    assert await live.signals() == 2
    assert {r.id for r in stored(settings.database_url)} == {"github:d-1", "github:d-2"}


async def test_github_form_encoded_delivery(live: Live, settings: Settings) -> None:
    add_github_record(settings.database_url, live.project_id)
    body = urllib.parse.urlencode({"payload": github_event("reopened").decode()}).encode()
    headers = github_headers(body) | {"Content-Type": "application/x-www-form-urlencoded"}
    resp = await live.http.post("/webhooks/github", content=body, headers=headers)
    assert (resp.status_code, resp.json()["kind"]) == (200, "issue_opened")


async def test_bad_or_untracked_github_requests(live: Live, settings: Settings) -> None:
    add_github_record(settings.database_url, live.project_id)
    payload = github_event()
    bad = github_headers(payload, secret="wrong")
    resp = await live.http.post("/webhooks/github", content=payload, headers=bad)
    assert (resp.status_code, resp.json()) == (400, {"detail": "invalid X-Hub-Signature-256"})
    unsigned = {k: v for k, v in github_headers(payload).items() if k != "X-Hub-Signature-256"}
    assert (await live.http.post("/webhooks/github", content=payload, headers=unsigned)).status_code == 400
    for malformed in (b"[1,2", b'{"action": "opened"}'):
        resp = await live.http.post("/webhooks/github", content=malformed, headers=github_headers(malformed))
        assert resp.status_code == 400

    ping = await live.http.post("/webhooks/github", content=b"{}", headers=github_headers(b"{}", event="ping"))
    assert ping.json()["status"] == "ignored"
    labeled = github_event("labeled")
    assert (await live.http.post("/webhooks/github", content=labeled, headers=github_headers(labeled))).json()[
        "status"
    ] == "ignored"
    other = github_event(full_name="someone/else")
    resp = await live.http.post("/webhooks/github", content=other, headers=github_headers(other))
    assert (resp.status_code, resp.json()["status"], resp.json()["reason"]) == (200, "ignored", "unknown project")

    assert stored(settings.database_url) == []
    assert await live.signals() == 0


def test_openapi_documents_the_400(settings: Settings) -> None:
    app = FastAPI()
    app.include_router(webhooks.router)
    spec = app.openapi()
    for path in ("/webhooks/stripe", "/webhooks/github"):
        responses = spec["paths"][path]["post"]["responses"]
        assert {"200", "400", "503"} <= set(responses)
