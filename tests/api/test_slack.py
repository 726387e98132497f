"""Slack interactivity: signature checked (bad or stale → 401, nothing changes), decisions applied
in the background, the original message replaced with who decided (against a Slack fake)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk import WebClient

from approvals.slack_blocks import ACTION_APPROVE, ACTION_OPEN
from store.db import session_scope
from store.tables import Gate
from tests.api.conftest import AppClient, Seed
from tests.fakes.server import Reply
from tests.fakes.slack_server import FakeSlack

SECRET = "slack-test-secret"  # the `settings` fixture's signing secret


def signed(body: bytes, secret: str = SECRET, ts: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if ts is None else ts)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def form(payload: dict[str, Any]) -> bytes:
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


def block_action(gate_id: str, action_id: str = ACTION_APPROVE, **extra: Any) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": "U42", "username": "alice", "name": "alice"},
        "actions": [{"action_id": action_id, "value": gate_id, "type": "button"}],
        **extra,
    }


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    yield from FakeSlack.running(token="xoxb-test", channels=("#boardroom",))


def gate_status(db_url: str, gate_id: str) -> str:
    with session_scope(db_url) as s:
        row = s.get(Gate, gate_id)
        assert row is not None
        return row.status


async def test_bad_or_stale_signatures_are_401_and_change_nothing(
    offline_api: AppClient, seed: Seed, db_url: str, slack: FakeSlack
) -> None:
    seed.project()
    gate = seed.gate()
    body = form(block_action(gate.id))
    cases = {
        "no headers": {"Content-Type": "application/x-www-form-urlencoded"},
        "wrong secret": signed(body, secret="not-the-secret"),
        "stale": signed(body, ts=int(time.time()) - 6 * 60),
        "future": signed(body, ts=int(time.time()) + 6 * 60),
        "garbage timestamp": {**signed(body), "X-Slack-Request-Timestamp": "yesterday"},
        "tampered body": signed(form(block_action("p-seed00000001-g9"))),
    }
    async with offline_api(slack_bot_token="xoxb-test", slack_api_url=slack.api_url) as http:
        for name, headers in cases.items():
            resp = await http.post("/slack/interactions", content=body, headers=headers)
            assert resp.status_code == 401, name
            assert resp.json() == {"detail": "invalid or stale Slack request signature"}
    assert gate_status(db_url, gate.id) == "pending"
    assert slack.requests == []


async def test_signed_requests_are_acknowledged(offline_api: AppClient, slack: FakeSlack) -> None:
    async with offline_api(slack_bot_token="xoxb-test", slack_api_url=slack.api_url) as http:
        opened = form(block_action("p-seed00000001-g1", action_id=ACTION_OPEN))
        ok = await http.post("/slack/interactions", content=opened, headers=signed(opened))
        junk = b"payload=%7Bnot-json"
        bad = await http.post("/slack/interactions", content=junk, headers=signed(junk))
    assert ok.status_code == 200 and ok.json() == {"ok": True}
    assert bad.status_code == 422
    assert slack.requests == []


async def test_press_on_a_decided_gate_shows_who_decided(
    offline_api: AppClient, seed: Seed, db_url: str, slack: FakeSlack
) -> None:
    seed.project()
    gate = seed.gate(title="Approve the plan")
    seed.decide_row(gate.id, "approved", "bob", datetime(2030, 5, 6, 7, 8, tzinfo=UTC))
    posted = WebClient(token="xoxb-test", base_url=slack.api_url).chat_postMessage(channel="#boardroom", text="gate")
    slack.route("POST", r"/actions/.*", lambda _rec, _m: Reply(200, None))
    payload = block_action(
        gate.id,
        channel={"id": posted["channel"]},
        message={"ts": posted["ts"]},
        response_url=f"{slack.base_url}/actions/T1/1/abc",
    )
    body = form(payload)
    async with offline_api(
        slack_bot_token="xoxb-test", slack_api_url=slack.api_url, slack_approvers="U42:alice"
    ) as http:
        resp = await http.post("/slack/interactions", content=body, headers=signed(body))
    assert resp.status_code == 200
    # the background task has run by the time the ASGI call returns
    assert gate_status(db_url, gate.id) == "approved"
    update = slack.updates[-1]
    assert update["ts"] == posted["ts"]
    assert "by bob at 2030-05-06 07:08 UTC" in str(update["blocks"])
    ephemeral = slack.calls("POST", r"/actions/.*")[-1].json()
    assert ephemeral["response_type"] == "ephemeral"
    assert "already approved by bob" in ephemeral["text"]


async def test_without_a_bot_token_the_message_is_left_alone(
    offline_api: AppClient, seed: Seed, slack: FakeSlack
) -> None:
    seed.project()
    gate = seed.gate()
    seed.decide_row(gate.id, "approved", "bob", datetime(2030, 5, 6, tzinfo=UTC))
    body = form(block_action(gate.id, channel={"id": "C1"}, message={"ts": "1.2"}))
    async with offline_api(slack_bot_token=None, slack_api_url=slack.api_url) as http:
        resp = await http.post("/slack/interactions", content=body, headers=signed(body))
    assert resp.status_code == 200
    assert slack.requests == []
