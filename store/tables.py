"""SQLModel tables. They never cross the workflow boundary: activities pass ids and small models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, select


def utcnow() -> datetime:
    """Timezone-aware UTC: the datetime columns store UTC and refuse naive values."""
    return datetime.now(UTC)


class Project(SQLModel, table=True):
    """The read model of one project; the workflow keeps it in step."""

    # GET /projects pages by (created_at, id), newest first, optionally within a phase or status.
    __table_args__ = (
        Index("ix_project_created_at_id", "created_at", "id"),
        Index("ix_project_phase_created_at_id", "phase", "created_at", "id"),
        Index("ix_project_status_created_at_id", "status", "created_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    goal: str = Field(sa_column=Column(Text, nullable=False))
    owner: str = Field(default="ceo", max_length=200)
    workflow_id: str = Field(index=True, max_length=200)
    idempotency_key: str | None = Field(default=None, unique=True, max_length=200)
    budget_usd: float = 50.0
    auto_approve: str = Field(default="none", max_length=16)
    # Who may decide and how many approvals a high-risk gate needs (Policy.approvers / quorum).
    approvers: list[str] | None = Field(default=None, sa_column=Column(JSON))
    quorum: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    phase: str = Field(default="discovery", index=True, max_length=32)
    status: str = Field(default="running", index=True, max_length=32)
    pending_gates: int = 0
    cost_usd: float = 0.0
    state: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Document(SQLModel, table=True):
    """Claim check for LLM output: deliverable versions, research notes, plans."""

    __table_args__ = (UniqueConstraint("project_id", "kind", "task_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: str = Field(index=True, max_length=64)
    kind: str = Field(default="deliverable", max_length=32)
    task_id: str = Field(default="", max_length=64)
    version: int = 1
    title: str = Field(default="", max_length=300)
    content: str = Field(sa_column=Column(Text, nullable=False))
    files: dict[str, str] | None = Field(default=None, sa_column=Column(JSON))
    author_role: str = Field(default="", max_length=100)
    provider: str = Field(default="offline", max_length=32)
    created_at: datetime = Field(default_factory=utcnow)


class Review(SQLModel, table=True):
    """A QA report on one deliverable version."""

    __table_args__ = (UniqueConstraint("project_id", "task_id", "round"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: str = Field(index=True, max_length=64)
    task_id: str = Field(max_length=64)
    document_id: int
    round: int
    score: float
    passed: bool
    issues: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    # How the score was reached: "llm" (a model's judgement) or "offline-rubric" (the offline
    # provider's rubric checker); the API and pages label offline scores as such.
    method: str = Field(default="", max_length=32, sa_column_kwargs={"server_default": ""})
    summary: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime = Field(default_factory=utcnow)


class Gate(SQLModel, table=True):
    """A human decision point, as the approvals pages and the API list them."""

    # GET /approvals pages by (created_at, id), oldest first, optionally by status or project.
    __table_args__ = (
        Index("ix_gate_created_at_id", "created_at", "id"),
        Index("ix_gate_status_created_at_id", "status", "created_at", "id"),
        Index("ix_gate_project_id_created_at_id", "project_id", "created_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=100)
    project_id: str = Field(index=True, max_length=64)
    workflow_id: str = Field(max_length=200)
    kind: str = Field(max_length=32)
    title: str = Field(max_length=300)
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    risk: str = Field(default="medium", max_length=16)
    status: str = Field(default="pending", index=True, max_length=16)
    approver: str = Field(default="ceo", max_length=200)
    task_id: str | None = Field(default=None, max_length=64)
    deliverable_id: int | None = None
    questions: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    reminders: int = 0
    slack_channel: str | None = Field(default=None, max_length=100)
    slack_ts: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None
    decided_by: str | None = Field(default=None, max_length=200)
    decision: str | None = Field(default=None, max_length=16)
    channel: str | None = Field(default=None, max_length=32)
    comment: str | None = Field(default=None, sa_column=Column(Text))


class Decision(SQLModel, table=True):
    """Audit log: every decision, whatever channel it came from."""

    __table_args__ = (UniqueConstraint("gate_id"),)

    id: int | None = Field(default=None, primary_key=True)
    gate_id: str = Field(max_length=100)
    project_id: str = Field(index=True, max_length=64)
    decision: str = Field(max_length=16)
    approver: str = Field(max_length=200)
    channel: str = Field(max_length=32)
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    token_id: str | None = Field(default=None, max_length=100)
    answers: dict[str, str] | None = Field(default=None, sa_column=Column(JSON))
    decided_at: datetime = Field(default_factory=utcnow)
    # Approve with edits: what the approver changed (plan edits, a new deliverable version), and
    # on a quorum gate the votes that resolved it.
    edits: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class Vote(SQLModel, table=True):
    """Audit log of a gate that needs several approvals (Policy.quorum): one entry per vote."""

    __table_args__ = (UniqueConstraint("gate_id", "approver"),)

    id: int | None = Field(default=None, primary_key=True)
    gate_id: str = Field(index=True, max_length=100)
    project_id: str = Field(index=True, max_length=64)
    approver: str = Field(max_length=200)
    decision: str = Field(max_length=16)
    channel: str = Field(max_length=32)
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    voted_at: datetime = Field(default_factory=utcnow)


class UsageRecord(SQLModel, table=True):
    """Tokens and cost per LLM call; `call_key` makes a retried activity count once."""

    id: int | None = Field(default=None, primary_key=True)
    call_key: str = Field(unique=True, max_length=300)
    project_id: str = Field(index=True, max_length=64)
    phase: str = Field(default="", max_length=32)
    task_id: str = Field(default="", max_length=64)
    activity: str = Field(default="", max_length=64)
    provider: str = Field(default="offline", max_length=32)
    model: str = Field(default="", max_length=100)
    tokens_in: int = 0
    tokens_out: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    created_at: datetime = Field(default_factory=utcnow)


class BusinessEventRecord(SQLModel, table=True):
    """Webhook deliveries and CEO notes, deduplicated by their id."""

    id: str = Field(primary_key=True, max_length=200)
    source: str = Field(max_length=32)
    kind: str = Field(max_length=64)
    project_id: str | None = Field(default=None, index=True, max_length=64)
    amount_usd: float = 0.0
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    routed: bool = False
    received_at: datetime = Field(default_factory=utcnow)


class IntegrationRecord(SQLModel, table=True):
    """What launch did with GitHub, Stripe and Slack for a project (or why it skipped)."""

    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: str = Field(index=True, max_length=64)
    name: str = Field(max_length=32)
    status: str = Field(max_length=16)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    url: str | None = Field(default=None, max_length=500)
    details: dict[str, str] | None = Field(default=None, sa_column=Column(JSON))
    updated_at: datetime = Field(default_factory=utcnow)


class Lesson(SQLModel, table=True):
    """A short lesson learned from the CEO's feedback, per owner (see store/lessons.py).

    `source_kind` says where it came from (revise, reject, edit, or manual for one typed in);
    `source_id` names that source (a gate id, a document id): one lesson per source, so a retried
    activity records it once. Manual lessons have no source id (NULLs never collide).
    """

    __table_args__ = (UniqueConstraint("owner", "source_kind", "source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    owner: str = Field(index=True, max_length=200)
    text: str = Field(max_length=300)
    source_kind: str = Field(default="manual", max_length=16)
    source_id: str | None = Field(default=None, max_length=200)
    project_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SpentToken(SQLModel, table=True):
    """A one-time credential that is used up: a login link once opened, a browser session once
    signed out. The primary key makes spending atomic across API replicas and restarts; a row can
    go once `expires_at` passed, since the signed token is refused by then anyway."""

    id: str = Field(primary_key=True, max_length=100)
    kind: str = Field(max_length=16)
    principal: str = Field(max_length=200)
    spent_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)


class LessonPublic(SQLModel):
    """A lesson as the API and the console show it."""

    id: int
    text: str
    source_kind: str
    source_id: str | None = None
    project_id: str | None = None
    created_at: datetime
    updated_at: datetime


def project_value(session: Session, project_id: str, column: Any) -> Any:
    """One column of a project's row (None when there is no row), without loading its state
    snapshot (the JSON the read model keeps, tens of KB for a live project)."""
    return session.exec(select(column).where(Project.id == project_id)).first()
