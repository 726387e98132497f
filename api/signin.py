"""Browser sign-in when BOARDROOM_API_KEYS is set: one-time login links and the session cookie.

A key holder asks for a login link (`POST /auth/login-links`, `boardroom login-link`); opening
it spends it (store.tokens, so single use holds across replicas and restarts) and sets a session
cookie bound to the same principal. Both are `<version>.<payload>.<signature>` with url-safe
base64 parts, HMAC-SHA256 under a key derived from BOARDROOM_SECRET_KEY for that purpose alone,
so a login token is never a valid cookie, nor either of them an approval link.

Each carries a fingerprint of the API key it was made for (an HMAC of the key, never the key):
a session stops working when its key is removed from BOARDROOM_API_KEYS or replaced. Signing
out records the session id as spent, so a copied cookie dies with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from approvals.tokens import ExpiredToken, ForgedToken
from boardroom.settings import Settings

LOGIN_VERSION = "l1"
SESSION_VERSION = "s1"
COOKIE = "boardroom_session"
MAX_TOKEN_CHARS = 1000
_LOGIN_PURPOSE = b"boardroom/login-link/v1"
_SESSION_PURPOSE = b"boardroom/session/v1"
_FINGERPRINT_PURPOSE = b"boardroom/key-fingerprint/v1"


class SessionInvalid(Exception):
    """A cookie that does not sign anyone in; the message says why, for the sign-in page."""


@dataclass(frozen=True)
class Grant:
    """What a login link or a session cookie says: who, for which key, until when, and its id."""

    principal: str
    key_fingerprint: str
    expires_at: datetime
    token_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(secret: str, purpose: bytes) -> bytes:
    return hmac.new(secret.encode(), purpose, hashlib.sha256).digest()


def _sign(key: bytes, body: str) -> bytes:
    return hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()


def key_fingerprint(secret: str, api_key: str) -> str:
    """A short, keyed digest of one API key: names the key in a token without revealing it."""
    return _b64(hmac.new(_key(secret, _FINGERPRINT_PURPOSE), api_key.encode(), hashlib.sha256).digest()[:12])


def _mint(secret: str, purpose: bytes, version: str, grant: Grant) -> str:
    claims = {
        "p": grant.principal,
        "kf": grant.key_fingerprint,
        "exp": int(grant.expires_at.timestamp()),
        "id": grant.token_id,
    }
    payload = json.dumps(
        claims,
        separators=(",", ":"),
        sort_keys=True,
    )
    body = f"{version}.{_b64(payload.encode())}"
    return f"{body}.{_b64(_sign(_key(secret, purpose), body))}"


def _read(secret: str, purpose: bytes, version: str, token: str, what: str) -> Grant:
    """The grant of a genuine token (expired or not); ForgedToken otherwise."""
    parts = token.strip().split(".")
    if len(token) > MAX_TOKEN_CHARS or len(parts) != 3 or parts[0] != version:
        raise ForgedToken(f"this {what} is malformed")
    body = f"{parts[0]}.{parts[1]}"
    try:
        signature = _unb64(parts[2])
    except (ValueError, UnicodeEncodeError):
        raise ForgedToken(f"this {what} is malformed") from None
    if not hmac.compare_digest(signature, _sign(_key(secret, purpose), body)):
        raise ForgedToken(f"this {what} was not issued by this Boardroom (bad signature)")
    try:
        data = json.loads(_unb64(parts[1]))
        return Grant(
            principal=str(data["p"]),
            key_fingerprint=str(data["kf"]),
            expires_at=datetime.fromtimestamp(int(data["exp"]), UTC),
            token_id=str(data["id"]),
        )
    except (ValueError, KeyError, TypeError):
        raise ForgedToken(f"this {what} is malformed") from None


def principal_for(settings: Settings, grant: Grant) -> str | None:
    """The configured principal the grant is for, or None when its key is no longer configured."""
    found: str | None = None
    for name, key in settings.api_principals:
        same = hmac.compare_digest(key_fingerprint(settings.secret_key, key), grant.key_fingerprint)
        if same and name == grant.principal:
            found = name
    return found


# --- login links ---------------------------------------------------------------------------------


def mint_login(settings: Settings, principal: str, api_key: str, now: datetime) -> tuple[str, Grant]:
    """A one-time login token for the principal of `api_key`, valid for BOARDROOM_LOGIN_LINK_TTL_S."""
    grant = Grant(
        principal=principal,
        key_fingerprint=key_fingerprint(settings.secret_key, api_key),
        expires_at=(now + timedelta(seconds=settings.login_link_ttl_s)).replace(microsecond=0),
        token_id=secrets.token_urlsafe(16),
    )
    return _mint(settings.secret_key, _LOGIN_PURPOSE, LOGIN_VERSION, grant), grant


def login_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/auth/login/{token}"


def verify_login(settings: Settings, token: str, now: datetime) -> Grant:
    """A genuine, unexpired login token's grant; ForgedToken (403) or ExpiredToken (410)."""
    grant = _read(settings.secret_key, _LOGIN_PURPOSE, LOGIN_VERSION, token, "sign-in link")
    if now >= grant.expires_at:
        when = grant.expires_at.strftime("%Y-%m-%d %H:%M UTC")
        raise ExpiredToken(f"this sign-in link expired at {when}")
    return grant


def login_token_id(grant: Grant) -> str:
    """Its row in the spent-token table."""
    return f"login:{grant.token_id}"


# --- sessions ------------------------------------------------------------------------------------


def mint_session(settings: Settings, login: Grant, now: datetime) -> tuple[str, Grant]:
    """The session cookie a spent login link buys: same principal and key, its own id and expiry."""
    grant = Grant(
        principal=login.principal,
        key_fingerprint=login.key_fingerprint,
        expires_at=(now + timedelta(seconds=settings.session_ttl_s)).replace(microsecond=0),
        token_id=secrets.token_urlsafe(16),
    )
    return _mint(settings.secret_key, _SESSION_PURPOSE, SESSION_VERSION, grant), grant


def read_session(settings: Settings, cookie: str) -> Grant:
    """The grant of a genuine session cookie, expired or not (sign-out revokes those too)."""
    try:
        return _read(settings.secret_key, _SESSION_PURPOSE, SESSION_VERSION, cookie, "session")
    except ForgedToken as exc:
        raise SessionInvalid("your session cookie was not issued by this Boardroom") from exc


def verify_session(settings: Settings, cookie: str, now: datetime) -> tuple[str, Grant]:
    """(principal, grant) of a live session; SessionInvalid with the reason otherwise. The caller
    still checks the session was not signed out (`session_token_id` in the spent table)."""
    grant = read_session(settings, cookie)
    if now >= grant.expires_at:
        raise SessionInvalid("your session has expired")
    name = principal_for(settings, grant)
    if name is None:
        raise SessionInvalid("the API key your session was made for is no longer configured")
    return name, grant


def session_token_id(grant: Grant) -> str:
    return f"session:{grant.token_id}"


def cookie_secure(settings: Settings) -> bool:
    """Secure cookies when the public URL is https (plain http on loopback could not send them)."""
    return settings.public_url.lower().startswith("https://")
