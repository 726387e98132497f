"""The project: its state (what the `state` query returns and what a continued run carries), its
policy, its tasks, costs, KPIs and role budgets, and the input that starts it.

Pure pydantic: safe to pass through the workflow sandbox. Fields are only ever added (with
defaults), never renamed, so recorded histories keep replaying.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from domain.base import Model
from domain.enums import AutoApprove, DecisionValue, GateStatus, Phase, Risk, Status, TaskStatus
from domain.gates import MAX_QUORUM, GateView
from domain.work import MAX_RELATED, Kpis, Plan, RelatedDocument, TeamMember, Usage


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


class PlanUpdate(Model):
    """Signalled by the execution workflow when steering revised the remaining plan."""

    plan: Plan
    revision: int
    usage: Usage = Usage()
