"""Typed inputs, outputs and state shared by the workflows, the activities and the API.

Pure pydantic: safe to pass through the workflow sandbox. Fields are only ever added
(with defaults), never renamed, so recorded histories keep replaying.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Phase(StrEnum):
    discovery = "discovery"
    execution = "execution"
    launch = "launch"
    operations = "operations"
    completed = "completed"


class Status(StrEnum):
    running = "running"
    waiting_approval = "waiting_approval"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


class Risk(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class AutoApprove(StrEnum):
    """Which risk tiers are approved by policy; `all` is the fully autonomous mode."""

    none = "none"
    low = "low"
    medium = "medium"
    all = "all"


class GateKind(StrEnum):
    interview = "interview"
    plan = "plan"
    deliverable = "deliverable"
    escalation = "escalation"
    budget = "budget"
    go_live = "go_live"
    compliance = "compliance"


class GateStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    revised = "revised"


class Channel(StrEnum):
    api = "api"
    web = "web"
    slack = "slack"
    temporal_ui = "temporal_ui"
    policy = "policy"
    expiry = "expiry"


DecisionValue = Literal["approve", "reject", "revise"]

DECISION_STATUS: dict[str, GateStatus] = {
    "approve": GateStatus.approved,
    "reject": GateStatus.rejected,
    "revise": GateStatus.revised,
}


class TaskStatus(StrEnum):
    pending = "pending"
    running = "running"
    waiting_approval = "waiting_approval"
    passed = "passed"
    accepted = "accepted"
    dropped = "dropped"
    cancelled = "cancelled"


# --- agent work --------------------------------------------------------------------------


class Usage(Model):
    """Tokens and cost of one or more LLM calls."""

    provider: str = "offline"
    model: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    cached_tokens: int = 0
    usd: float = 0.0

    def add(self, more: Usage) -> None:
        """Counts `more` in (the provider and model of the first call stay)."""
        if not self.model and more.model:
            self.provider, self.model = more.provider, more.model
        self.tokens_in += more.tokens_in
        self.tokens_out += more.tokens_out
        self.cached_tokens += more.cached_tokens
        self.usd = round(self.usd + more.usd, 6)


class Question(Model):
    id: str
    text: str


class TaskSpec(Model):
    """One unit of planned work; its acceptance criteria are the QA rubric."""

    id: str
    title: str
    role: str
    description: str = ""
    deliverable_kind: str = "document"
    depends_on: list[str] = []
    acceptance_criteria: list[str] = []
    risk: Risk = Risk.low
    cost_estimate_usd: float = 0.0


class GoalKind(StrEnum):
    """What kind of goal a project pursues; it decides which work the plan contains."""

    business = "business"  # selling a product
    service = "service"  # selling one's time or skill (consulting, coaching, cleaning…)
    research = "research"  # a thesis, a study, a paper: nothing is sold
    content = "content"  # a blog, newsletter, podcast or channel: nothing is sold at launch


SELLING_KINDS = (GoalKind.business, GoalKind.service)

# Bounds on what the CEO's free text may carry into workflow inputs (see WorkContext).
MAX_ANSWERS = 12
MAX_ANSWER_CHARS = 1000
MAX_CONTEXT_STEERING = 10
MAX_STEERING_CHARS = 600
MAX_UPSTREAM = 12
MAX_CONTEXT_SUMMARY_CHARS = 600


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bound_answers(value: object) -> object:
    """At most MAX_ANSWERS answers of at most MAX_ANSWER_CHARS each (a field validator)."""
    if not isinstance(value, dict):
        return value
    return {str(k)[:100]: _clip(str(v), MAX_ANSWER_CHARS) for k, v in list(value.items())[:MAX_ANSWERS]}


def bound_steering(value: object) -> object:
    """The last MAX_CONTEXT_STEERING instructions of at most MAX_STEERING_CHARS each."""
    if not isinstance(value, list):
        return value
    return [_clip(str(s), MAX_STEERING_CHARS) for s in value[-MAX_CONTEXT_STEERING:]]


class Offer(Model):
    """What the business sells at launch.

    `price_usd` is the amount in `currency` (the field name predates currencies other than USD;
    it stays so recorded histories keep replaying): 35 with currency "eur" is 35 EUR.
    """

    product_name: str
    description: str = ""
    price_usd: float = Field(default=29.0, gt=0)
    currency: str = "usd"
    # What the price buys ("per mug", "per month", "per hour"), empty for a one-off purchase.
    unit: str = ""
    audience: str = ""
    region: str = ""
    constraints: list[str] = []

    @property
    def amount_label(self) -> str:
        """The price as people read it: "35 EUR", "12.50 USD"."""
        amount = f"{self.price_usd:.0f}" if float(self.price_usd).is_integer() else f"{self.price_usd:.2f}"
        return f"{amount} {self.currency.upper()}"

    @property
    def price_label(self) -> str:
        """The amount with its unit: "35 EUR per mug"."""
        return f"{self.amount_label} {self.unit}".strip()


class Plan(Model):
    summary: str = ""
    tasks: list[TaskSpec] = []
    offer: Offer | None = None
    risks: list[str] = []
    estimated_cost_usd: float = 0.0
    kind: GoalKind = GoalKind.business


class TeamMember(Model):
    role: str
    name: str
    task_ids: list[str] = []


class InterviewInput(Model):
    project_id: str
    goal: str


class InterviewOutput(Model):
    questions: list[Question]
    usage: Usage = Usage()


MAX_RELATED = 3
MAX_RELATED_EXCERPT = 600


class RelatedDocument(Model):
    """One of the owner's earlier deliverables or research notes that research and planning
    build on (store/search.py `related_documents`): where it is and a short excerpt."""

    document_id: int
    project_id: str = Field(max_length=64)
    project_name: str = Field(default="", max_length=200)
    kind: str = Field(default="deliverable", max_length=32)
    title: str = Field(default="", max_length=300)
    version: int = 1
    url: str = Field(default="", max_length=500)
    excerpt: str = Field(default="", max_length=MAX_RELATED_EXCERPT)

    def citation(self) -> str:
        """How a prompt, a research note or a plan names it."""
        project = self.project_name or self.project_id
        return f"{self.title or 'untitled'} — project {project} (document {self.document_id})"


class RelatedInput(Model):
    """Input of `related_documents`: the asking project (its owner's other projects are searched)
    and the text to match (the goal and the CEO's answers)."""

    project_id: str = Field(max_length=64)
    text: str = Field(max_length=4000)
    limit: int = Field(default=MAX_RELATED, ge=1, le=MAX_RELATED)


class RelatedOutput(Model):
    documents: list[RelatedDocument] = Field(default=[], max_length=MAX_RELATED)


class ResearchInput(Model):
    project_id: str
    goal: str
    answers: dict[str, str] = {}
    # The owner's earlier documents that match this goal; the research cites them.
    related: list[RelatedDocument] = Field(default=[], max_length=MAX_RELATED)


class ResearchOutput(Model):
    document_id: int | None = None
    summary: str
    usage: Usage = Usage()


class PlanInput(Model):
    project_id: str
    goal: str
    answers: dict[str, str] = {}
    research_summary: str = ""
    feedback: list[str] = []
    steering: list[str] = []
    done_task_ids: list[str] = []
    previous: Plan | None = None
    revision: int = 0
    # Filled by the `plan` activity itself from the owner's lessons (store/lessons.py), not by workflows.
    lessons: list[str] = Field(default=[], max_length=8)
    # The owner's earlier documents that match this goal; the plan cites them.
    related: list[RelatedDocument] = Field(default=[], max_length=MAX_RELATED)


class PlanOutput(Model):
    plan: Plan
    usage: Usage = Usage()


class TeamInput(Model):
    project_id: str
    plan: Plan


class TeamOutput(Model):
    members: list[TeamMember]
    usage: Usage = Usage()


class UpstreamRef(Model):
    """A finished deliverable of a task this task depends on: the activity loads it by id."""

    task_id: str
    deliverable_id: int
    title: str = ""
    deliverable_kind: str = ""


class WorkContext(Model):
    """What a producer and its reviewer work from besides the task: ids and short texts only.

    The activity loads the documents behind the ids (research, upstream deliverables) from the
    store and trims them to a character budget (activities/context.py). Everything here is
    bounded when the model is built, so no workflow input grows with the CEO's free text.
    """

    kind: GoalKind = GoalKind.business
    answers: dict[str, str] = {}
    research_document_id: int | None = None
    research_summary: str = ""
    offer: Offer | None = None
    steering: list[str] = []
    upstream: list[UpstreamRef] = []

    _answers = field_validator("answers", mode="before")(bound_answers)
    _steering = field_validator("steering", mode="before")(bound_steering)

    @field_validator("research_summary", mode="before")
    @classmethod
    def _bound_summary(cls, value: object) -> object:
        return _clip(value, MAX_CONTEXT_SUMMARY_CHARS) if isinstance(value, str) else value

    @field_validator("upstream", mode="before")
    @classmethod
    def _bound_upstream(cls, value: object) -> object:
        return value[:MAX_UPSTREAM] if isinstance(value, list) else value

    @property
    def is_empty(self) -> bool:
        """Built by a caller that passes no context (operations improvements, older runs)."""
        return not self.answers and self.offer is None and not self.upstream and self.research_document_id is None


class ProduceInput(Model):
    project_id: str
    task: TaskSpec
    round: int = 1
    goal: str = ""
    previous_deliverable_id: int | None = None
    feedback: list[str] = []
    guidance: str = ""
    context: WorkContext = WorkContext()


class ProduceOutput(Model):
    deliverable_id: int
    summary: str
    usage: Usage = Usage()


class ReviewIssue(Model):
    severity: Literal["low", "medium", "high"] = "medium"
    text: str


class ReviewInput(Model):
    project_id: str
    task: TaskSpec
    deliverable_id: int
    round: int = 1
    pass_threshold: float = 7.0
    goal: str = ""
    context: WorkContext = WorkContext()
    # The CEO's guidance the producer worked to (a revise decision): the reviewer checks against it.
    guidance: str = ""


# How a score was reached: a model's judgement, or the offline provider's rubric checker.
REVIEW_METHOD_LLM = "llm"
REVIEW_METHOD_OFFLINE_RUBRIC = "offline-rubric"


class ReviewOutput(Model):
    review_id: int | None = None
    score: float = Field(ge=0, le=10)
    passed: bool
    issues: list[ReviewIssue] = []
    usage: Usage = Usage()
    method: str = ""


class Kpis(Model):
    revenue_usd: float = 0.0
    orders: int = 0
    refunds: int = 0
    refunded_usd: float = 0.0
    churned_subscriptions: int = 0
    open_issues: int = 0
    notes: int = 0
    events: int = 0
    reviews: int = 0
    improvements: int = 0


class KpiInput(Model):
    project_id: str
    goal: str = ""
    kpis: Kpis
    review_number: int
    recent_notes: list[str] = []
    # Text from outside (customer issues, webhook fields): data for the analysis, never instructions.
    customer_reports: list[str] = []


class KpiOutput(Model):
    summary: str
    improvements: list[TaskSpec] = []
    usage: Usage = Usage()


# --- gates and decisions -----------------------------------------------------------------


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


# --- project state -----------------------------------------------------------------------


class TaskView(Model):
    id: str
    title: str
    role: str
    status: TaskStatus = TaskStatus.pending
    risk: Risk = Risk.low
    depends_on: list[str] = []
    qa_score: float | None = None
    # How the score was reached: "llm" or "offline-rubric" (label offline scores as such).
    qa_method: str = ""
    rounds: int = 0
    deliverable_id: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class TaskProgress(Model):
    """Signalled by a task workflow to the project so the `state` query stays live."""

    task_id: str
    status: TaskStatus
    qa_score: float | None = None
    rounds: int = 0
    deliverable_id: int | None = None
    usage: Usage = Usage()
    at: datetime | None = None
    qa_method: str = ""
    # Set by a task whose role has a monthly budget: the sender, and the number it waits to see
    # acknowledged in a RoleBudgetNotice before its next agent call (0: no answer wanted).
    workflow_id: str = Field(default="", max_length=300)
    ack: int = Field(default=0, ge=0)
    role: str = Field(default="", max_length=64)


class Cost(Model):
    tokens_in: int = 0
    tokens_out: int = 0
    cached_tokens: int = 0
    usd: float = 0.0
    budget_usd: float = 0.0

    def add(self, usage: Usage) -> None:
        self.tokens_in += usage.tokens_in
        self.tokens_out += usage.tokens_out
        self.cached_tokens += usage.cached_tokens
        self.usd = round(self.usd + usage.usd, 6)


class IntegrationView(Model):
    name: str
    # local: published to a local git repository (no GITHUB_TOKEN); its path is in `url`/`reason`.
    status: Literal["pending", "done", "skipped", "failed", "local"] = "pending"
    reason: str = ""
    url: str | None = None
    # When this result came in: launch, or the latest published improvement (site, repository).
    at: datetime | None = None


class PhaseMark(Model):
    phase: Phase
    at: datetime


class BusinessEvent(Model):
    """A business fact for a live project: payments, refunds, issues, CEO notes."""

    id: str
    source: Literal["stripe", "github", "ceo", "system"] = "ceo"
    kind: Literal["payment", "refund", "subscription_cancelled", "issue_opened", "issue_closed", "note"] = "note"
    amount_usd: float = 0.0
    summary: str = ""


class SteerInstruction(Model):
    instruction: str = Field(min_length=1, max_length=4000)
    by: str = "ceo"


MAX_ROLE_BUDGETS = 12
MAX_ROLE_BUDGET_USD = 1_000_000.0
MAX_ROLE_NOTICES = 24


def bound_role_budgets(value: object) -> object:
    """At most MAX_ROLE_BUDGETS roles, each a finite amount in [0, MAX_ROLE_BUDGET_USD] (a
    field validator). The API refuses anything else with a 422; here it only keeps a payload
    from elsewhere from carrying more into a workflow."""
    if not isinstance(value, dict):
        return value
    if len(value) > MAX_ROLE_BUDGETS:
        raise ValueError(f"at most {MAX_ROLE_BUDGETS} role budgets")
    for role, usd in value.items():
        if not isinstance(role, str) or not 0 < len(role) <= 64:
            raise ValueError("a role budget names a role of 1 to 64 characters")
        if isinstance(usd, bool) or not isinstance(usd, int | float) or not 0 <= usd <= MAX_ROLE_BUDGET_USD:
            raise ValueError(f"the budget of {role!r} must be a number from 0 to {MAX_ROLE_BUDGET_USD:,.0f}")
    return value


class RoleBudgetNotice(Model):
    """The project's word to a task workflow about its role's monthly budget (signal
    `role_budget`): `held` (wait: a budget gate is open), `open` (go on), `refused` (the CEO
    declined to raise it this month: the work ends as a budget refusal). `ack` answers the
    TaskProgress with that number (0 when the notice is not an answer)."""

    role: str = Field(max_length=64)
    status: Literal["open", "held", "refused"] = "open"
    reason: str = Field(default="", max_length=300)
    ack: int = Field(default=0, ge=0)


class RoleBudgetsUpdate(Model):
    """Input of the project's `set_role_budgets` update: the monthly budget per role from now on
    (a role left out has none any more)."""

    budgets_usd: dict[str, float] = {}

    _budgets = field_validator("budgets_usd", mode="before")(bound_role_budgets)


class RoleBudgetState(Model):
    """Monthly budgets per role and what the current calendar month (workflow time) spent.

    Spend counts the producer and QA calls of a task under the task's role. At 80% of a role's
    budget the CEO is notified once per role and month; at 100% that role's work waits behind
    a budget gate (`held` names its key)."""

    budgets_usd: dict[str, float] = {}
    month: str = ""
    spent_usd: dict[str, float] = {}
    notified: list[str] = []
    held: dict[str, str] = {}
    refused: list[str] = []
    gates: int = 0
    notices: list[str] = []


class Policy(Model):
    """How gates and rounds behave for one project."""

    auto_approve: AutoApprove = AutoApprove.none
    approvers: list[str] = []
    max_rounds: int = Field(default=3, ge=1, le=10)
    pass_threshold: float = Field(default=7.0, ge=0, le=10)
    max_plan_revisions: int = Field(default=3, ge=0, le=10)
    gate_reminder_s: float = 24 * 3600
    gate_expiry_s: float = 3 * 24 * 3600
    # What happens when nobody decides before expiry, per gate kind; absent → "approve"
    # for low risk, "reject" otherwise.
    expiry_default: dict[str, DecisionValue] = {}
    review_interval_s: float = 7 * 24 * 3600
    # Continue-as-new at the latest when one run's history reaches this many events.
    max_history_events: int = Field(default=3000, ge=200)
    # How many times a CEO may send a failed task back with guidance before it must be decided.
    max_escalations: int = Field(default=3, ge=0, le=10)
    # Optional monthly budget per role (USD), beside the project budget (workflows/role_budgets.py).
    role_budgets_usd: dict[str, float] = {}

    _role_budgets = field_validator("role_budgets_usd", mode="before")(bound_role_budgets)
    # High-risk gates need this many approvals out of `approvers` (capped at their number); the
    # first rejection (or request for changes) resolves the gate at once.
    quorum: int = Field(default=1, ge=1, le=MAX_QUORUM)


class ProjectState(Model):
    """Everything the `state` query returns; also the compact carry across continue-as-new."""

    project_id: str
    name: str
    goal: str
    owner: str = "ceo"
    phase: Phase = Phase.discovery
    status: Status = Status.running
    timeline: list[PhaseMark] = []
    answers: dict[str, str] = {}
    research_summary: str = ""
    research_document_id: int | None = None
    # The earlier projects' documents research and planning cited (no excerpts).
    cited: list[RelatedDocument] = Field(default=[], max_length=MAX_RELATED)
    plan: Plan | None = None
    plan_revision: int = 0
    team: list[TeamMember] = []
    tasks: list[TaskView] = []
    gates: list[GateView] = []
    kpis: Kpis = Kpis()
    cost: Cost = Cost()
    integrations: list[IntegrationView] = []
    steering: list[str] = []
    # The CEO's own notes (steering after execution, CEO note events): instructions.
    notes: list[str] = []
    # Text written by outsiders (customer issues, webhook fields): data, never instructions.
    customer_reports: list[str] = []
    review_summaries: list[str] = []
    gate_seq: int = 0
    launched: bool = False
    reviews_done: int = 0
    next_review_at: datetime | None = None
    recent_event_ids: list[str] = []
    # Issue closings that arrived before their openings (webhooks come in any order).
    early_issue_closes: int = 0
    role_budgets: RoleBudgetState = RoleBudgetState()
    runs: int = 1
    error: str | None = None

    @property
    def pending_gates(self) -> list[GateView]:
        return [g for g in self.gates if g.status == GateStatus.pending]


class ProjectInput(Model):
    project_id: str
    name: str
    goal: str = Field(min_length=1, max_length=4000)
    owner: str = "ceo"
    budget_usd: float = Field(default=50.0, gt=0)
    policy: Policy = Policy()
    # Set only when the workflow continues as new.
    carry: ProjectState | None = None


# --- phase workflows ---------------------------------------------------------------------


class DiscoveryInput(Model):
    project_id: str
    project_workflow_id: str
    goal: str
    policy: Policy
    steering: list[str] = []


class DiscoveryOutput(Model):
    # What research and planning used from the owner's earlier projects (no excerpts).
    cited: list[RelatedDocument] = Field(default=[], max_length=MAX_RELATED)
    answers: dict[str, str] = {}
    research_summary: str = ""
    research_document_id: int | None = None
    plan: Plan
    plan_revision: int = 0
    team: list[TeamMember] = []
    usage: Usage = Usage()


class TaskRunInput(Model):
    project_id: str
    project_workflow_id: str
    goal: str
    task: TaskSpec
    policy: Policy
    guidance: str = ""
    context: WorkContext = WorkContext()
    # Rounds (stored versions) the task already had: a re-run's versions come after them.
    rounds_before: int = Field(default=0, ge=0, le=1000)
    # Ask the project about the task's role before every agent call even when `policy` names no
    # budget for it: a routine run's policy was fixed when its schedule was made, while the
    # project's role budgets (workflows/role_budgets.py) are the live ones.
    ask_role_budget: bool = False


class TaskRunOutput(Model):
    task_id: str
    status: TaskStatus
    qa_score: float | None = None
    rounds: int = 0
    deliverable_id: int | None = None
    summary: str = ""


class ExecutionInput(Model):
    project_id: str
    project_workflow_id: str
    goal: str
    plan: Plan
    policy: Policy
    done: dict[str, TaskRunOutput] = {}
    # What every task works from (bounded in WorkContext): the CEO's answers and steering,
    # the research by id and summary.
    answers: dict[str, str] = {}
    research_summary: str = ""
    research_document_id: int | None = None
    steering: list[str] = []

    _answers = field_validator("answers", mode="before")(bound_answers)
    _steering = field_validator("steering", mode="before")(bound_steering)


class ExecutionOutput(Model):
    results: dict[str, TaskRunOutput] = {}


class IntegrationResult(Model):
    name: Literal["github", "stripe", "slack", "site"]
    status: Literal["done", "skipped", "failed", "local"]
    reason: str = ""
    url: str | None = None
    details: dict[str, str] = {}


class SlackNotice(Model):
    """Input of `notify_slack`: one phase notice for the project's channel. Without `url` the
    activity links the project's page (BOARDROOM_PUBLIC_URL)."""

    project_id: str
    text: str = Field(min_length=1, max_length=3000)
    phase: str = Field(default="", max_length=40)
    url: str | None = Field(default=None, max_length=2000)


class LaunchInput(Model):
    project_id: str
    project_workflow_id: str
    name: str
    goal: str
    plan: Plan
    deliverable_ids: list[int] = []
    policy: Policy


MAX_COMPLIANCE_FINDINGS = 20
MAX_COMPLIANCE_SUMMARY_CHARS = 3000


class ComplianceInput(Model):
    """Input of `compliance_review`: the public deliverables by id (the activity loads them), the
    offer price Stripe will use, and each planned task's deliverable kind (what is public)."""

    project_id: str = Field(max_length=64)
    deliverable_ids: list[int] = Field(default=[], max_length=1000)
    price: str | None = Field(default=None, max_length=40)
    task_kinds: dict[str, str] = Field(default={}, max_length=200)


class ComplianceFindingView(Model):
    code: str = Field(max_length=64)
    severity: Literal["blocking", "warning"]
    file: str = Field(default="", max_length=300)
    message: str = Field(max_length=500)


class ComplianceReport(Model):
    """What `compliance_review` returns: counts, the first findings, a short summary, which tasks
    a revision goes back to, and which deliverable each task has among the checked ones."""

    blocking: int = 0
    warnings: int = 0
    findings: list[ComplianceFindingView] = Field(default=[], max_length=MAX_COMPLIANCE_FINDINGS)
    summary: str = Field(default="", max_length=MAX_COMPLIANCE_SUMMARY_CHARS)
    revise_task_ids: list[str] = Field(default=[], max_length=20)
    task_deliverables: dict[str, int] = Field(default={}, max_length=200)
    task_versions: dict[str, int] = Field(default={}, max_length=200)
    # What the compliance reviewer (with a model) spent; zero for the rule checks alone.
    usage: Usage = Usage()


class LaunchOutput(Model):
    launched: bool
    integrations: list[IntegrationResult] = []
    # The model calls made during the launch (the compliance reviewer), for the project's cost.
    usage: Usage = Usage()


class PublishInput(Model):
    """Input of each launch integration activity; credentials come from settings, never here."""

    project_id: str
    name: str
    goal: str
    offer: Offer | None = None
    deliverable_ids: list[int] = []
    follow_ups: list[str] = []
    # The launched site (a Document of kind "site", payment link written in) to publish with the
    # deliverables; None: the publisher finalizes the site it finds, payments not live.
    site_document_id: int | None = None


class SiteInput(Model):
    """Input of `finalize_site`: which deliverables may hold the site, and the payment link."""

    project_id: str = Field(max_length=64)
    deliverable_ids: list[int] = Field(default=[], max_length=1000)
    # The Stripe payment link when Stripe made one; None keeps "payments are not live yet".
    payment_link: str | None = Field(default=None, max_length=2000)


class ValidateLaunchInput(Model):
    project_id: str
    results: list[IntegrationResult]


class Publication(Model):
    """What an operations review needs to publish its improvements (site and repository) once
    they passed the compliance review: the launched business as the project knows it."""

    name: str = Field(default="", max_length=200)
    offer: Offer | None = None
    kind: GoalKind = GoalKind.business
    # The deliverables already public (passed or accepted tasks), published again beside the new ones.
    published_ids: list[int] = Field(default=[], max_length=500)
    payment_link: str | None = Field(default=None, max_length=2000)


class ReviewCycleInput(Model):
    project_id: str
    project_workflow_id: str
    goal: str
    kpis: Kpis
    review_number: int
    notes: list[str] = []
    customer_reports: list[str] = []
    policy: Policy
    # Set for a launched project: passed improvements are checked for compliance, then published.
    publication: Publication | None = None


class ReviewCycleOutput(Model):
    summary: str
    results: list[TaskRunOutput] = []
    usage: Usage = Usage()
    # The site and repository published again with this review's improvements (none: nothing published).
    integrations: list[IntegrationResult] = []


class PlanUpdate(Model):
    """Signalled by the execution workflow when steering revised the remaining plan."""

    plan: Plan
    revision: int
    usage: Usage = Usage()


# --- store activities --------------------------------------------------------------------


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
