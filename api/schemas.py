"""Request and response bodies of the JSON API (the DESIGN.md contract, typed)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from workflows.models import (
    MAX_ANSWERS,
    AutoApprove,
    Channel,
    Cost,
    DecisionValue,
    GateKind,
    GateStatus,
    IntegrationView,
    Kpis,
    Phase,
    PhaseMark,
    Question,
    Risk,
    Status,
    TaskStatus,
)

Goal = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=4000)]
# strict: a JSON number only — `true` and "10" are refused rather than coerced.
PositiveUsd = Annotated[float, Field(gt=0, le=1_000_000, strict=True)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(BaseModel):
    detail: str | list[dict[str, Any]]


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each listed error documented with the JSON error body."""
    text = {
        401: "Missing or invalid credentials",
        403: "Not allowed (non-loopback client without API keys, forged link, approver not allowed)",
        404: "Not found",
        409: "Conflict (already decided, project not running, idempotency key reused)",
        410: "Gone (link expired or already used)",
        422: "Invalid input",
        503: "Temporal or the database is unavailable",
    }
    return {code: {"model": ErrorOut, "description": text[code]} for code in codes}


# --- projects ----------------------------------------------------------------------------


class ProjectCreate(Input):
    goal: Goal
    name: ShortText | None = None
    budget_usd: PositiveUsd | None = None
    approver: ShortText | None = None
    auto_approve: AutoApprove = AutoApprove.none
    idempotency_key: ShortText | None = None


class ProjectCreated(BaseModel):
    id: str
    workflow_id: str
    status_url: str
    temporal_ui_url: str


class ProjectSummary(BaseModel):
    id: str
    name: str
    phase: Phase
    status: Status
    pending_gates: int
    cost_usd: float
    budget_usd: float
    created_at: datetime
    updated_at: datetime
    status_url: str
    temporal_ui_url: str


class ProjectList(BaseModel):
    items: list[ProjectSummary]
    total: int
    limit: int
    offset: int


class TaskOut(BaseModel):
    id: str
    title: str
    role: str
    status: TaskStatus
    risk: Risk
    depends_on: list[str] = []
    qa_score: float | None = None
    rounds: int = 0
    deliverable_id: int | None = None


class GateOut(BaseModel):
    id: str
    kind: GateKind
    title: str
    summary: str = ""
    status: GateStatus
    risk: Risk
    created_at: datetime
    task_id: str | None = None
    questions: list[Question] = []
    decision: DecisionValue | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    channel: Channel | None = None
    comment: str = ""
    approve_url: str | None = None


class DecisionLogOut(BaseModel):
    gate_id: str
    decision: DecisionValue
    approver: str
    channel: str
    comment: str = ""
    decided_at: datetime


class ProjectDetail(BaseModel):
    id: str
    name: str
    goal: str
    owner: str
    phase: Phase
    status: Status
    source: Literal["live", "snapshot", "created"] = Field(
        description="live: the workflow's state query; snapshot: the last state the workflow stored "
        "(closed or unreachable workflows); created: the workflow has not reported yet"
    )
    timeline: list[PhaseMark] = []
    plan_summary: str = ""
    tasks: list[TaskOut] = []
    gates: list[GateOut] = []
    kpis: Kpis = Kpis()
    cost: Cost = Cost()
    integrations: list[IntegrationView] = []
    decisions: list[DecisionLogOut] = []
    steering: list[str] = []
    error: str | None = None
    created_at: datetime
    workflow_id: str
    temporal_ui_url: str


class SteerIn(Input):
    instruction: Goal
    by: ShortText | None = None


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    project_id: str


# --- approvals ---------------------------------------------------------------------------


class ApprovalItem(BaseModel):
    id: str
    project_id: str
    kind: GateKind
    title: str
    summary: str
    risk: Risk
    status: GateStatus
    created_at: datetime
    approve_url: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None


class ApprovalList(BaseModel):
    items: list[ApprovalItem]


class DocumentOut(BaseModel):
    id: int
    kind: str
    task_id: str
    version: int
    title: str
    content: str
    author_role: str
    provider: str
    created_at: datetime


class ReviewOut(BaseModel):
    id: int
    task_id: str
    document_id: int
    round: int
    score: float
    passed: bool
    issues: list[dict[str, Any]] = []
    created_at: datetime


class ApprovalDetail(ApprovalItem):
    project_name: str
    workflow_id: str
    approver: str
    task_id: str | None = None
    questions: list[Question] = []
    decision: DecisionValue | None = None
    channel: str | None = None
    comment: str | None = None
    deliverable: DocumentOut | None = None
    qa_report: ReviewOut | None = None


class DecisionIn(Input):
    decision: DecisionValue
    comment: LongText = ""
    approver: ShortText | None = None
    # At most MAX_ANSWERS answers: interview answers reach the workflows (bounded inputs).
    answers: Annotated[
        dict[Annotated[str, StringConstraints(max_length=100)], LongText], Field(max_length=MAX_ANSWERS)
    ] = {}
    budget_increase_usd: PositiveUsd | None = None


class DecisionOut(BaseModel):
    gate_id: str
    status: GateStatus
    decided_by: str
    decided_at: datetime
    channel: Channel


# --- health, codec, slack ----------------------------------------------------------------


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, str]
    detail: str | None = None


class CodecPayload(BaseModel):
    """temporal.api.common.v1.Payload in its proto3 JSON form (bytes as base64)."""

    model_config = ConfigDict(extra="forbid")

    metadata: dict[str, str] = {}
    data: str = ""


class CodecPayloads(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payloads: list[CodecPayload] = []


class SlackAck(BaseModel):
    ok: bool = True
