"""Slack Block Kit for gates: the message asking for a decision, the one showing who decided,
and the parsing of a button press (`block_actions`) back into a decision. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.enums import DecisionValue, GateKind, GateStatus, Risk
from domain.gates import GateView

ACTION_APPROVE = "gate_approve"
ACTION_REJECT = "gate_reject"
ACTION_OPEN = "gate_open"
ACTION_DECISIONS: dict[str, DecisionValue] = {ACTION_APPROVE: "approve", ACTION_REJECT: "reject"}

_RISK_EMOJI = {Risk.low: ":large_green_circle:", Risk.medium: ":large_yellow_circle:", Risk.high: ":red_circle:"}
_STATUS_EMOJI = {
    GateStatus.approved: ":white_check_mark:",
    GateStatus.rejected: ":x:",
    GateStatus.revised: ":leftwards_arrow_with_hook:",
    GateStatus.pending: ":hourglass_flowing_sand:",
}
# Block Kit limits: header 150, section text 3000, button text 75, button value 2000.
_HEADER_MAX = 150
_SECTION_MAX = 3000

Block = dict[str, Any]


def escape(text: str) -> str:
    """Slack mrkdwn control characters (&, <, >) as entities, so user text cannot inject links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(moment: datetime) -> str:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def gate_text(gate: GateView, project_name: str) -> str:
    """The notification text (shown in push notifications and where blocks cannot render)."""
    return _clip(f"Decision needed for {project_name}: {gate.title}", _SECTION_MAX)


def gate_blocks(gate: GateView, *, project_name: str, url: str) -> list[Block]:
    """The message asking for a decision: title, summary, risk, Approve / Reject, open in browser.

    Interview gates need typed answers, so they only offer the browser link.
    """
    risk = Risk(gate.risk)
    facts = (
        f"*Project:* {escape(project_name)}\n*Kind:* {GateKind(gate.kind).value.replace('_', ' ')}"
        f"   *Risk:* {_RISK_EMOJI[risk]} {risk.value}"
    )
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(gate.title, _HEADER_MAX)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": facts}},
    ]
    if gate.summary:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": _clip(escape(gate.summary), _SECTION_MAX)}}
        )
    if gate.questions:
        listed = "\n".join(f"• {escape(q.text)}" for q in gate.questions)
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _clip(f"*Questions*\n{listed}", _SECTION_MAX)},
            }
        )
    buttons: list[Block] = []
    if GateKind(gate.kind) is not GateKind.interview:
        buttons += [
            {
                "type": "button",
                "action_id": ACTION_APPROVE,
                "text": {"type": "plain_text", "text": "Approve"},
                "style": "primary",
                "value": gate.id,
            },
            {
                "type": "button",
                "action_id": ACTION_REJECT,
                "text": {"type": "plain_text", "text": "Reject"},
                "style": "danger",
                "value": gate.id,
                "confirm": {
                    "title": {"type": "plain_text", "text": "Reject?"},
                    "text": {"type": "plain_text", "text": _clip(f"Reject “{gate.title}”?", 300)},
                    "confirm": {"type": "plain_text", "text": "Reject"},
                    "deny": {"type": "plain_text", "text": "Cancel"},
                },
            },
        ]
    buttons.append(
        {
            "type": "button",
            "action_id": ACTION_OPEN,
            "text": {
                "type": "plain_text",
                "text": "Answer in browser" if gate.questions else "Open in browser",
            },
            "url": url,
            "value": gate.id,
        }
    )
    blocks.append({"type": "actions", "block_id": f"gate:{gate.id}"[:255], "elements": buttons})
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"Gate `{escape(gate.id)}` · opened {_when(gate.created_at)}"}],
        }
    )
    return blocks


def decided_text(title: str, status: GateStatus | str, decided_by: str) -> str:
    return _clip(f"{title}: {GateStatus(status).value} by {decided_by}", _SECTION_MAX)


def decided_blocks(
    *,
    gate_id: str,
    title: str,
    project_name: str,
    status: GateStatus | str,
    decided_by: str,
    decided_at: datetime,
    channel: str = "",
    comment: str = "",
) -> list[Block]:
    """The replacement message once a gate is decided: no buttons, who decided and when."""
    status = GateStatus(status)
    via = f" via {channel}" if channel else ""
    line = f"{_STATUS_EMOJI[status]} *{status.value.capitalize()}* by {escape(decided_by)} at {_when(decided_at)}{via}"
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(title, _HEADER_MAX)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Project:* {escape(project_name)}\n{line}"}},
    ]
    if comment:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": _clip(f"> {escape(comment)}", _SECTION_MAX)}}
        )
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"Gate `{escape(gate_id)}`"}]})
    return blocks


@dataclass(frozen=True)
class SlackAction:
    """A button press on a gate message."""

    gate_id: str
    decision: DecisionValue
    user: str
    user_id: str
    channel_id: str | None
    message_ts: str | None
    response_url: str | None


def _obj(payload: dict[str, Any], key: str) -> dict[str, Any]:
    value = payload.get(key)
    return value if isinstance(value, dict) else {}


def parse_block_action(payload: dict[str, Any]) -> SlackAction | None:
    """The decision a `block_actions` payload carries, or None when it is not a gate decision
    (e.g. the url button, which Slack reports too)."""
    if payload.get("type") != "block_actions":
        return None
    actions = payload.get("actions")
    if not isinstance(actions, list):
        return None
    for action in actions:
        if not isinstance(action, dict):
            continue
        decision = ACTION_DECISIONS.get(str(action.get("action_id", "")))
        gate = action.get("value")
        if decision is None or not isinstance(gate, str) or not gate:
            continue
        user, channel = _obj(payload, "user"), _obj(payload, "channel")
        container, message = _obj(payload, "container"), _obj(payload, "message")
        user_id = str(user.get("id") or "")
        name = str(user.get("username") or user.get("name") or user_id or "slack-user")
        return SlackAction(
            gate_id=gate,
            decision=decision,
            user=name,
            user_id=user_id,
            channel_id=channel.get("id") or container.get("channel_id"),
            message_ts=message.get("ts") or container.get("message_ts"),
            response_url=payload.get("response_url") or None,
        )
    return None
