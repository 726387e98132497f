"""Request and response bodies of the JSON API (the DESIGN.md contract, typed)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from activities.catalog import load_catalog
from domain.enums import AutoApprove, Channel, DecisionValue, GateKind, GateStatus, Phase, Risk, Status, TaskStatus
from domain.gates import (
    MAX_EDIT_CRITERIA,
    MAX_EDIT_CRITERION_CHARS,
    MAX_EDIT_DELIVERABLE_CHARS,
    MAX_EDIT_TASKS,
    MAX_EDIT_TITLE_CHARS,
    MAX_QUORUM,
)
from domain.project import MAX_ROLE_BUDGET_USD, MAX_ROLE_BUDGETS, Cost, IntegrationView, PhaseMark, RoleBudgetState
from domain.work import MAX_ANSWERS, Kpis, Question, RelatedDocument

# Every free-text field that reaches a workflow is bounded here, at the edge; the sum is bounded
# again by the payload guard (api/payload_guard.py) before anything is sent to Temporal.
MAX_TEXT = 4000
Goal = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
# strict: a JSON number only — `true` and "10" are refused rather than coerced; finite only
# (`1e309` parses as infinity, `NaN` is not a budget).
PositiveUsd = Annotated[float, Field(gt=0, le=1_000_000, strict=True, allow_inf_nan=False)]
# A role's monthly budget: 0 (no spend without a gate) up to MAX_ROLE_BUDGET_USD, same strictness.
RoleUsd = Annotated[float, Field(ge=0, le=MAX_ROLE_BUDGET_USD, strict=True, allow_inf_nan=False)]
RoleName = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def known_roles(budgets: dict[str, float] | None) -> dict[str, float] | None:
    """Role budgets name roles of the agent catalog (activities/catalog.yaml)."""
    if budgets:
        names = load_catalog().names
        unknown = sorted(set(budgets) - set(names))
        if unknown:
            raise ValueError(f"unknown role(s) {', '.join(unknown)}; the catalog has: {', '.join(names)}")
    return budgets


class Input(BaseModel):
    # Text with a lone surrogate (`"\\ud800"`) is refused by pydantic's str validation
    # (string_unicode); the 422 echoes it escaped (api.app.json_safe).
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
        413: "Request body, or a value for the workflow, too large",
        422: "Invalid input",
        503: "Temporal or the database is unavailable",
    }
    return {code: {"model": ErrorOut, "description": text[code]} for code in codes}


# --- projects ----------------------------------------------------------------------------


MAX_APPROVERS = 20


class ProjectCreate(Input):
    goal: Goal
    name: ShortText | None = None
    budget_usd: PositiveUsd | None = None
    approver: ShortText | None = None
    auto_approve: AutoApprove = AutoApprove.none
    idempotency_key: ShortText | None = None
    # Optional monthly budget (USD) per role of the agent catalog, beside `budget_usd`.
    role_budgets_usd: Annotated[dict[RoleName, RoleUsd], Field(max_length=MAX_ROLE_BUDGETS)] | None = None

    _roles = field_validator("role_budgets_usd")(known_roles)

    # Who may decide (empty: the project's approver) and how many of them must approve a
    # high-risk gate (its first "no" resolves it at once).
    approvers: Annotated[list[ShortText], Field(max_length=MAX_APPROVERS)] = []
    quorum: Annotated[int, Field(ge=1, le=MAX_QUORUM, strict=True)] = 1

    @model_validator(mode="after")
    def _quorum_fits(self) -> ProjectCreate:
        distinct = {a.strip().lstrip("@").casefold() for a in self.approvers}
        if self.quorum > 1 and self.quorum > len(distinct):
            raise ValueError(f"quorum {self.quorum} needs at least {self.quorum} distinct approvers")
        return self


class RoleBudgetsIn(Input):
    """The monthly budget per role from now on; a role left out has none any more."""

    role_budgets_usd: Annotated[dict[RoleName, RoleUsd], Field(max_length=MAX_ROLE_BUDGETS)]

    _roles = field_validator("role_budgets_usd")(known_roles)


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
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page; null on the last page")


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


class VoteOut(BaseModel):
    approver: str
    decision: DecisionValue
    channel: str
    comment: str = ""
    at: datetime


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
    # Quorum: the votes so far and how many approvals resolve the gate.
    votes: list[VoteOut] = []
    approvals_needed: int = 1


class DecisionLogOut(BaseModel):
    gate_id: str
    decision: DecisionValue
    approver: str
    channel: str
    comment: str = ""
    decided_at: datetime
    # Approve with edits: what the approver changed; on a quorum gate, the votes.
    edits: str = ""


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
    cited: list[RelatedDocument] = Field(
        [], description="documents of the owner's earlier projects that research and planning used"
    )
    tasks: list[TaskOut] = []
    gates: list[GateOut] = []
    kpis: Kpis = Kpis()
    cost: Cost = Cost()
    role_budgets: RoleBudgetState = Field(
        RoleBudgetState(), description="monthly budgets per role, this month's spend, notices and open gates"
    )
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
    # Quorum: the votes so far and how many approvals resolve the gate.
    votes: list[VoteOut] = []
    approvals_needed: int = 1


class ApprovalList(BaseModel):
    items: list[ApprovalItem]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page; null on the last page")


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


class TaskEditIn(Input):
    """One kept task of an edited plan; a field left out keeps the planned value."""

    id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    title: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_EDIT_TITLE_CHARS)] | None
    ) = None
    risk: Risk | None = None
    acceptance_criteria: (
        Annotated[
            list[Annotated[str, StringConstraints(max_length=MAX_EDIT_CRITERION_CHARS)]],
            Field(max_length=MAX_EDIT_CRITERIA),
        ]
        | None
    ) = None


class PlanEditsIn(Input):
    """The plan as approved: the tasks kept, in this order; a planned task left out is dropped."""

    tasks: Annotated[list[TaskEditIn], Field(min_length=1, max_length=MAX_EDIT_TASKS)]


class DecisionIn(Input):
    decision: DecisionValue
    comment: LongText = ""
    approver: ShortText | None = None
    # At most MAX_ANSWERS answers: interview answers reach the workflows (bounded inputs).
    answers: Annotated[
        dict[Annotated[str, StringConstraints(max_length=100)], LongText], Field(max_length=MAX_ANSWERS)
    ] = {}
    budget_increase_usd: PositiveUsd | None = None
    # Approve with edits (only with "approve"): the plan's tasks as kept, in order, with changes;
    # or the deliverable's edited markdown (it becomes a new version by the approver).
    plan_edits: PlanEditsIn | None = None
    deliverable_text: Annotated[str, StringConstraints(max_length=MAX_EDIT_DELIVERABLE_CHARS)] | None = None


class DecisionOut(BaseModel):
    gate_id: str
    status: GateStatus
    decided_by: str
    decided_at: datetime
    channel: Channel
    # Quorum: approvals so far and how many resolve the gate (`status` stays pending before that).
    approvals: int = 0
    approvals_needed: int = 1


# --- deliverables (the work product) -----------------------------------------------------

# A task's status on the project's board; "draft" when the board does not know the task (yet).
DeliverableStatus = Literal[
    "pending", "running", "waiting_approval", "passed", "accepted", "dropped", "cancelled", "draft"
]


class DeliverableBase(BaseModel):
    id: int = Field(
        description="The deliverable's id: the document id of its first version (stable across "
        "versions; the document id of any of its versions finds it too)"
    )
    project_id: str
    task_id: str
    title: str
    role: str
    version: int = Field(description="the latest version")
    version_count: int
    qa_score: float | None = Field(None, description="the score of the latest QA round")
    passed: bool | None = None
    scored_by: str | None = Field(None, description='how QA scored it, e.g. "offline rubric"')
    status: DeliverableStatus
    provider: str
    created_at: datetime
    updated_at: datetime
    url: str
    page_url: str


class DeliverableItem(DeliverableBase):
    pass


class DeliverableList(BaseModel):
    items: list[DeliverableItem]
    site_url: str | None = Field(None, description="the website preview, when a deliverable holds a site")
    export_url: str


class VersionOut(BaseModel):
    version: int
    document_id: int
    title: str
    provider: str
    # Who wrote it: the producer's role, or "ceo:<approver>" for a version the CEO edited when approving.
    author: str = ""
    created_at: datetime
    qa_score: float | None = None
    passed: bool | None = None
    lines_added: int = Field(0, description="changed lines against the previous version")
    lines_removed: int = 0
    files_added: list[str] = []
    files_removed: list[str] = []
    files_changed: list[str] = []


class ReviewIssueOut(BaseModel):
    severity: str = "medium"
    text: str


class ReviewRoundOut(BaseModel):
    round: int
    version: int | None = Field(None, description="the version this round scored")
    document_id: int
    score: float
    passed: bool
    issues: list[ReviewIssueOut] = []
    scored_by: str = Field(description='"offline rubric" for the offline provider, else "<provider> model"')
    created_at: datetime


class DeliverableDetail(DeliverableBase):
    shown_version: int = Field(description="the version `content` and `files` belong to (?version=N)")
    content: str
    files: dict[str, str] | None = None
    versions: list[VersionOut] = Field(description="every version, oldest first, with what changed")
    reviews: list[ReviewRoundOut] = Field(description="the QA report of every round, first round first")


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


# --- browser sign-in --------------------------------------------------------------------------


class LoginLinkOut(BaseModel):
    """A one-time sign-in link for a browser, bound to the caller's key."""

    url: str = Field(description="open it in the browser to sign in; it works once")
    expires_at: datetime = Field(description="the link is refused (410) from then on")
