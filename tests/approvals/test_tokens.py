"""Approval link tokens: genuine, tampered, expired, for another gate, already used."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from approvals.tokens import (
    LINK_TTL,
    ExpiredToken,
    ForgedToken,
    UsedToken,
    approval_link,
    ensure_unused,
    mint,
    verify,
)

SECRET = "test-secret"
CREATED = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def test_genuine_token_round_trips() -> None:
    token = mint(SECRET, "p-abc-g1", "ceo", CREATED)
    claims = verify(SECRET, token, CREATED + timedelta(hours=1), gate_id="p-abc-g1")
    assert claims.gate_id == "p-abc-g1"
    assert claims.approver == "ceo"
    assert claims.expires_at == CREATED + LINK_TTL
    assert claims.token_id
    # url-safe: nothing that needs escaping in a path segment
    assert all(c.isalnum() or c in "-_." for c in token)


def test_minting_is_deterministic_and_naive_means_utc() -> None:
    naive = CREATED.replace(tzinfo=None)
    assert mint(SECRET, "p-abc-g1", "ceo", CREATED) == mint(SECRET, "p-abc-g1", "ceo", naive)
    assert mint(SECRET, "p-abc-g1", "ceo", CREATED) != mint(SECRET, "p-abc-g2", "ceo", CREATED)
    assert mint(SECRET, "p-abc-g1", "ceo", CREATED) != mint(SECRET, "p-abc-g1", "alice", CREATED)


def _swap_payload(token: str, **changes: object) -> str:
    version, payload, sig = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(changes)
    new = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{version}.{new}.{sig}"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: _swap_payload(t, g="p-abc-g2"),
        lambda t: _swap_payload(t, a="mallory"),
        lambda t: _swap_payload(t, exp=4102444800 * 2),
        lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"),
        lambda t: t.replace("v1.", "v2.", 1),
        lambda t: t.rsplit(".", 1)[0],
        lambda t: "not-a-token",
        lambda t: "v1..",
        lambda t: t + "é",
    ],
)
def test_tampered_token_is_forged(tamper) -> None:  # type: ignore[no-untyped-def]
    token = mint(SECRET, "p-abc-g1", "ceo", CREATED)
    with pytest.raises(ForgedToken) as err:
        verify(SECRET, tamper(token), CREATED)
    assert err.value.status_code == 403


def test_other_secret_is_forged() -> None:
    token = mint("another-secret", "p-abc-g1", "ceo", CREATED)
    with pytest.raises(ForgedToken):
        verify(SECRET, token, CREATED)


def test_token_for_another_gate_is_refused() -> None:
    token = mint(SECRET, "p-abc-g1", "ceo", CREATED)
    with pytest.raises(ForgedToken, match="another decision"):
        verify(SECRET, token, CREATED, gate_id="p-abc-g2")


def test_expired_token() -> None:
    token = mint(SECRET, "p-abc-g1", "ceo", CREATED, ttl=timedelta(hours=1))
    verify(SECRET, token, CREATED + timedelta(minutes=59))
    with pytest.raises(ExpiredToken) as err:
        verify(SECRET, token, CREATED + timedelta(hours=1))
    assert err.value.status_code == 410
    assert "expired" in str(err.value)


def test_default_expiry_is_seven_days_from_gate_creation() -> None:
    token = mint(SECRET, "p-abc-g1", "ceo", CREATED)
    verify(SECRET, token, CREATED + timedelta(days=7) - timedelta(seconds=1))
    with pytest.raises(ExpiredToken):
        verify(SECRET, token, CREATED + timedelta(days=7))


def test_reuse_after_decision_is_used() -> None:
    token = mint(SECRET, "p-abc-g1", "ceo", CREATED)
    claims = verify(SECRET, token, CREATED)
    ensure_unused(claims, "pending")
    with pytest.raises(UsedToken) as err:
        ensure_unused(claims, "approved", "alice", CREATED + timedelta(hours=2))
    assert err.value.status_code == 410
    assert "approved by alice at 2030-01-01 14:00 UTC" in str(err.value)


def test_approval_link_is_absolute() -> None:
    link = approval_link(SECRET, "https://board.example.com/", "p-abc-g1", "ceo", CREATED)
    assert link.startswith("https://board.example.com/a/v1.")


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        mint("", "p-abc-g1", "ceo", CREATED)
