"""What the store activities write: the read model's sync, gates, decisions, votes, edits and the
budget.

Pure pydantic: safe to pass through the workflow sandbox. Fields are only ever added (with
defaults), never renamed, so recorded histories keep replaying.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.base import Model
from domain.enums import Channel, DecisionValue, Phase, Status
from domain.gates import GateView
from domain.project import ProjectState


class ReadModelUpdate(Model):
    """The project's row in the application database, kept in step by the workflow."""

    project_id: str
    phase: Phase
    status: Status
    pending_gates: int = 0
    cost_usd: float = 0.0
    # Runs started before the projection (workflows/projection.py) sent the whole state each time.
    state: ProjectState | None = None
    # The top-level state fields that changed since the run's last sync (JSON), and the sync's
    # place in order: the store applies a field only if no later sync wrote it.
    changes: dict[str, Any] | None = None
    seq: int = 0


class GateRecord(Model):
    project_id: str
    project_workflow_id: str
    gate: GateView
    approver: str = "ceo"
    reminder: bool = False
    # The policy approves this gate at once: store it, but ask nobody.
    auto_approved: bool = False
    # The read model's sync that goes with it (the gate pending), applied after the gate row in
    # the same activity: one activity where there were two.
    sync: ReadModelUpdate | None = None


class DecisionRecord(Model):
    project_id: str
    gate_id: str
    decision: DecisionValue
    approver: str
    channel: Channel
    comment: str = ""
    token_id: str | None = None
    answers: dict[str, str] = {}
    decided_at: datetime
    # What the CEO changed when approving (plan edits, a new deliverable version), in words.
    edits: str = ""
    # The read model's sync that goes with it (the gate decided), applied after the audit entry
    # in the same activity: one activity where there were two.
    sync: ReadModelUpdate | None = None


class Stored(Model):
    """A store write's answer: whether it applied the read model's sync its record carried
    (activity workers from before that answered nothing)."""

    synced: bool = False


class VoteRecord(Model):
    """One vote on a gate that needs several approvals: an audit entry of its own."""

    project_id: str
    gate_id: str
    approver: str
    decision: DecisionValue
    channel: Channel
    comment: str = ""
    voted_at: datetime


class DeliverableEdit(Model):
    """Input of `record_deliverable_edit`: the CEO's text becomes the deliverable's next version."""

    project_id: str
    gate_id: str
    deliverable_id: int
    content: str
    author: str
    # The approval's comment: why the CEO edited (it becomes a lesson of the project's owner).
    comment: str = ""


class BudgetUpdate(Model):
    project_id: str
    budget_usd: float
