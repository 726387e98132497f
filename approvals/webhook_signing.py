"""Signatures of Boardroom's outgoing notification webhook (pure, stdlib only).

Every POST carries
    X-Boardroom-Timestamp: <unix seconds when it was signed>
    X-Boardroom-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the shared secret>
A receiver recomputes the HMAC over the exact bytes it received, compares in constant time and
refuses timestamps outside a few minutes (replays). `verify_webhook` does all of that; copy it
into a receiver as it is. Each retry is signed afresh, with its own timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Boardroom-Timestamp"
SIGNATURE_HEADER = "X-Boardroom-Signature"
EVENT_HEADER = "X-Boardroom-Event"
DELIVERY_HEADER = "X-Boardroom-Delivery"
SCHEME = "sha256"
TOLERANCE_S = 300


class WebhookSignatureError(ValueError):
    """The request was not signed by Boardroom with this secret, or too long ago."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Boardroom-Signature value for this timestamp and raw body."""
    mac = hmac.new(secret.encode(), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def sign_webhook(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The two signature headers for a body about to be sent."""
    if not secret:
        raise ValueError("a webhook secret is required to sign notifications")
    timestamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify_webhook(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature_header: str | None,
    now: float | None = None,
    tolerance_s: int = TOLERANCE_S,
) -> None:
    """Returns when the request is genuine and fresh; raises WebhookSignatureError otherwise.

    `body` must be the raw bytes as received (before any JSON parsing).
    """
    if not timestamp or not signature_header:
        raise WebhookSignatureError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER}")
    try:
        sent = int(timestamp)
    except ValueError:
        raise WebhookSignatureError(f"{TIMESTAMP_HEADER} is not a number") from None
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance_s:
        raise WebhookSignatureError(f"{TIMESTAMP_HEADER} is more than {tolerance_s} s away from now")
    expected = signature(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature_header.strip().encode()):
        raise WebhookSignatureError("signature mismatch")
