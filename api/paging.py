"""Keyset pages for the list endpoints: each page starts after the (created_at, id) key of the
last row of the one before, so a page costs an index range scan however deep it is, and rows
inserted meanwhile never shift a page the way an offset does.

The cursor is opaque to clients: base64url of `[list, created_at, id]`, bound to one list (a
projects cursor is refused by /approvals). A malformed one is a 422.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from fastapi import HTTPException, status

# Longest cursor accepted (a key is a timestamp and an id of at most 100 characters).
MAX_CURSOR_CHARS = 400

Key = tuple[datetime, str]


class BadCursor(ValueError):
    """The cursor was not made by this list."""


def encode_cursor(kind: str, key: Key) -> str:
    created_at, row_id = key
    raw = json.dumps([kind, created_at.isoformat(), row_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> Key:
    """The key a cursor of the `kind` list stands for; BadCursor when it is anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parsed = json.loads(raw)
    except (binascii.Error, ValueError):
        raise BadCursor("cursor is not valid: pass `next_cursor` from the previous page unchanged") from None
    if not (isinstance(parsed, list) and len(parsed) == 3 and all(isinstance(p, str) for p in parsed)):
        raise BadCursor("cursor is not valid: pass `next_cursor` from the previous page unchanged")
    found, stamp, row_id = parsed
    if found != kind:
        raise BadCursor(f"cursor belongs to another list ({found[:20]}), not {kind}")
    try:
        created_at = datetime.fromisoformat(stamp)
    except ValueError:
        raise BadCursor("cursor is not valid: pass `next_cursor` from the previous page unchanged") from None
    if created_at.utcoffset() is None or not row_id:
        raise BadCursor("cursor is not valid: pass `next_cursor` from the previous page unchanged")
    return created_at, row_id


def page_after(kind: str, cursor: str | None, offset: int) -> Key | None:
    """The key a list request continues after; 422 for a bad cursor or one mixed with an offset."""
    if cursor is None:
        return None
    if offset:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "use either cursor or offset, not both")
    try:
        return decode_cursor(kind, cursor)
    except BadCursor as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
