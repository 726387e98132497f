"""Signed form tokens: a state-changing browser form proves it was served by this app, for this
purpose, recently — a page on another site cannot forge one (it cannot read ours)."""

from __future__ import annotations

import hashlib
import hmac
import time

from fastapi import Request

from boardroom.settings import Settings

FORM_TOKEN_TTL_S = 12 * 3600
# No single form field is longer than this (a steer instruction, a comment, a description).
MAX_FORM_FIELD = 4000


def form_token(settings: Settings, purpose: str, now: float | None = None) -> str:
    """`<issued>.<mac>`: proves the form was served by us, for this purpose, recently."""
    issued = int(now if now is not None else time.time())
    mac = hmac.new(settings.secret_key.encode(), f"form|{purpose}|{issued}".encode(), hashlib.sha256).hexdigest()
    return f"{issued}.{mac[:32]}"


def form_token_ok(settings: Settings, purpose: str, token: str, now: float | None = None) -> bool:
    issued_s, _, _mac = token.partition(".")
    if not issued_s.isdigit():
        return False
    issued = int(issued_s)
    current = now if now is not None else time.time()
    if not 0 <= current - issued <= FORM_TOKEN_TTL_S:
        return False
    return hmac.compare_digest(form_token(settings, purpose, issued), token)


async def read_form(request: Request, limit: int = MAX_FORM_FIELD) -> dict[str, str]:
    """The posted form's text fields, each cut to `limit` characters (files are ignored)."""
    form = await request.form()
    return {k: v[:limit] for k, v in form.items() if isinstance(v, str)}
