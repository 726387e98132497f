"""The agents' work: questions, research, plans, teams, deliverables and their reviews, KPIs, usage — the
inputs and outputs of the agent activities, and the bounds on what they carry.

Pure pydantic: safe to pass through the workflow sandbox. Fields are only ever added (with
defaults), never renamed, so recorded histories keep replaying.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from domain.base import Model
from domain.enums import GoalKind, Risk


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
    # Or the search for them, which the research activity runs itself and answers with (one
    # activity where `related_documents` and `research` were two).
    find_related: RelatedInput | None = None


class ResearchOutput(Model):
    document_id: int | None = None
    summary: str
    usage: Usage = Usage()
    # The documents `find_related` found (what planning builds on, too), and whether it was run
    # (activity workers from before it ignore `find_related`).
    related: list[RelatedDocument] = Field(default=[], max_length=MAX_RELATED)
    searched: bool = False


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
