"""Signed business events from Stripe and GitHub, deduplicated and routed to the project workflow.

Each delivery is verified (Stripe-Signature / X-Hub-Signature-256), mapped to a `BusinessEvent`,
stored once in `BusinessEventRecord` (its id is the provider's event or delivery id, so a
redelivery is recognised) and signalled to the project's workflow. Delivery is at least once:
when Temporal cannot be reached the event stays stored with `routed=False` and the answer is
503, so the provider retries and the retry re-sends the signal. The project workflow ignores an
event id it has already seen.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import stripe
from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode

from api.deps import SessionDep, SettingsDep, TemporalDep
from api.payload_guard import PayloadTooLarge, check_payloads
from domain.project import BusinessEvent
from store.tables import BusinessEventRecord, IntegrationRecord, Project
from workflows.ids import project_workflow_id
from workflows.project import ProjectWorkflow

log = logging.getLogger(__name__)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

# Stripe's own recommendation for how old a signed timestamp may be.
STRIPE_TOLERANCE_S = 300
SIGNAL_TIMEOUT = timedelta(seconds=5)


class WebhookAck(BaseModel):
    """What a webhook delivery did: accepted (stored and routed), duplicate, or ignored."""

    status: Literal["accepted", "duplicate", "ignored"]
    event_id: str | None = None
    kind: str | None = None
    project_id: str | None = None
    routed: bool = False
    reason: str = ""


class WebhookError(BaseModel):
    detail: str


RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": WebhookError, "description": "Bad signature or malformed body; nothing was stored"},
    413: {"model": WebhookError, "description": "Body (or the event it maps to) too large; nothing was stored"},
    503: {
        "model": WebhookError,
        "description": "Temporal could not be reached; the event is stored and routed on redelivery",
    },
}


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class StripeEventData(_Lenient):
    object: dict[str, Any]


class StripeEventIn(_Lenient):
    id: str
    type: str
    data: StripeEventData


class GitHubRepository(_Lenient):
    full_name: str = Field(max_length=200)
    html_url: str | None = Field(None, max_length=500)


class GitHubIssue(_Lenient):
    number: int = Field(ge=0, le=2**31)
    title: str = ""


class GitHubIssuesEventIn(_Lenient):
    action: str
    issue: GitHubIssue
    repository: GitHubRepository


class _BadRequest(Exception):
    """Becomes a 400 before anything is stored."""


def _bad_request(detail: str) -> JSONResponse:
    return JSONResponse(status_code=400, content={"detail": detail})


# --- mapping provider payloads to business events --------------------------------------------


# One event moves the KPIs by at most this much; anything larger is a malformed delivery.
MAX_EVENT_CENTS = 100_000_000  # $1,000,000
MAX_EVENT_ID = 200
MAX_SUMMARY = 500


def _cents(value: Any, field: str) -> float:
    """Stripe amounts are whole, non-negative numbers of cents; in dollars, or a 400."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _BadRequest(f"{field} is not a number")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise _BadRequest(f"{field} must be a whole number of cents, not {value!r}")
    if not 0 <= value <= MAX_EVENT_CENTS:
        raise _BadRequest(f"{field} must be between 0 and {MAX_EVENT_CENTS} cents, not {value!r}")
    return round(int(value) / 100, 2)


def checked_event(event: BusinessEvent) -> BusinessEvent:
    """Every value that goes into the signal, checked before anything is stored or routed: the
    workflow would drop an event it cannot decode (an infinite amount serializes as null)."""
    if not event.id or len(event.id) > MAX_EVENT_ID:
        raise _BadRequest(f"event id must be 1 to {MAX_EVENT_ID} characters")
    if not (math.isfinite(event.amount_usd) and 0 <= event.amount_usd <= MAX_EVENT_CENTS / 100):
        raise _BadRequest(f"amount out of range: {event.amount_usd!r}")
    return event.model_copy(update={"summary": event.summary[:MAX_SUMMARY]})


def stripe_business_event(evt: StripeEventIn) -> tuple[str | None, BusinessEvent] | None:
    """(project id from `metadata.project_id`, event) for the kinds we track; None otherwise."""
    obj = evt.data.object
    metadata = obj.get("metadata")
    raw_id = metadata.get("project_id") if isinstance(metadata, dict) else None
    project_id = raw_id if isinstance(raw_id, str) and raw_id else None
    currency = str(obj.get("currency") or "usd").upper()
    event_id = f"stripe:{evt.id}"
    if (evt.type == "checkout.session.completed" and obj.get("payment_status") != "unpaid") or (
        evt.type == "checkout.session.async_payment_succeeded"
    ):
        amount = _cents(obj.get("amount_total", 0), "amount_total")
        summary = f"checkout {obj.get('id', '')} paid {amount:.2f} {currency}"
        return project_id, BusinessEvent(
            id=event_id, source="stripe", kind="payment", amount_usd=amount, summary=summary
        )
    if evt.type == "charge.refunded":
        amount = _cents(obj.get("amount_refunded", 0), "amount_refunded")
        summary = f"charge {obj.get('id', '')} refunded {amount:.2f} {currency}"
        return project_id, BusinessEvent(
            id=event_id, source="stripe", kind="refund", amount_usd=amount, summary=summary
        )
    if evt.type == "customer.subscription.deleted":
        summary = f"subscription {obj.get('id', '')} cancelled"
        return project_id, BusinessEvent(id=event_id, source="stripe", kind="subscription_cancelled", summary=summary)
    return None


GITHUB_ISSUE_KINDS: dict[str, Literal["issue_opened", "issue_closed"]] = {
    "opened": "issue_opened",
    "reopened": "issue_opened",
    "closed": "issue_closed",
}


# --- database (sync; called through the thread pool) -----------------------------------------


def _known_project(session: Session, project_id: str) -> bool:
    if session.get(Project, project_id) is not None:
        return True
    stmt = select(IntegrationRecord.id).where(IntegrationRecord.project_id == project_id).limit(1)
    return session.exec(stmt).first() is not None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_github_project(session: Session, full_name: str, html_url: str | None) -> str | None:
    """The project whose launch created this repository (its `github` IntegrationRecord)."""
    stmt = select(IntegrationRecord).where(IntegrationRecord.name == "github")
    if html_url:
        exact = session.exec(stmt.where(IntegrationRecord.url == html_url)).first()
        if exact is not None:
            return exact.project_id
    # GitHub names are case-insensitive; the url ends with the full name, details confirm it.
    wanted = full_name.lower()
    pattern = "%/" + _escape_like(wanted)
    for row in session.exec(stmt.where(func.lower(IntegrationRecord.url).like(pattern, escape="\\"))):
        if str((row.details or {}).get("repo", "")).lower() == wanted:
            return row.project_id
    return None


def _insert_once(session: Session, project_id: str, event: BusinessEvent) -> BusinessEventRecord | None:
    """Insert the event and return None; if its id was seen before, return the existing row."""
    row = BusinessEventRecord(
        id=event.id,
        source=event.source,
        kind=event.kind,
        project_id=project_id,
        amount_usd=event.amount_usd,
        summary=event.summary,
        routed=False,
        received_at=datetime.now(UTC),
    )
    session.add(row)
    try:
        session.commit()
        return None
    except IntegrityError:
        session.rollback()
        existing = session.get(BusinessEventRecord, event.id)
        assert existing is not None
        return existing


def _mark_routed(session: Session, event_id: str) -> None:
    row = session.get(BusinessEventRecord, event_id)
    if row is not None and not row.routed:
        row.routed = True
        session.add(row)
        session.commit()


# --- routing ---------------------------------------------------------------------------------


class _TemporalUnavailable(Exception):
    pass


async def _signal(client: Client, project_id: str, event: BusinessEvent) -> bool:
    """True when the project's workflow got the signal; False when it no longer exists."""
    handle = client.get_workflow_handle_for(ProjectWorkflow.run, project_workflow_id(project_id))
    try:
        await handle.signal(ProjectWorkflow.business_event, event, rpc_timeout=SIGNAL_TIMEOUT)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            log.warning("business event %s kept unrouted: project %s has no running workflow", event.id, project_id)
            return False
        raise _TemporalUnavailable(f"{exc.status.name}: {exc}") from exc
    except Exception as exc:
        # A lazily connected client that cannot reach the server raises before any RPC.
        raise _TemporalUnavailable(f"{type(exc).__name__}: {exc}") from exc
    return True


async def _route(
    session: Session, client: Client, project_id: str | None, event: BusinessEvent, max_payload: int
) -> WebhookAck | JSONResponse:
    try:
        check_payloads(pydantic_data_converter.payload_converter, [event], max_payload, "the business event")
    except PayloadTooLarge as exc:
        return JSONResponse(status_code=413, content={"detail": str(exc)})
    if project_id is None or not await run_in_threadpool(_known_project, session, project_id):
        log.info("business event %s ignored: unknown project %r", event.id, project_id)
        return WebhookAck(status="ignored", event_id=event.id, kind=event.kind, reason="unknown project")
    existing = await run_in_threadpool(_insert_once, session, project_id, event)
    if existing is not None and existing.routed:
        return WebhookAck(
            status="duplicate", event_id=event.id, kind=event.kind, project_id=project_id, routed=existing.routed
        )
    # New, or seen before but never delivered to the workflow: (re)send the signal.
    try:
        routed = await _signal(client, project_id, event)
    except _TemporalUnavailable as exc:
        log.error("business event %s stored but not routed: %s", event.id, exc)
        return JSONResponse(
            status_code=503, content={"detail": "Temporal is unavailable; the event is stored, retry to route it"}
        )
    if routed:
        await run_in_threadpool(_mark_routed, session, event.id)
    return WebhookAck(
        status="duplicate" if existing is not None else "accepted",
        event_id=event.id,
        kind=event.kind,
        project_id=project_id,
        routed=routed,
    )


# --- routes ----------------------------------------------------------------------------------


@router.post("/stripe", response_model=WebhookAck, responses=RESPONSES)
async def stripe_webhook(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    client: TemporalDep,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> WebhookAck | JSONResponse:
    """A Stripe event (`checkout.session.completed`, `charge.refunded`,
    `customer.subscription.deleted`) for the project in the object's `metadata.project_id`.
    Idempotent: deduplicated by the Stripe event id."""
    payload = await request.body()
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(
            text, stripe_signature, settings.stripe_webhook_secret, tolerance=STRIPE_TOLERANCE_S
        )
    except UnicodeDecodeError:
        return _bad_request("body is not UTF-8")
    except stripe.SignatureVerificationError as exc:
        log.warning("stripe webhook refused: %s", exc.user_message or "bad signature")
        return _bad_request("invalid Stripe-Signature")
    try:
        evt = StripeEventIn.model_validate_json(payload)
        mapped = stripe_business_event(evt)
        if mapped is not None:
            mapped = (mapped[0], checked_event(mapped[1]))
    except (ValidationError, _BadRequest) as exc:
        return _bad_request(f"malformed Stripe event: {exc}".splitlines()[0])
    if mapped is None:
        return WebhookAck(
            status="ignored",
            event_id=f"stripe:{evt.id}"[:MAX_EVENT_ID],
            reason=f"event type {evt.type[:100]} not tracked",
        )
    project_id, event = mapped
    return await _route(session, client, project_id, event, settings.max_workflow_payload_bytes)


def _github_event(payload: bytes, content_type: str) -> GitHubIssuesEventIn:
    """The issues event, parsed by pydantic: bounded nesting (100k nested `[` is a validation
    error, not a RecursionError), lone surrogates refused."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = urllib.parse.parse_qs(payload.decode("utf-8"))
        return GitHubIssuesEventIn.model_validate_json(form.get("payload", ["null"])[0])
    return GitHubIssuesEventIn.model_validate_json(payload)


@router.post("/github", response_model=WebhookAck, responses=RESPONSES)
async def github_webhook(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    client: TemporalDep,
    x_hub_signature_256: Annotated[str | None, Header(alias="X-Hub-Signature-256")] = None,
    x_github_event: Annotated[str | None, Header(alias="X-GitHub-Event")] = None,
    x_github_delivery: Annotated[str | None, Header(alias="X-GitHub-Delivery")] = None,
) -> WebhookAck | JSONResponse:
    """A GitHub `issues` event (opened, reopened, closed) for the repository a project's launch
    created. Idempotent: deduplicated by `X-GitHub-Delivery`."""
    payload = await request.body()
    expected = "sha256=" + hmac.new(settings.github_webhook_secret.encode(), payload, hashlib.sha256).hexdigest()
    if not x_hub_signature_256 or not hmac.compare_digest(expected, x_hub_signature_256):
        log.warning("github webhook refused: bad or missing X-Hub-Signature-256")
        return _bad_request("invalid X-Hub-Signature-256")
    if not x_github_delivery:
        return _bad_request("missing X-GitHub-Delivery")
    event_id = f"github:{x_github_delivery}"
    if x_github_event != "issues":
        return WebhookAck(status="ignored", event_id=event_id, reason=f"event {x_github_event} not tracked")
    try:
        body = _github_event(payload, request.headers.get("content-type", ""))
        kind = GITHUB_ISSUE_KINDS.get(body.action)
        if kind is None:
            return WebhookAck(
                status="ignored", event_id=event_id, reason=f"issues action {body.action[:100]} not tracked"
            )
        event = checked_event(
            BusinessEvent(
                id=event_id,
                source="github",
                kind=kind,
                summary=f"{body.repository.full_name}#{body.issue.number} {body.action}: {body.issue.title}",
            )
        )
    except (ValueError, ValidationError, _BadRequest) as exc:
        return _bad_request(f"malformed GitHub event: {exc}".splitlines()[0])
    project_id = await run_in_threadpool(
        find_github_project, session, body.repository.full_name, body.repository.html_url
    )
    return await _route(session, client, project_id, event, settings.max_workflow_payload_bytes)
