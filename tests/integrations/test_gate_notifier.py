"""Slack approval messages: the `open_gate` activity with the GateNotifier, against the fake Slack
Web API (slack-sdk runs unmodified), and once through a real worker on the dev server."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.notify import GateNotifier
from activities.store import StoreActivities
from api import links, service
from approvals.slack_blocks import ACTION_APPROVE, ACTION_OPEN, ACTION_REJECT
from approvals.tokens import verify
from boardroom.settings import Settings
from domain.enums import GateKind, Risk
from domain.gates import GateView
from domain.project import Policy
from domain.records import GateRecord
from domain.work import Question
from store.db import session_scope
from store.tables import Gate, Project
from tests.fakes.slack_server import FakeSlack
from tests.workflows.helpers import cancel_and_wait, next_gate, start_project, wait_for
from workers.worker import create_worker
from workflows.ids import gate_id as make_gate_id
from workflows.ids import project_workflow_id

PROJECT = "p-notify0001"
CHANNEL = "#launches"
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def slack_settings(settings: Settings, fake_slack: FakeSlack) -> Settings:
    return settings.model_copy(
        update={
            "slack_bot_token": fake_slack.token,
            "slack_api_url": fake_slack.api_url.rstrip("/"),  # the notifier adds the '/'
            "slack_channel": CHANNEL,
            "public_url": "https://boardroom.example.com",
        }
    )


def add_project(db_url: str, auto_approve: str = "none", name: str = "Mugs & <Co>") -> None:
    now = datetime.now(UTC)
    with session_scope(db_url) as s:
        s.add(
            Project(
                id=PROJECT,
                name=name,
                goal="Sell mugs",
                workflow_id=project_workflow_id(PROJECT),
                auto_approve=auto_approve,
                created_at=now,
                updated_at=now,
            )
        )
        s.commit()


def plan_gate(seq: int = 2, **kw: Any) -> GateView:
    return GateView(
        id=make_gate_id(PROJECT, seq),
        kind=kw.pop("kind", GateKind.plan),
        title=kw.pop("title", "Approve the plan (revision 0)"),
        summary=kw.pop("summary", "Six tasks, estimated $1.20. Approve, reject, or request changes."),
        risk=kw.pop("risk", Risk.high),
        created_at=kw.pop("created_at", datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)),
        **kw,
    )


def record(gate: GateView, reminder: bool = False) -> GateRecord:
    return GateRecord(
        project_id=PROJECT, project_workflow_id=project_workflow_id(PROJECT), gate=gate, reminder=reminder
    )


async def open_gate(settings: Settings, rec: GateRecord) -> None:
    """The real activity, as the worker registers it (StoreActivities with the notifier)."""
    store = StoreActivities(settings, notifier=GateNotifier(settings))
    await ActivityEnvironment().run(store.open_gate, rec)


def gate_row(db_url: str, gate_id: str) -> Gate:
    with session_scope(db_url) as s:
        row = s.get(Gate, gate_id)
        assert row is not None, f"gate {gate_id} was not stored"
        return row


def button(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    actions = next(b for b in message["blocks"] if b["type"] == "actions")
    return next(e for e in actions["elements"] if e["action_id"] == action_id)


def all_text(message: dict[str, Any]) -> str:
    # Phase notices (plain text, no blocks) reach the same channel.
    return repr(message.get("blocks", []))


async def test_opening_a_gate_posts_one_message_with_the_signed_link(
    slack_settings: Settings, fake_slack: FakeSlack, db_url: str
) -> None:
    add_project(db_url)
    gate = plan_gate()
    await open_gate(slack_settings, record(gate))

    calls = fake_slack.calls("POST", r"/api/chat\.postMessage")
    assert len(calls) == 1
    assert calls[0].header("Authorization") == f"Bearer {fake_slack.token}"
    assert (calls[0].header("Content-Type") or "").startswith("application/json")
    [message] = fake_slack.messages
    assert message["channel"] == CHANNEL
    assert message["text"] == "Decision needed for Mugs & <Co>: Approve the plan (revision 0)"
    blocks = message["blocks"]
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": gate.title}}
    facts = blocks[1]["text"]["text"]
    assert "*Project:* Mugs &amp; &lt;Co&gt;" in facts  # user text cannot inject Slack links
    assert "*Risk:* :red_circle: high" in facts and "*Kind:* plan" in facts
    assert blocks[2]["text"]["text"] == gate.summary
    assert "Reminder" not in all_text(message)

    approve, reject, open_ = (button(message, a) for a in (ACTION_APPROVE, ACTION_REJECT, ACTION_OPEN))
    assert (approve["text"]["text"], approve["value"], approve["style"]) == ("Approve", gate.id, "primary")
    assert (reject["text"]["text"], reject["value"], reject["style"]) == ("Reject", gate.id, "danger")
    assert open_["text"]["text"] == "Open in browser"
    url = open_["url"]
    assert url.startswith("https://boardroom.example.com/a/v1.")
    claims = verify(slack_settings.secret_key, url.rsplit("/", 1)[1], datetime(2030, 1, 3, tzinfo=UTC), gate.id)
    assert claims.approver == "ceo"

    # the row remembers the message (channel id, as chat.update wants it); the link is the one the
    # API and the dashboard hand out for this gate
    row = gate_row(db_url, gate.id)
    assert (row.slack_channel, row.slack_ts) == ("CLAUNCHES", message["ts"])
    assert service.gate_out(slack_settings, row).approve_url == url
    assert links.approve_url(slack_settings, gate.id, row.approver, row.created_at) == url

    # a retried activity finds the stored message and posts nothing more
    await open_gate(slack_settings, record(gate))
    assert len(fake_slack.messages) == 1


async def test_a_reminder_re_posts_and_the_row_follows_the_newest_message(
    slack_settings: Settings, fake_slack: FakeSlack, db_url: str
) -> None:
    add_project(db_url)
    gate = plan_gate()
    await open_gate(slack_settings, record(gate))
    await open_gate(slack_settings, record(gate.model_copy(update={"reminders": 1}), reminder=True))

    first, second = fake_slack.messages
    assert second["ts"] != first["ts"]
    assert second["text"] == f"Reminder: {first['text']}"
    assert second["blocks"][0] == first["blocks"][0]  # the same title
    assert second["blocks"][1]["text"]["text"].startswith(":alarm_clock: *Reminder:*")
    assert button(second, ACTION_OPEN)["url"] == button(first, ACTION_OPEN)["url"]
    assert button(second, ACTION_APPROVE)["value"] == gate.id
    row = gate_row(db_url, gate.id)
    assert (row.slack_ts, row.reminders) == (second["ts"], 1)


async def test_interview_gates_offer_only_the_browser(
    slack_settings: Settings, fake_slack: FakeSlack, db_url: str
) -> None:
    add_project(db_url)
    gate = plan_gate(
        seq=1,
        kind=GateKind.interview,
        title="A few questions before the team plans",
        risk=Risk.low,
        questions=[Question(id="q1", text="Who buys <mugs>?")],
    )
    await open_gate(slack_settings, record(gate))
    [message] = fake_slack.messages
    actions = next(b for b in message["blocks"] if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == [ACTION_OPEN]
    assert actions["elements"][0]["text"]["text"] == "Answer in browser"
    assert "Who buys &lt;mugs&gt;?" in all_text(message)


async def test_without_a_token_nothing_is_posted(
    settings: Settings, fake_slack: FakeSlack, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    add_project(db_url)
    unconfigured = settings.model_copy(update={"slack_api_url": fake_slack.api_url, "slack_bot_token": None})
    gate = plan_gate()
    with caplog.at_level(logging.DEBUG, logger="activities.notify"):
        await open_gate(unconfigured, record(gate))
    assert fake_slack.requests == []
    assert gate_row(db_url, gate.id).slack_ts is None  # the gate itself is stored
    assert "SLACK_BOT_TOKEN is not set" in caplog.text


async def test_gates_the_policy_approves_are_not_posted(
    slack_settings: Settings, fake_slack: FakeSlack, db_url: str
) -> None:
    add_project(db_url, auto_approve="medium")
    await open_gate(slack_settings, record(plan_gate(seq=3, risk=Risk.medium)))
    assert fake_slack.messages == []
    await open_gate(slack_settings, record(plan_gate(seq=4, risk=Risk.high)))
    assert len(fake_slack.messages) == 1  # high risk still needs the CEO


async def test_slack_errors_never_fail_the_gate(
    slack_settings: Settings, fake_slack: FakeSlack, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    add_project(db_url)
    # one 500 is retried by the client: one message, one retry on the wire
    fake_slack.fail_next(500, {"ok": False, "error": "fatal_error"}, path=r"/api/chat\.postMessage")
    await open_gate(slack_settings, record(plan_gate(seq=1)))
    assert len(fake_slack.calls("POST", r"/api/chat\.postMessage")) == 2
    assert len(fake_slack.messages) == 1

    # a lasting outage: bounded retries, then a warning; the activity succeeds, the gate is stored
    fake_slack.fail_next(503, {"ok": False, "error": "service_unavailable"}, times=3)
    with caplog.at_level(logging.WARNING, logger="activities.notify"):
        await open_gate(slack_settings, record(plan_gate(seq=2)))
    assert len(fake_slack.calls("POST", r"/api/chat\.postMessage")) == 2 + 3
    assert gate_row(db_url, make_gate_id(PROJECT, 2)).slack_ts is None
    assert "service_unavailable" in caplog.text and "(HTTP 503)" in caplog.text

    # a channel the bot is not in: Slack answers ok=false; logged, not retried
    caplog.clear()
    elsewhere = slack_settings.model_copy(update={"slack_channel": "#nowhere"})
    with caplog.at_level(logging.WARNING, logger="activities.notify"):
        await open_gate(elsewhere, record(plan_gate(seq=3)))
    assert "channel_not_found" in caplog.text
    assert gate_row(db_url, make_gate_id(PROJECT, 3)).slack_ts is None
    assert len(fake_slack.messages) == 1


async def test_a_project_on_a_real_worker_posts_its_gates_and_reminders(
    dev_env: WorkflowEnvironment, slack_settings: Settings, fake_slack: FakeSlack, task_queue: str, db_url: str
) -> None:
    """create_worker wires the notifier: the interview gate reaches Slack, and its reminder (on
    the workflow's durable timer, one second here) posts again."""
    async with create_worker(dev_env.client, slack_settings, task_queue=task_queue):
        handle = await start_project(
            dev_env.client,
            task_queue,
            goal=f"Sell ceramic mugs {uuid.uuid4().hex[:6]}",
            policy=Policy(gate_reminder_s=1.0, gate_expiry_s=600.0),
        )
        try:
            gate = await next_gate(handle, "interview")
            await wait_for(
                handle, lambda s: any(g.id == gate.id and g.reminders == 1 for g in s.gates), what="reminder"
            )
            deadline = time.monotonic() + 30
            while len([m for m in fake_slack.messages if gate.id in all_text(m)]) < 2:
                assert time.monotonic() < deadline, f"two messages for {gate.id}; got {fake_slack.messages}"
                await asyncio.sleep(0.1)
            first, reminder = (m for m in fake_slack.messages if gate.id in all_text(m))
            assert first["text"] == f"Decision needed for Test project: {gate.title}"
            assert reminder["text"] == f"Reminder: {first['text']}"
            assert button(first, ACTION_OPEN)["url"].startswith("https://boardroom.example.com/a/")
            # The message reaches Slack before the activity stores its ts: wait for the row.
            row = gate_row(db_url, gate.id)
            while row.slack_ts != reminder["ts"] and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                row = gate_row(db_url, gate.id)
            assert (row.slack_channel, row.slack_ts) == ("CLAUNCHES", reminder["ts"])
        finally:
            await cancel_and_wait(handle)
