"""Decisions and webhooks against the real API process: concurrent decisions on one gate, the
API restarted while gates are pending, duplicate and out-of-order webhooks. Every gate is
decided exactly once, every business event counted once."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from collections import Counter
from collections.abc import Collection
from typing import Any

import httpx
import pytest
import stripe
from sqlmodel import select

from domain.enums import Channel, GateStatus
from domain.gates import GateDecision
from store.db import session_scope
from store.tables import BusinessEventRecord
from tests.faults.support import GATES, Fakes, assert_undisturbed_end_state
from tests.stack import SECRETS, Stack, _until, in_operations, wait_state
from workflows.ids import project_workflow_id
from workflows.project import ProjectWorkflow

# A whole stack in processes (dev server, API, workers): slow under load; the guard only catches hangs.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CONTENDERS = 6


def stripe_delivery(event_id: str, kind: str, project_id: str, **obj: Any) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": kind,
            "data": {"object": {"currency": "usd", "metadata": {"project_id": project_id}, **obj}},
        }
    ).encode()
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), SECRETS["STRIPE_WEBHOOK_SECRET"])
    return body, {"Stripe-Signature": header, "Content-Type": "application/json"}


def github_delivery(delivery: str, action: str, full_name: str, html_url: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "action": action,
            "issue": {"number": 1, "title": "Checkout link broken"},
            "repository": {"full_name": full_name, "html_url": html_url},
        }
    ).encode()
    digest = hmac.new(SECRETS["GITHUB_WEBHOOK_SECRET"].encode(), body, hashlib.sha256).hexdigest()
    return body, {
        "X-Hub-Signature-256": f"sha256={digest}",
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": delivery,
        "Content-Type": "application/json",
    }


async def pending_gate(http: httpx.AsyncClient, project_id: str, decided: Collection[str]) -> dict[str, Any]:
    """The next pending gate not decided yet (the read model may list a gate as pending for a
    moment after its decision: the projection is written after `decide` answers)."""

    async def one() -> dict[str, Any] | None:
        resp = await http.get("/approvals", params={"status": "pending", "project_id": project_id})
        items = [g for g in resp.json()["items"] if g["id"] not in decided]
        return items[0] if items else None

    gate: dict[str, Any] = await _until(one, 60, "a pending gate")
    return gate


async def decide_concurrently(stack: Stack, http: httpx.AsyncClient, gate_id: str, project_id: str) -> list[int]:
    """CONTENDERS API decisions and one Temporal-UI style signal, all at once. The decisions answer
    the questions this gate asks (an answer to a question it does not ask is a 422)."""
    client = await stack.client()
    handle = client.get_workflow_handle_for(ProjectWorkflow.run, project_workflow_id(project_id))  # type: ignore[arg-type,var-annotated]
    detail = await http.get(f"/approvals/{gate_id}")
    assert detail.status_code == 200, detail.text
    answers = {q["id"]: "founders" for q in detail.json()["questions"]}
    body = {"decision": "approve", "comment": "ship it", "answers": answers}
    posts = [http.post(f"/approvals/{gate_id}/decision", json=body) for _ in range(CONTENDERS)]
    signal = handle.signal(
        ProjectWorkflow.decide_signal, GateDecision(gate_id=gate_id, decision="approve", channel=Channel.temporal_ui)
    )
    results = await asyncio.gather(*posts, signal, return_exceptions=True)
    codes = [r.status_code for r in results[:-1] if isinstance(r, httpx.Response)]
    assert len(codes) == CONTENDERS, results
    return codes


async def test_gates_decided_once_webhooks_counted_once_across_api_restarts(stack: Stack, fakes: Fakes) -> None:
    fakes.llm.delay_s = 0.1
    await stack.start_worker(fakes.worker_env())
    await stack.start_api()
    decided: dict[str, list[int]] = {}
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as http:
        created = await http.post(
            "/projects",
            json={"goal": f"Sell starter kits ({uuid.uuid4().hex[:8]})", "name": "Webhook project"},
        )
        assert created.status_code == 201, created.text
        project_id = created.json()["id"]

        for number in range(GATES):
            gate = await pending_gate(http, project_id, decided)
            if number == 1:
                # The API goes away and comes back while this gate waits.
                await stack.stop_api()
                await stack.start_api()
            decided[gate["id"]] = await decide_concurrently(stack, http, gate["id"], project_id)

        client = await stack.client()
        handle = client.get_workflow_handle_for(ProjectWorkflow.run, project_workflow_id(project_id))  # type: ignore[arg-type,var-annotated]
        state = await wait_state(handle, in_operations, 120, "operations")
        await assert_undisturbed_end_state(stack, fakes, state)
        for gate_id, codes in decided.items():
            # One decision took effect; the others were told it was already decided (409), or
            # lost to the signal (then every API call is a 409).
            counts = Counter(codes)
            assert set(counts) <= {200, 409} and counts[200] <= 1, (gate_id, codes)
        gates = {g.id: g for g in state.gates}
        assert set(gates) == set(decided)
        assert all(g.status == GateStatus.approved for g in gates.values())
        api_wins = sum(1 for codes in decided.values() if 200 in codes)
        assert api_wins == sum(1 for g in gates.values() if g.channel == Channel.api)

        # Webhooks: duplicates (concurrent redeliveries) and out of order (refund before the
        # payment, an issue closed before it was opened); then the API restarts and Stripe
        # redelivers once more.
        github = next(i for i in state.integrations if i.name == "github")
        assert github.url
        full_name = "/".join(github.url.rstrip("/").split("/")[-2:])
        deliveries = [
            ("/webhooks/stripe", *stripe_delivery("evt_refund", "charge.refunded", project_id, amount_refunded=1000)),
            ("/webhooks/github", *github_delivery("d-closed", "closed", full_name, github.url)),
            ("/webhooks/stripe", *stripe_delivery("evt_paid", "checkout.session.completed", project_id, **PAID)),
            ("/webhooks/github", *github_delivery("d-opened", "opened", full_name, github.url)),
        ]
        statuses: Counter[str] = Counter()
        for path, body, headers in deliveries:
            answers = await asyncio.gather(*(http.post(path, content=body, headers=headers) for _ in range(3)))
            assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
            statuses.update(a.json()["status"] for a in answers)
        assert statuses["accepted"] == 4 and statuses["duplicate"] == 8, statuses

        await stack.stop_api()
        await stack.start_api()
        path, body, headers = deliveries[2]
        again = await http.post(path, content=body, headers=headers)
        assert (again.status_code, again.json()["status"], again.json()["routed"]) == (200, "duplicate", True)

    state = await wait_state(handle, lambda s: s.kpis.events >= 4, 30, "the business events")
    # Every delivery was answered, so every signal it sent is already in the history, and a query
    # sees all of them (queries are answered after the pending events are processed): no late
    # duplicate can still arrive.
    state = await handle.query(ProjectWorkflow.get_state)
    k = state.kpis
    assert (k.events, k.orders, k.refunds) == (4, 1, 1), k
    assert (k.revenue_usd, k.refunded_usd) == (19.5, 10.0), k
    with session_scope(stack.database_url) as session:
        rows = session.exec(select(BusinessEventRecord).where(BusinessEventRecord.project_id == project_id)).all()
    assert sorted(r.id for r in rows) == ["github:d-closed", "github:d-opened", "stripe:evt_paid", "stripe:evt_refund"]
    assert all(r.routed for r in rows)


PAID = {"id": "cs_1", "object": "checkout.session", "amount_total": 2950, "payment_status": "paid"}
