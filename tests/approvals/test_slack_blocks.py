"""Slack Block Kit for gates, and parsing a button press back into a decision."""

from __future__ import annotations

from datetime import UTC, datetime

from approvals.slack_blocks import (
    ACTION_APPROVE,
    ACTION_OPEN,
    ACTION_REJECT,
    decided_blocks,
    gate_blocks,
    gate_text,
    parse_block_action,
)
from domain.enums import GateKind, GateStatus, Risk
from domain.gates import GateView
from domain.work import Question

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def _gate(**kw) -> GateView:  # type: ignore[no-untyped-def]
    base = {
        "id": "p-abc-g3",
        "kind": GateKind.plan,
        "title": "Approve the plan",
        "summary": "Five tasks <b>bold</b> & more",
        "risk": Risk.high,
        "created_at": NOW,
    }
    return GateView(**(base | kw))


def _elements(blocks: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    return next(b for b in blocks if b["type"] == "actions")["elements"]


def test_gate_message_has_buttons_carrying_the_gate_id() -> None:
    blocks = gate_blocks(_gate(), project_name="Shop", url="https://x/a/tok")
    buttons = {e["action_id"]: e for e in _elements(blocks)}
    assert buttons[ACTION_APPROVE]["value"] == "p-abc-g3"
    assert buttons[ACTION_REJECT]["value"] == "p-abc-g3"
    assert buttons[ACTION_OPEN]["url"] == "https://x/a/tok"
    text = str(blocks)
    assert "Approve the plan" in text and "high" in text and "Shop" in text
    # user text is escaped for mrkdwn
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in text
    assert "Shop" in gate_text(_gate(), "Shop")


def test_interview_gates_only_link_to_the_browser() -> None:
    gate = _gate(kind=GateKind.interview, questions=[Question(id="q1", text="Who buys?")])
    elements = _elements(gate_blocks(gate, project_name="Shop", url="https://x/a/tok"))
    assert [e["action_id"] for e in elements] == [ACTION_OPEN]
    assert elements[0]["text"]["text"] == "Answer in browser"


def test_long_titles_fit_block_kit_limits() -> None:
    blocks = gate_blocks(_gate(title="t" * 500, summary="s" * 5000), project_name="P", url="https://x")
    assert len(blocks[0]["text"]["text"]) <= 150
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")


def test_decided_message_shows_who_and_has_no_buttons() -> None:
    blocks = decided_blocks(
        gate_id="p-abc-g3",
        title="Approve the plan",
        project_name="Shop",
        status=GateStatus.approved,
        decided_by="alice",
        decided_at=NOW,
        channel="slack",
        comment="ship it",
    )
    text = str(blocks)
    assert "Approved* by alice at 2030-01-01 12:00 UTC via slack" in text
    assert "ship it" in text
    assert not any(b["type"] == "actions" for b in blocks)


def _payload(action_id: str, value: str = "p-abc-g3") -> dict:  # type: ignore[type-arg]
    return {
        "type": "block_actions",
        "user": {"id": "U1", "username": "alice", "name": "alice"},
        "channel": {"id": "C1"},
        "message": {"ts": "1700000000.000001"},
        "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": "C1"},
        "response_url": "https://hooks.slack.com/actions/T/1/x",
        "actions": [{"action_id": action_id, "value": value, "type": "button"}],
    }


def test_parse_approve_and_reject() -> None:
    action = parse_block_action(_payload(ACTION_APPROVE))
    assert action is not None
    assert (action.gate_id, action.decision, action.user, action.user_id) == ("p-abc-g3", "approve", "alice", "U1")
    assert (action.channel_id, action.message_ts) == ("C1", "1700000000.000001")
    rejected = parse_block_action(_payload(ACTION_REJECT))
    assert rejected is not None and rejected.decision == "reject"


def test_parse_ignores_everything_else() -> None:
    assert parse_block_action(_payload(ACTION_OPEN)) is None
    assert parse_block_action(_payload(ACTION_APPROVE, value="")) is None
    assert parse_block_action({"type": "view_submission"}) is None
    assert parse_block_action({"type": "block_actions", "actions": "nope"}) is None
