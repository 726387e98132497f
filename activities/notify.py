"""Slack messages: the `open_gate` activity's notifier, and the project page link that the
phase notices (`notify_slack`, posted by the project workflow at each phase change) carry.

When a gate opens, the CEO's channel gets the Block Kit message from `approvals.slack_blocks`
(title, summary, risk, Approve / Reject / Open in browser with the signed link); a reminder
re-posts it with a reminder line. The message's channel id and ts are stored on the gate row,
so whoever later decides the gate can find the message to update.

Slack failures never fail the gate: `open_gate` runs inside the project workflow's signal
handler, and an activity that exhausted its retries there would fail the whole project. So a
transient Slack error is retried in-process (bounded, by slack-sdk's own retry handlers) and
anything left is logged; the gate still waits for its decision through the web link, the API
or the Temporal UI, and the reminder posts again later.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.error
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from sqlmodel import Session, select

from approvals.policy import auto_approves
from approvals.slack_blocks import Block, gate_blocks, gate_text
from approvals.tokens import approval_link
from boardroom.settings import Settings
from domain.enums import AutoApprove, GateStatus
from domain.records import GateRecord
from store.db import get_engine
from store.tables import Gate, Project

if TYPE_CHECKING:
    from slack_sdk import WebClient

log = logging.getLogger(__name__)

# Per HTTP call; with the retries below a post stays well inside open_gate's 30 s timeout.
SLACK_TIMEOUT_S = 5
SLACK_SERVER_ERROR_RETRIES = 2


def project_page_url(public_url: str, project_id: str) -> str:
    """The project's page on the dashboard (what `api.links.view_url` serves)."""
    return f"{public_url.rstrip('/')}/projects/{quote(project_id, safe='')}/view"


@dataclass(frozen=True)
class PostedMessage:
    """Where a gate's message landed: the channel id (what chat.update wants) and its ts."""

    channel: str
    ts: str


@dataclass(frozen=True)
class _GateContext:
    project_name: str
    skip: str = ""  # why nothing is posted, when something says so


def reminder_block(reminders: int) -> Block:
    count = f" (reminder {reminders})" if reminders > 1 else ""
    return {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": f":alarm_clock: *Reminder{count}:* this decision is still waiting for you.",
        },
    }


class GateNotifier:
    """Posts a gate's approval message to `settings.slack_channel`; re-posts on a reminder.

    Called by `StoreActivities.open_gate` after the gate row is stored. Idempotent for the
    first message (an activity retry finds the stored ts and posts nothing); a retried
    reminder may post twice, which is harmless.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @property
    def configured(self) -> bool:
        return bool(self._settings.slack_bot_token)

    def _client(self) -> WebClient:
        # slack-sdk is loaded on the first message, not at worker start.
        from slack_sdk import WebClient
        from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, ServerErrorRetryHandler

        base = self._settings.slack_api_url or WebClient.BASE_URL
        return WebClient(
            token=self._settings.slack_bot_token,
            # slack-sdk joins method names onto the base, so it must end with '/'.
            base_url=base if base.endswith("/") else base + "/",
            timeout=SLACK_TIMEOUT_S,
            retry_handlers=[
                ConnectionErrorRetryHandler(max_retry_count=1),
                ServerErrorRetryHandler(max_retry_count=SLACK_SERVER_ERROR_RETRIES),
            ],
        )

    def _session(self) -> Session:
        return Session(get_engine(self._settings.database_url), expire_on_commit=False)

    async def __call__(self, record: GateRecord) -> PostedMessage | None:
        gate = record.gate
        if not self.configured:
            log.debug("slack: SLACK_BOT_TOKEN is not set; no message for gate %s", gate.id)
            return None
        from slack_sdk.errors import SlackApiError, SlackClientError

        context = await asyncio.to_thread(self._context, record)
        if context.skip:
            log.info("slack: no message for gate %s: %s", gate.id, context.skip)
            return None
        try:
            url = approval_link(
                self._settings.secret_key, self._settings.public_url, gate.id, record.approver, gate.created_at
            )
        except ValueError as exc:  # no secret key to sign the link with
            log.warning("slack: no message for gate %s: %s", gate.id, exc)
            return None
        blocks = gate_blocks(gate, project_name=context.project_name, url=url)
        text = gate_text(gate, context.project_name)
        if record.reminder:
            blocks.insert(1, reminder_block(gate.reminders))
            text = f"Reminder: {text}"
        try:
            posted = await asyncio.to_thread(self._post, text, blocks)
        except SlackApiError as exc:
            log.warning(
                "slack: chat.postMessage for gate %s failed: %s (HTTP %s)",
                gate.id,
                exc.response.get("error"),
                exc.response.status_code,
            )
            return None
        except (SlackClientError, urllib.error.URLError, OSError) as exc:
            log.warning("slack: chat.postMessage for gate %s failed: %s", gate.id, type(exc).__name__)
            return None
        try:
            await asyncio.to_thread(self._remember, gate.id, posted)
        except Exception:
            # The message is out; losing its ts only means it cannot be updated later.
            log.exception("slack: could not store the message of gate %s", gate.id)
        log.info("slack: %s for gate %s posted (%s)", "reminder" if record.reminder else "message", gate.id, posted.ts)
        return posted

    def _context(self, record: GateRecord) -> _GateContext:
        gate = record.gate
        with self._session() as session:
            row = session.get(Gate, gate.id)
            project = session.exec(
                select(Project.name, Project.auto_approve).where(Project.id == record.project_id)
            ).first()
        name, policy = project if project is not None else (record.project_id, None)
        if row is not None and row.status != GateStatus.pending.value:
            return _GateContext(name, f"already {row.status}")
        if row is not None and row.slack_ts and not record.reminder:
            return _GateContext(name, f"already posted ({row.slack_ts})")
        # Policy decides these at once (the workflow records that decision): nothing to ask.
        if record.auto_approved:
            return _GateContext(name, "auto-approved by policy")
        if policy is not None and auto_approves(AutoApprove(policy), gate.risk, gate.kind):
            return _GateContext(name, f"auto-approved by policy ({policy})")
        return _GateContext(name)

    def _post(self, text: str, blocks: list[Block]) -> PostedMessage:
        resp = self._client().chat_postMessage(
            channel=self._settings.slack_channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
        )
        return PostedMessage(channel=str(resp.get("channel") or self._settings.slack_channel), ts=str(resp["ts"]))

    def _remember(self, gate_id: str, posted: PostedMessage) -> None:
        with self._session() as session:
            row = session.get(Gate, gate_id)
            if row is None:
                log.warning("slack: gate %s has no row to store its message on", gate_id)
                return
            row.slack_channel = posted.channel
            row.slack_ts = posted.ts
            session.add(row)
            session.commit()
