"""Bearer API keys (BOARDROOM_API_KEYS); with none configured, loopback clients only.

Signed endpoints (approval links, Slack, webhooks) do not use this: their signature is the
credential. Keys are never logged.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging

from fastapi import HTTPException, Request, status

from boardroom.settings import Settings

log = logging.getLogger("boardroom.api")


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def key_matches(presented: str, keys: list[str]) -> bool:
    """Constant-time comparison against every configured key (no early exit on a match)."""
    found = False
    for key in keys:
        found |= hmac.compare_digest(presented.encode(), key.encode())
    return found


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def require_api_key(request: Request) -> None:
    """Dependency for the JSON APIs and the dashboard."""
    settings: Settings = request.app.state.settings
    keys = settings.api_key_list
    if not keys:
        host = request.client.host if request.client else None
        if not is_loopback(host):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "BOARDROOM_API_KEYS is not set: this API answers loopback clients only",
            )
        return
    token = bearer_token(request)
    if token is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token (Authorization: Bearer <key>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not key_matches(token, keys):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid API key", headers={"WWW-Authenticate": "Bearer"})


def warn_if_open(settings: Settings) -> None:
    if not settings.api_key_list:
        log.warning("BOARDROOM_API_KEYS is not set: the JSON API and dashboard answer loopback clients only")
