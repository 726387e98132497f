"""Signed approval links: HMAC-SHA256 tokens bound to one gate and one approver.

A token is `v1.<payload>.<signature>`, both parts url-safe base64 without padding. The payload
carries the gate id, the approver, the expiry (epoch seconds) and a token id (jti). Tokens are
deterministic — minting twice for the same gate gives the same link — so the Slack message,
the API listing and the dashboard all hand out the same URL. Single use is enforced against
the decision record, not by the token: once a gate is decided every link to it is spent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

VERSION = "v1"
LINK_TTL = timedelta(days=7)
_PURPOSE = b"boardroom/approval-link/v1"


class TokenError(Exception):
    """A link that must not be honoured; `status_code` is what the page answers with."""

    status_code = 400


class ForgedToken(TokenError):
    """Bad signature, malformed, or bound to another gate."""

    status_code = 403


class ExpiredToken(TokenError):
    status_code = 410


class UsedToken(TokenError):
    """The gate was already decided (through any channel)."""

    status_code = 410


@dataclass(frozen=True)
class TokenClaims:
    gate_id: str
    approver: str
    expires_at: datetime
    token_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(secret: str) -> bytes:
    # A key of its own for links, so the same secret can sign other things without confusion.
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def _sign(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("ascii"), hashlib.sha256).digest()


def _utc(moment: datetime) -> datetime:
    """Naive datetimes in this project are UTC (store.tables.utcnow)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def mint(
    secret: str,
    gate_id: str,
    approver: str,
    created_at: datetime,
    ttl: timedelta = LINK_TTL,
) -> str:
    """The token for one gate and approver, valid for `ttl` from the gate's creation."""
    if not secret:
        raise ValueError("a secret key is required to sign approval links")
    key = _key(secret)
    expires = int((_utc(created_at) + ttl).timestamp())
    jti = _b64(_sign(key, f"jti|{gate_id}|{approver}|{expires}")[:12])
    payload = json.dumps(
        {"g": gate_id, "a": approver, "exp": expires, "jti": jti}, separators=(",", ":"), sort_keys=True
    )
    body = f"{VERSION}.{_b64(payload.encode())}"
    return f"{body}.{_b64(_sign(key, body))}"


def verify(secret: str, token: str, now: datetime, gate_id: str | None = None) -> TokenClaims:
    """The claims of a genuine, unexpired token; ForgedToken or ExpiredToken otherwise.

    `gate_id`, when given, must be the gate the token was minted for.
    """
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise ForgedToken("this approval link is malformed")
    body = f"{parts[0]}.{parts[1]}"
    try:
        signature = _unb64(parts[2])
    except (ValueError, UnicodeEncodeError):
        raise ForgedToken("this approval link is malformed") from None
    if not hmac.compare_digest(signature, _sign(_key(secret), body)):
        raise ForgedToken("this approval link was not issued by Boardroom (bad signature)")
    try:
        data = json.loads(_unb64(parts[1]))
        claims = TokenClaims(
            gate_id=str(data["g"]),
            approver=str(data["a"]),
            expires_at=datetime.fromtimestamp(int(data["exp"]), UTC),
            token_id=str(data["jti"]),
        )
    except (ValueError, KeyError, TypeError):
        raise ForgedToken("this approval link is malformed") from None
    if gate_id is not None and not hmac.compare_digest(claims.gate_id.encode(), gate_id.encode()):
        raise ForgedToken("this approval link belongs to another decision")
    if _utc(now) >= claims.expires_at:
        when = claims.expires_at.strftime("%Y-%m-%d %H:%M UTC")
        raise ExpiredToken(f"this approval link expired on {when}")
    return claims


def ensure_unused(
    claims: TokenClaims,
    status: str,
    decided_by: str | None = None,
    decided_at: datetime | None = None,
) -> None:
    """Raise UsedToken when the gate's decision record says it is already decided."""
    if status == "pending":
        return
    who = decided_by or "someone"
    when = f" at {_utc(decided_at).strftime('%Y-%m-%d %H:%M UTC')}" if decided_at else ""
    raise UsedToken(f"decision {claims.gate_id} was already {status} by {who}{when}")


def approval_url(public_url: str, token: str) -> str:
    """The absolute link a person opens: `{BOARDROOM_PUBLIC_URL}/a/{token}`."""
    return f"{public_url.rstrip('/')}/a/{token}"


def approval_link(
    secret: str,
    public_url: str,
    gate_id: str,
    approver: str,
    created_at: datetime,
    ttl: timedelta = LINK_TTL,
) -> str:
    """Mint and wrap in one call (what the Slack activity and the API both use)."""
    return approval_url(public_url, mint(secret, gate_id, approver, created_at, ttl))
