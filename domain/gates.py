"""Gates and decisions: what a gate asks, how a person decides it (with edits, votes), what the
decision says back.

Pure pydantic: safe to pass through the workflow sandbox. Fields are only ever added (with
defaults), never renamed, so recorded histories keep replaying.
"""

from __future__ import annotations

from datetime import datetime

from domain.base import Model
from domain.enums import Channel, DecisionValue, GateKind, GateStatus, Risk
from domain.work import Plan, Question


class GateRequest(Model):
    """Asked of the project workflow by a phase or task workflow that needs a decision.

    `key` is the requester's own stable name for the question; the project assigns the gate id.
    """

    key: str
    kind: GateKind
    title: str
    summary: str = ""
    risk: Risk = Risk.medium
    requester_workflow_id: str
    task_id: str | None = None
    deliverable_id: int | None = None
    questions: list[Question] = []


# Bounds on an "approve with edits" decision (checked by the workflow before anything is written,
# and at the API's edge): the edited task list and the edited deliverable text.
MAX_EDIT_TASKS = 50
MAX_EDIT_TITLE_CHARS = 200
MAX_EDIT_CRITERIA = 12
MAX_EDIT_CRITERION_CHARS = 500
MAX_EDIT_DELIVERABLE_CHARS = 50_000
# At most this many approvers may be asked for one gate (Policy.quorum).
MAX_QUORUM = 10


class TaskEdit(Model):
    """One task of an edited plan: which planned task (by id), and what the CEO changed.

    A field left out (None) keeps the planned value."""

    id: str
    title: str | None = None
    risk: Risk | None = None
    acceptance_criteria: list[str] | None = None


class PlanEdits(Model):
    """The plan as the CEO approves it: the tasks kept, in the order given; a planned task that is
    not listed is dropped (and removed from the others' depends_on)."""

    tasks: list[TaskEdit] = []


class GateDecision(Model):
    """A CEO's decision on a gate; the same payload for the update and the signal.

    Temporal UI ("Send a Signal", name `decide`):
    {"gate_id": "...", "decision": "approve", "comment": "", "approver": "ceo"}

    Approve with edits: `plan_edits` on a plan gate, `deliverable_text` (the edited markdown) on a
    deliverable or escalation gate; both only with "approve".
    """

    gate_id: str
    decision: DecisionValue
    comment: str = ""
    approver: str = "ceo"
    answers: dict[str, str] = {}
    channel: Channel = Channel.temporal_ui
    token_id: str | None = None
    budget_increase_usd: float | None = None
    plan_edits: PlanEdits | None = None
    deliverable_text: str | None = None


class DecisionResult(Model):
    """What a decision did. On a gate that needs several approvals (Policy.quorum) an approval
    before the last one leaves the gate `pending`, with the approvals counted so far."""

    gate_id: str
    status: GateStatus
    decided_by: str
    decided_at: datetime
    channel: Channel = Channel.api
    approvals: int = 0
    approvals_needed: int = 1


class GateVote(Model):
    """One approver's vote on a gate that needs several approvals."""

    approver: str
    decision: DecisionValue
    channel: Channel
    at: datetime
    comment: str = ""


class GateView(Model):
    id: str
    kind: GateKind
    title: str
    summary: str = ""
    risk: Risk = Risk.medium
    status: GateStatus = GateStatus.pending
    key: str = ""
    requester_workflow_id: str = ""
    task_id: str | None = None
    deliverable_id: int | None = None
    questions: list[Question] = []
    created_at: datetime
    reminders: int = 0
    decision: DecisionValue | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    channel: Channel | None = None
    comment: str = ""
    # Quorum (Policy.quorum on high-risk gates): the votes so far and how many approvals resolve it.
    votes: list[GateVote] = []
    approvals_needed: int = 1
    # An approval vote's plan edits, kept until the gate resolves (the latest edits win).
    plan_edits: PlanEdits | None = None
    # An approval vote's edited deliverable, already stored as a version (the latest one wins).
    edited_deliverable_id: int | None = None
    edited_by: str = ""


class GateOutcome(Model):
    """What the waiting workflow receives once a gate is decided."""

    key: str
    gate_id: str
    decision: DecisionValue
    comment: str = ""
    answers: dict[str, str] = {}
    decided_by: str = ""
    channel: Channel = Channel.policy
    # Approve with edits: the plan as the CEO edited it (plan gates), the CEO's new version of
    # the deliverable (deliverable and escalation gates).
    plan: Plan | None = None
    deliverable_id: int | None = None
