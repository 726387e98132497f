"""Notification channels beside Slack: email over SMTP and the signed outgoing webhook.

Gate notices (`notify_email`, `notify_webhook`) and the daily digest (`collect_digest`,
`send_digest`, which can also post to Slack). Every message names the project and the decision
and carries the signed approval link, minted here so it never enters a workflow history; nothing
else secret goes out (no keys, no tokens, no receiver URL in errors).

Failures are raised for Temporal to retry: connection errors, timeouts, SMTP 4xx and HTTP
408/429/5xx as `NotificationUnavailable`; what retrying cannot fix (SMTP 5xx, HTTP 4xx, a server
without STARTTLS, no signing key) as non-retryable `NotificationRejected`. The workflows catch
the final failure and log it: a dead receiver never fails a project.
"""

from __future__ import annotations

import asyncio
import email.policy
import html
import json
import logging
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, or_
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notify import GateNotifier
from approvals.slack_blocks import escape as slack_escape
from approvals.tokens import LINK_TTL, approval_link
from approvals.webhook_signing import DELIVERY_HEADER, EVENT_HEADER, sign_webhook
from boardroom.settings import Settings
from domain.enums import GateKind, GateStatus, Risk
from domain.records import GateRecord
from store.db import get_engine
from store.tables import Gate, Project, project_value
from workflows.digest import DigestBatch, DigestGate, DigestInput, DigestSend
from workflows.notices import NotifyChannel

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_S = 10.0
USER_AGENT = "Boardroom-Webhook/1"
# A receiver's Retry-After is honoured up to this long (the retry policy bounds the rest).
MAX_RETRY_AFTER_S = 60
ENDED = ("completed", "failed", "cancelled")
SUBJECT_MAX = 150
# CRLF line ends; headers folded only past RFC 5322's hard limit, since the default folding
# starts a long subject on a line of its own, which some clients show as a leading blank.
MAIL_POLICY = email.policy.SMTP.clone(max_line_length=998)


def unavailable(message: str, retry_after: float | None = None) -> ApplicationError:
    """Worth another attempt: the receiver is away or busy."""
    delay = timedelta(seconds=min(retry_after, MAX_RETRY_AFTER_S)) if retry_after else None
    return ApplicationError(message, type="NotificationUnavailable", next_retry_delay=delay)


def rejected(message: str) -> ApplicationError:
    """Retrying cannot fix it: refused, misconfigured or unsigned."""
    return ApplicationError(message, type="NotificationRejected", non_retryable=True)


@dataclass
class Notice:
    """One message, in the shapes each channel sends."""

    event: str  # gate.opened, gate.reminder, digest
    delivery_id: str  # the same for every retry of this message: receivers drop duplicates
    subject: str
    text: str
    html: str
    payload: dict[str, Any] = field(default_factory=dict)
    slack_text: str = ""


# --- senders ----------------------------------------------------------------------------------


class EmailSender:
    """One message to BOARDROOM_EMAIL_TO through BOARDROOM_SMTP_HOST (smtplib in a thread)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def message(self, notice: Notice) -> EmailMessage:
        s = self._settings
        msg = EmailMessage(policy=MAIL_POLICY)
        msg["Subject"] = _one_line(notice.subject, SUBJECT_MAX)
        msg["From"] = s.email_from
        msg["To"] = ", ".join(s.email_to_list)
        msg["Date"] = formatdate(usegmt=True)
        domain = urlsplit(s.public_url).hostname or "boardroom.local"
        msg["Message-ID"] = f"<{re.sub(r'[^A-Za-z0-9.-]', '-', notice.delivery_id)}@{domain}>"
        msg["X-Boardroom-Event"] = notice.event
        msg.set_content(notice.text)
        msg.add_alternative(notice.html, subtype="html")
        return msg

    async def send(self, notice: Notice) -> None:
        await asyncio.to_thread(self._send, self.message(notice))

    def _send(self, msg: EmailMessage) -> None:
        s = self._settings
        if not (s.smtp_host and s.email_to_list):
            raise rejected("email is not configured (BOARDROOM_SMTP_HOST, BOARDROOM_EMAIL_TO)")
        where = f"{s.smtp_host}:{s.smtp_port}"
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s) as smtp:
                smtp.ehlo()
                if s.smtp_starttls:
                    if not smtp.has_extn("starttls"):
                        raise rejected(
                            f"the SMTP server {where} does not offer STARTTLS "
                            "(set BOARDROOM_SMTP_STARTTLS=false only for a trusted local relay)"
                        )
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if s.smtp_username:
                    smtp.login(s.smtp_username, s.smtp_password or "")
                smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(code >= 500 for code in codes):
                raise rejected(f"the SMTP server {where} refused every recipient ({codes})") from None
            raise unavailable(f"the SMTP server {where} deferred the recipients ({codes})") from None
        except smtplib.SMTPResponseException as exc:
            # Authentication failures (535), refused senders and other 5xx answers are permanent.
            what = f"the SMTP server {where} answered {exc.smtp_code} ({type(exc).__name__})"
            raise (rejected(what) if exc.smtp_code >= 500 else unavailable(what)) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise unavailable(f"cannot deliver through the SMTP server {where} ({type(exc).__name__})") from None


class WebhookSender:
    """POSTs a notice as JSON to BOARDROOM_NOTIFY_WEBHOOK_URL, signed (approvals.webhook_signing)."""

    def __init__(self, settings: Settings, timeout_s: float = WEBHOOK_TIMEOUT_S) -> None:
        self._settings = settings
        self._timeout_s = timeout_s

    @staticmethod
    def body(notice: Notice) -> bytes:
        return json.dumps(notice.payload, separators=(",", ":"), ensure_ascii=False).encode()

    async def send(self, notice: Notice) -> None:
        s = self._settings
        if not (s.notify_webhook_url and s.notify_webhook_secret):
            raise rejected("the webhook is not configured (BOARDROOM_NOTIFY_WEBHOOK_URL, ..._SECRET)")
        body = self.body(notice)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_HEADER: notice.event,
            DELIVERY_HEADER: notice.delivery_id,
            **sign_webhook(s.notify_webhook_secret, body),
        }
        # The URL can hold a token of the receiver's: errors name only its host.
        host = urlsplit(s.notify_webhook_url).hostname
        try:
            async with httpx.AsyncClient(timeout=self._timeout_s, follow_redirects=False) as http:
                resp = await http.post(s.notify_webhook_url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise unavailable(f"webhook: cannot reach {host} ({type(exc).__name__})") from None
        status = resp.status_code
        if 200 <= status < 300:
            return
        if status in (408, 429) or status >= 500:
            raise unavailable(f"webhook: {host} answered HTTP {status}", _retry_after(resp))
        raise rejected(f"webhook: {host} refused the notification with HTTP {status}")


def _retry_after(resp: httpx.Response) -> float | None:
    try:
        return max(0.0, float(resp.headers.get("Retry-After", "")))
    except ValueError:
        return None


# --- composing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Link:
    url: str | None  # None once it has expired
    expires_at: datetime


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _when(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _risk(risk: Risk | str) -> str:
    return Risk(risk).value


def _kind(kind: GateKind | str) -> str:
    return GateKind(kind).value.replace("_", " ")


class ChannelActivities:
    """Gate notices and the daily digest over email, the webhook (and Slack for the digest)."""

    def __init__(self, settings: Settings, slack: GateNotifier | None = None) -> None:
        self._settings = settings
        self._email = EmailSender(settings)
        self._webhook = WebhookSender(settings)
        self._slack = slack or GateNotifier(settings)

    def _session(self) -> Session:
        return Session(get_engine(self._settings.database_url), expire_on_commit=False)

    def _link(self, gate_id: str, approver: str, created_at: datetime) -> _Link:
        s = self._settings
        expires = _utc(created_at) + LINK_TTL
        if datetime.now(UTC) >= expires:
            return _Link(None, expires)
        try:
            return _Link(approval_link(s.secret_key, s.public_url, gate_id, approver, created_at), expires)
        except ValueError as exc:  # no key to sign with: a message without its link is no use
            raise rejected(str(exc)) from None

    # --- gate notices -------------------------------------------------------------------------

    @activity.defn(name="notify_email")
    async def notify_email(self, record: GateRecord) -> None:
        """Emails the gate (or its reminder) with the signed link. A retry may send twice; the
        Message-ID is the same, so mail clients show one."""
        notice = await asyncio.to_thread(self._gate_notice, record)
        if notice is not None:
            await self._email.send(notice)
            log.info("email: %s for gate %s sent", notice.event, record.gate.id)

    @activity.defn(name="notify_webhook")
    async def notify_webhook(self, record: GateRecord) -> None:
        """POSTs the gate (or its reminder) to the webhook, signed; X-Boardroom-Delivery is the
        same on every retry, so the receiver can drop duplicates."""
        notice = await asyncio.to_thread(self._gate_notice, record)
        if notice is not None:
            await self._webhook.send(notice)
            log.info("webhook: %s for gate %s delivered", notice.event, record.gate.id)

    def _gate_notice(self, record: GateRecord) -> Notice | None:
        gate = record.gate
        with self._session() as session:
            row = session.get(Gate, gate.id)
            name = project_value(session, record.project_id, Project.name) or record.project_id
        if row is not None and row.status != GateStatus.pending.value:
            log.info("notify: gate %s is already %s; nothing sent", gate.id, row.status)
            return None
        link = self._link(gate.id, record.approver, gate.created_at)
        url = link.url or self._settings.public_url
        event = "gate.reminder" if record.reminder else "gate.opened"
        delivery = f"{gate.id}.reminder-{gate.reminders}" if record.reminder else f"{gate.id}.opened"
        lead = "Reminder: a decision is still waiting for you" if record.reminder else "A decision is waiting for you"
        facts = f"Project: {name}\nKind: {_kind(gate.kind)}   Risk: {_risk(gate.risk)}"
        questions = [q.text for q in gate.questions]
        action = "Answer" if gate.kind == GateKind.interview else "Decide"
        text = "\n\n".join(
            part
            for part in (
                f"{lead}.",
                f"{gate.title}\n{facts}",
                gate.summary,
                "Questions:\n" + "\n".join(f"- {q}" for q in questions) if questions else "",
                f"{action} here (a signed link for this decision only, single use, "
                f"valid until {_when(link.expires_at)}):\n{url}",
                "— Boardroom",
            )
            if part
        )
        e = html.escape
        body_html = (
            f"<p>{e(lead)}.</p><h2>{e(gate.title)}</h2>"
            f"<p><b>Project:</b> {e(name)}<br><b>Kind:</b> {e(_kind(gate.kind))} &nbsp; "
            f"<b>Risk:</b> {e(_risk(gate.risk))}</p>"
            + (f"<p>{e(gate.summary)}</p>" if gate.summary else "")
            + ("<ul>" + "".join(f"<li>{e(q)}</li>" for q in questions) + "</ul>" if questions else "")
            + f'<p><a href="{e(url)}">{action} in the browser</a> (single use, valid until '
            f"{e(_when(link.expires_at))})</p>"
        )
        prefix = "Reminder: decision needed" if record.reminder else "Decision needed"
        payload = {
            "event": event,
            "delivery_id": delivery,
            "project": {"id": record.project_id, "name": name},
            "gate": {
                "id": gate.id,
                "kind": GateKind(gate.kind).value,
                "title": gate.title,
                "summary": gate.summary,
                "risk": _risk(gate.risk),
                "reminders": gate.reminders,
                "created_at": _utc(gate.created_at).isoformat(),
                "questions": [{"id": q.id, "text": q.text} for q in gate.questions],
            },
            "approve_url": link.url,
            "approve_url_expires_at": link.expires_at.isoformat(),
        }
        return Notice(
            event=event,
            delivery_id=delivery,
            subject=f"{prefix}: {gate.title} ({name})",
            text=text,
            html=body_html,
            payload=payload,
        )

    # --- the daily digest ---------------------------------------------------------------------

    @activity.defn(name="collect_digest")
    async def collect_digest(self, data: DigestInput) -> DigestBatch:
        """The oldest pending gates of running projects (capped), their count, and the digest's
        channels from the settings. Read-only."""
        return await asyncio.to_thread(self._collect, data)

    def _collect(self, data: DigestInput) -> DigestBatch:
        waiting = (
            select(Gate, Project.name)
            .join(Project, col(Project.id) == col(Gate.project_id), isouter=True)
            .where(Gate.status == GateStatus.pending.value)
            .where(or_(col(Project.status).is_(None), col(Project.status).not_in(ENDED)))
        )
        with self._session() as session:
            total = session.exec(select(func.count()).select_from(waiting.subquery())).one()
            rows = session.exec(waiting.order_by(col(Gate.created_at), col(Gate.id)).limit(data.max_gates)).all()
        gates = [
            DigestGate(
                id=gate.id,
                project_id=gate.project_id,
                project_name=(name or gate.project_id)[:200],
                kind=GateKind(gate.kind),
                title=gate.title[:300],
                risk=Risk(gate.risk),
                approver=gate.approver,
                created_at=_utc(gate.created_at),
                reminders=gate.reminders,
            )
            for gate, name in rows
        ]
        channels = [NotifyChannel(c) for c in self._settings.channels_for("digest")]
        return DigestBatch(gates=gates, total=int(total), channels=channels)

    @activity.defn(name="send_digest")
    async def send_digest(self, data: DigestSend) -> None:
        """Sends the digest on one channel. A retry may send twice (the webhook's delivery id is
        per run, so a receiver can tell)."""
        notice = self._digest_notice(data)
        if data.channel == NotifyChannel.email:
            await self._email.send(notice)
        elif data.channel == NotifyChannel.webhook:
            await self._webhook.send(notice)
        else:
            await asyncio.to_thread(self._post_slack, notice.slack_text)
        log.info("digest: %d gate(s) sent by %s", len(data.gates), data.channel.value)

    def _digest_notice(self, data: DigestSend) -> Notice:
        s = self._settings
        console = s.public_url.rstrip("/") + "/"
        info = activity.info()
        # Per run (two runs triggered in one second share a workflow id), the same on every retry.
        delivery = f"digest.{info.workflow_id}.{info.workflow_run_id}"
        links = [self._link(g.id, g.approver, g.created_at) for g in data.gates]
        count = f"{data.total} decision{'s' if data.total != 1 else ''}"
        more = data.total - len(data.gates)
        e = html.escape

        def line(g: DigestGate) -> str:
            since = _when(g.created_at)
            return f"[{_risk(g.risk)}] {g.title} — {g.project_name} ({_kind(g.kind)}, waiting since {since})"

        text_items, html_items, slack_items, items = [], [], [], []
        for g, link in zip(data.gates, links, strict=True):
            target = link.url or f"link expired: decide in the console, {console}"
            text_items.append(f"- {line(g)}\n  {target}")
            anchor = (
                f'<a href="{e(link.url)}">decide</a>'
                if link.url
                else f'link expired: <a href="{e(console)}">console</a>'
            )
            html_items.append(f"<li>{e(line(g))} — {anchor}</li>")
            title = slack_escape(_one_line(g.title, 150))
            slack_items.append(
                f"• <{link.url}|{title}> — {slack_escape(g.project_name)} ({_risk(g.risk)})"
                if link.url
                else f"• {title} — {slack_escape(g.project_name)} ({_risk(g.risk)}; link expired)"
            )
            items.append(
                {
                    "gate_id": g.id,
                    "project": {"id": g.project_id, "name": g.project_name},
                    "kind": GateKind(g.kind).value,
                    "title": g.title,
                    "risk": _risk(g.risk),
                    "created_at": _utc(g.created_at).isoformat(),
                    "reminders": g.reminders,
                    "approve_url": link.url,
                    "approve_url_expires_at": link.expires_at.isoformat(),
                }
            )
        tail = f"… and {more} more in the console: {console}" if more > 0 else f"The console: {console}"
        text = "\n\n".join(
            [
                f"{count} wait{'s' if data.total == 1 else ''} for you.",
                "\n".join(text_items),
                "Each link is signed for its decision only and works once.",
                tail,
                "— Boardroom",
            ]
        )
        body_html = (
            f"<p>{e(count)} wait{'s' if data.total == 1 else ''} for you.</p><ul>{''.join(html_items)}</ul>"
            f"<p>Each link is signed for its decision only and works once.</p><p>{e(tail)}</p>"
        )
        slack_text = "\n".join(
            [f":sunrise: *Daily digest:* {count} wait{'s' if data.total == 1 else ''} for you.", *slack_items]
            + ([f"… and {more} more in <{console}|the console>."] if more > 0 else [])
        )
        return Notice(
            event="digest",
            delivery_id=delivery,
            subject=f"Boardroom digest: {count} waiting for you",
            text=text,
            html=body_html,
            payload={
                "event": "digest",
                "delivery_id": delivery,
                "pending": data.total,
                "gates": items,
                "console_url": console,
            },
            slack_text=slack_text,
        )

    def _post_slack(self, text: str) -> None:
        if not self._slack.configured:
            raise rejected("Slack is not configured (SLACK_BOT_TOKEN)")
        from slack_sdk.errors import SlackApiError, SlackClientError

        try:
            # The gate notifier's client: the same base URL, timeout and bounded retries.
            self._slack._client().chat_postMessage(
                channel=self._settings.slack_channel, text=text, unfurl_links=False, unfurl_media=False
            )
        except SlackApiError as exc:
            status = exc.response.status_code
            what = f"slack: chat.postMessage answered {exc.response.get('error')} (HTTP {status})"
            raise (unavailable(what) if status == 429 or status >= 500 else rejected(what)) from None
        except (SlackClientError, OSError) as exc:
            raise unavailable(f"slack: chat.postMessage failed ({type(exc).__name__})") from None

    def activities(self) -> list[Any]:
        return [self.notify_email, self.notify_webhook, self.collect_digest, self.send_digest]
