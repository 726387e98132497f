"""Approval policy as pure functions, importable inside the workflow sandbox.

No I/O and no clock: callers pass the times in. The project workflow uses the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from domain.enums import AutoApprove, DecisionValue, GateKind, Risk

# Risks each policy approves without asking.
AUTO_RISKS: Mapping[AutoApprove, frozenset[Risk]] = {
    AutoApprove.none: frozenset(),
    AutoApprove.low: frozenset({Risk.low}),
    AutoApprove.medium: frozenset({Risk.low, Risk.medium}),
    AutoApprove.all: frozenset({Risk.low, Risk.medium, Risk.high}),
}

# Going public and spending more money always ask a person — unless the project runs fully
# autonomously (`all`, used by benchmarks and sandboxes).
HUMAN_ONLY_KINDS: frozenset[GateKind] = frozenset({GateKind.go_live, GateKind.budget})

_DECISIONS: frozenset[str] = frozenset({"approve", "reject", "revise"})


def auto_approves(policy: AutoApprove, risk: Risk, kind: GateKind) -> bool:
    """Whether a gate of this kind and risk is approved by policy (the decision is still recorded)."""
    policy, risk, kind = AutoApprove(policy), Risk(risk), GateKind(kind)
    if policy is AutoApprove.all:
        return True
    if kind in HUMAN_ONLY_KINDS:
        return False
    return risk in AUTO_RISKS[policy]


def expiry_default(kind: GateKind, risk: Risk, overrides: Mapping[str, DecisionValue] | None = None) -> DecisionValue:
    """What a gate nobody decided before it expired resolves to.

    A per-kind override (Policy.expiry_default) wins; otherwise low risk approves and anything
    else rejects. Go-live and budget gates reject on expiry whatever their risk: nothing public
    or costly happens because nobody answered.
    """
    kind, risk = GateKind(kind), Risk(risk)
    if overrides:
        chosen = overrides.get(kind.value)
        if chosen is not None:
            if chosen not in _DECISIONS:
                raise ValueError(f"expiry default for {kind.value} must be approve, reject or revise")
            return chosen
    if kind in HUMAN_ONLY_KINDS:
        return "reject"
    return "approve" if risk is Risk.low else "reject"


def normalize_approver(name: str) -> str:
    """Slack handles and e-mail-ish names compare case-insensitively, without a leading @."""
    return name.strip().lstrip("@").casefold()


def approver_allowed(approvers: Sequence[str], approver: str) -> bool:
    """An empty list allows anyone; otherwise the approver must be listed."""
    if not approvers:
        return True
    wanted = normalize_approver(approver)
    return bool(wanted) and any(normalize_approver(a) == wanted for a in approvers)


def gate_expires_at(created_at: datetime, expiry_s: float) -> datetime:
    """When an undecided gate falls back to its expiry default."""
    return created_at + timedelta(seconds=expiry_s)


def reminder_due(created_at: datetime, now: datetime, reminders_sent: int, reminder_s: float) -> bool:
    """Whether the next reminder (one per `reminder_s` since creation) is due."""
    if reminder_s <= 0:
        return False
    return now >= created_at + timedelta(seconds=reminder_s * (reminders_sent + 1))


def approvals_needed(quorum: int, approvers: Sequence[str], risk: Risk) -> int:
    """How many approvals resolve a gate: `quorum` for high-risk gates when approvers are listed
    (never more than there are distinct approvers), one otherwise."""
    if Risk(risk) is not Risk.high or not approvers:
        return 1
    distinct = {normalize_approver(a) for a in approvers if normalize_approver(a)}
    return max(1, min(int(quorum), len(distinct)))


def has_voted(voters: Sequence[str], approver: str) -> bool:
    """Whether this approver (compared as `normalize_approver` does) already voted."""
    wanted = normalize_approver(approver)
    return any(normalize_approver(v) == wanted for v in voters)


def quorum_resolves(approvals: int, needed: int, decision: DecisionValue) -> bool:
    """Whether a vote resolves the gate: the Nth approval, or the first rejection or request for
    changes (one person's "no" is enough to stop; "yes" takes `needed` people)."""
    if decision != "approve":
        return True
    return approvals >= needed
