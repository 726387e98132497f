"""Approval policy: risk tiers, human-only kinds, expiry defaults, approvers, reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from approvals.policy import (
    approvals_needed,
    approver_allowed,
    auto_approves,
    expiry_default,
    gate_expires_at,
    has_voted,
    quorum_resolves,
    reminder_due,
)
from domain.enums import AutoApprove, GateKind, Risk

A, R, K = AutoApprove, Risk, GateKind


@pytest.mark.parametrize(
    ("policy", "approved_risks"),
    [
        (A.none, set()),
        (A.low, {R.low}),
        (A.medium, {R.low, R.medium}),
        (A.all, {R.low, R.medium, R.high}),
    ],
)
@pytest.mark.parametrize("kind", [K.interview, K.plan, K.deliverable, K.escalation])
def test_risk_tiers(policy: AutoApprove, approved_risks: set[Risk], kind: GateKind) -> None:
    for risk in Risk:
        assert auto_approves(policy, risk, kind) is (risk in approved_risks)


@pytest.mark.parametrize("kind", [K.go_live, K.budget])
def test_go_live_and_budget_need_a_person_unless_fully_autonomous(kind: GateKind) -> None:
    for policy in (A.none, A.low, A.medium):
        for risk in Risk:
            assert auto_approves(policy, risk, kind) is False
    assert all(auto_approves(A.all, risk, kind) for risk in Risk)


def test_plain_strings_are_accepted() -> None:
    assert auto_approves("low", "low", "plan") is True  # type: ignore[arg-type]


def test_expiry_defaults() -> None:
    assert expiry_default(K.deliverable, R.low) == "approve"
    assert expiry_default(K.deliverable, R.medium) == "reject"
    assert expiry_default(K.plan, R.high) == "reject"
    assert expiry_default(K.go_live, R.low) == "reject"
    assert expiry_default(K.budget, R.low) == "reject"


def test_expiry_override_by_kind_wins() -> None:
    overrides = {"plan": "approve", "go_live": "revise"}
    assert expiry_default(K.plan, R.high, overrides) == "approve"  # type: ignore[arg-type]
    assert expiry_default(K.go_live, R.high, overrides) == "revise"  # type: ignore[arg-type]
    assert expiry_default(K.deliverable, R.high, overrides) == "reject"  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        expiry_default(K.plan, R.low, {"plan": "maybe"})  # type: ignore[dict-item]


def test_approvers() -> None:
    assert approver_allowed([], "anyone")
    assert approver_allowed(["Alice", "bob"], "alice")
    assert approver_allowed(["alice"], "@Alice ")
    assert not approver_allowed(["alice"], "mallory")
    assert not approver_allowed(["alice"], "")


def test_expiry_and_reminders() -> None:
    created = datetime(2030, 1, 1, tzinfo=UTC)
    assert gate_expires_at(created, 3600) == created + timedelta(hours=1)
    assert not reminder_due(created, created + timedelta(hours=23), 0, 24 * 3600)
    assert reminder_due(created, created + timedelta(hours=24), 0, 24 * 3600)
    assert not reminder_due(created, created + timedelta(hours=30), 1, 24 * 3600)
    assert reminder_due(created, created + timedelta(hours=48), 1, 24 * 3600)
    assert not reminder_due(created, created + timedelta(days=9), 0, 0)


def test_quorum_applies_to_high_risk_gates_with_listed_approvers() -> None:
    three = ["alice", "bob", "carol"]
    assert approvals_needed(2, three, R.high) == 2
    assert approvals_needed(2, three, R.medium) == 1  # only high-risk gates ask several people
    assert approvals_needed(2, three, R.low) == 1
    assert approvals_needed(3, [], R.high) == 1  # nobody listed: anyone decides, once
    assert approvals_needed(5, three, R.high) == 3  # never more than there are approvers
    assert approvals_needed(2, ["Alice", "@alice", "bob"], R.high) == 2  # names compared normalised
    assert approvals_needed(2, ["Alice", "@alice"], R.high) == 1


def test_quorum_resolves_at_the_nth_approval_or_the_first_no() -> None:
    assert not quorum_resolves(1, 2, "approve")
    assert quorum_resolves(2, 2, "approve")
    assert quorum_resolves(0, 2, "reject")
    assert quorum_resolves(1, 3, "revise")
    assert has_voted(["alice", "bob"], "@Bob")
    assert not has_voted(["alice"], "carol")
