"""Slack interactivity: Approve / Reject buttons on gate messages.

The request signature (v0, 5-minute window) is the credential. Slack wants an answer within
3 seconds, so the route acknowledges at once and applies the decision in a background task,
then replaces the original message with who decided (or tells the clicker why it failed).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, BackgroundTasks, FastAPI, HTTPException, Request, status
from pydantic_core import from_json
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from api import readmodel, service
from api.schemas import SlackAck, errors
from approvals.slack_blocks import SlackAction, decided_blocks, decided_text, parse_block_action
from boardroom.settings import Settings
from domain.enums import Channel, GateStatus
from domain.errors import Conflict, DomainError
from domain.gates import GateDecision

router = APIRouter(prefix="/slack", tags=["slack"])
log = logging.getLogger("boardroom.slack")
MAX_ID = 200


def signature_ok(settings: Settings, body: bytes, timestamp: str | None, signature: str | None) -> bool:
    if not settings.slack_signing_secret.strip():
        return False
    try:
        return SignatureVerifier(settings.slack_signing_secret).is_valid(body, timestamp, signature)
    except ValueError:  # a timestamp that is not a number
        return False


@router.post("/interactions", response_model=SlackAck, responses=errors(401, 413, 422))
async def interactions(request: Request, background: BackgroundTasks) -> SlackAck:
    """A button press; verified, acknowledged at once, applied in the background as the approver
    the Slack user id maps to (BOARDROOM_SLACK_APPROVERS; unmapped users are told so and nothing
    changes). Idempotent: a second press on a decided gate only reports who decided."""
    settings: Settings = request.app.state.settings
    body = await request.body()
    if not signature_ok(
        settings,
        body,
        request.headers.get("x-slack-request-timestamp"),
        request.headers.get("x-slack-signature"),
    ):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or stale Slack request signature")
    raw = parse_qs(body.decode("utf-8", errors="replace")).get("payload", [""])[0]
    try:
        # pydantic's parser: bounded nesting (a payload nested 50k deep is an error, not a
        # RecursionError), and lone surrogates refused.
        payload = from_json(raw)
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the form has no valid JSON `payload`") from None
    if not isinstance(payload, dict):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "`payload` must be a JSON object")
    action = parse_block_action(payload)
    if action is None:
        return SlackAck()  # e.g. the "Open in browser" button: nothing to do
    if len(action.gate_id) > MAX_ID or len(action.user_id) > MAX_ID:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "gate or user id too long")
    approver = settings.slack_approver_map.get(action.user_id)
    if approver is None:
        # Authorisation by Slack user id, never by the (editable) username: unknown → refused.
        log.warning("slack: decision on %s by unmapped Slack user %s refused", action.gate_id, action.user_id)
        background.add_task(
            _reply,
            action,
            f"Your Slack user ({action.user_id or 'unknown'}) is not a Boardroom approver, so nothing was "
            "decided. An administrator maps Slack users to approvers with BOARDROOM_SLACK_APPROVERS.",
        )
        return SlackAck()
    background.add_task(apply_action, request.app, replace(action, user=approver))
    return SlackAck()


def slack_client(settings: Settings) -> WebClient | None:
    if not settings.slack_bot_token:
        return None
    base = settings.slack_api_url or WebClient.BASE_URL
    return WebClient(token=settings.slack_bot_token, base_url=base if base.endswith("/") else base + "/")


async def _reply(action: SlackAction, text: str) -> None:
    """An ephemeral note to the person who clicked (through the interaction's response_url)."""
    if not action.response_url:
        log.info("slack: %s (no response_url to tell the user)", text)
        return
    try:
        await asyncio.to_thread(
            WebhookClient(action.response_url, timeout=10).send,
            text=text,
            response_type="ephemeral",
            replace_original=False,
        )
    except (SlackClientError, OSError) as exc:
        log.warning("slack: could not answer through response_url: %s", type(exc).__name__)


async def _update_message(settings: Settings, action: SlackAction, text: str, blocks: list[dict[str, Any]]) -> None:
    client = slack_client(settings)
    if client is None:
        log.info("slack: SLACK_BOT_TOKEN is not set; gate message for %s not updated", action.gate_id)
        return
    if not (action.channel_id and action.message_ts):
        log.info("slack: interaction for %s carries no message to update", action.gate_id)
        return
    try:
        await asyncio.to_thread(
            client.chat_update, channel=action.channel_id, ts=action.message_ts, text=text, blocks=blocks
        )
    except SlackApiError as exc:
        log.warning("slack: chat.update failed for %s: %s", action.gate_id, exc.response.get("error"))
    except (SlackClientError, OSError) as exc:
        log.warning("slack: chat.update failed for %s: %s", action.gate_id, type(exc).__name__)


async def apply_action(app: FastAPI, action: SlackAction) -> None:
    """Decide the gate through the workflow update (channel slack, approver `action.user`: the
    approver the Slack user id maps to)."""
    settings: Settings = app.state.settings
    engine = app.state.engine
    client = getattr(app.state, "temporal", None)
    decision = GateDecision(
        gate_id=action.gate_id, decision=action.decision, approver=action.user, channel=Channel.slack
    )
    try:
        result = await service.decide(client, engine, decision)
    except DomainError as exc:
        log.info("slack: decision on %s by %s refused: %s", action.gate_id, action.user, exc.message)
        await _reply(action, f"Your decision was not applied: {exc.message}")
        gate = await service.in_session(engine, lambda s: readmodel.get_gate(s, action.gate_id))
        if isinstance(exc, Conflict) and gate is not None and gate.decided_at is not None:
            project = await service.in_session(engine, lambda s: readmodel.get_project(s, gate.project_id))
            blocks = decided_blocks(
                gate_id=gate.id,
                title=gate.title,
                project_name=project.name if project else gate.project_id,
                status=gate.status,
                decided_by=gate.decided_by or "someone",
                decided_at=gate.decided_at,
                channel=gate.channel or "",
                comment=gate.comment or "",
            )
            await _update_message(
                settings, action, decided_text(gate.title, gate.status, gate.decided_by or ""), blocks
            )
        return
    except Exception:
        log.exception("slack: applying the decision on %s failed", action.gate_id)
        await _reply(action, "Boardroom could not apply your decision (internal error); try the web link.")
        return

    def names(session: Any) -> tuple[str, str]:
        gate = readmodel.get_gate(session, action.gate_id)
        project = readmodel.get_project(session, gate.project_id) if gate else None
        return (gate.title if gate else action.gate_id, project.name if project else "")

    if result.status == GateStatus.pending:
        # A vote on a gate that needs several approvals: the buttons stay for the other approvers.
        log.info(
            "slack: %s vote by %s (%s of %s)",
            action.gate_id,
            result.decided_by,
            result.approvals,
            result.approvals_needed,
        )
        await _reply(
            action,
            f"Your approval is recorded ({result.approvals} of {result.approvals_needed} approvals); "
            "the decision is taken once enough approvers approve, or at the first rejection.",
        )
        return
    title, project_name = await service.in_session(engine, names)
    log.info("slack: %s %s by %s", action.gate_id, result.status.value, result.decided_by)
    blocks = decided_blocks(
        gate_id=result.gate_id,
        title=title,
        project_name=project_name,
        status=result.status,
        decided_by=result.decided_by,
        decided_at=result.decided_at,
        channel=Channel.slack.value,
    )
    await _update_message(settings, action, decided_text(title, result.status, result.decided_by), blocks)
