"""The agent activities: interview, research, plan, team, produce, review and KPI analysis.

`AgentActivities` wraps one provider — OpenAI (`activities.llm`) or offline
(`activities.offline`, the default without OPENAI_API_KEY) — and adds what both share:
the claim check (deliverables, research and reviews go to the database; outputs carry ids and
short summaries), plan validation, and one usage record per activity attempt under the call key
`{workflow_id}:{run_id}:{activity_id}` so a retried activity is counted once.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.catalog import UnknownRoleError, load_catalog
from activities.compliance import Finding
from activities.context import find_related, lessons_for, load_brief, sources_section
from activities.llm import UNKNOWN_ROLE, OpenAIProvider
from activities.offline import OfflineProvider
from activities.planning import Deliverable, PlanValidationError, Provider, assemble_team, validate_plan
from activities.usage import CallContext, Meter, PriceTable, aware_now, current_call_key
from boardroom.settings import Settings
from domain.work import (
    InterviewInput,
    InterviewOutput,
    KpiInput,
    KpiOutput,
    PlanInput,
    PlanOutput,
    ProduceInput,
    ProduceOutput,
    ResearchInput,
    ResearchOutput,
    ReviewInput,
    ReviewIssue,
    ReviewOutput,
    TeamInput,
    TeamOutput,
    Usage,
)
from store.db import session_scope
from store.tables import Document, Review

if TYPE_CHECKING:
    import openai

logger = logging.getLogger(__name__)

INVALID_PLAN = "InvalidPlan"
DOCUMENT_NOT_FOUND = "DocumentNotFound"
SUMMARY_CHARS = 300

_PHASES = {
    "interview_questions": "discovery",
    "research": "discovery",
    "plan": "discovery",
    "assemble_team": "discovery",
    "produce": "execution",
    "review": "execution",
    "analyze_kpis": "operations",
    "compliance_review": "launch",
}
# Improvement tasks from KPI reviews are named r{review_number}-…; their work is operations.
_IMPROVEMENT_ID = re.compile(r"^r\d+-")


def _summary(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1].rstrip() + "…"


# --- claim check (blocking; called through asyncio.to_thread) --------------------------------


def save_document(
    db_url: str,
    *,
    project_id: str,
    kind: str,
    task_id: str,
    version: int,
    title: str,
    content: str,
    files: dict[str, str] | None,
    author_role: str,
    provider: str,
) -> int:
    """Insert or overwrite the document (project, kind, task, version); returns its id."""
    for _ in range(2):
        with session_scope(db_url) as session:
            doc = session.exec(
                select(Document).where(
                    Document.project_id == project_id,
                    Document.kind == kind,
                    Document.task_id == task_id,
                    Document.version == version,
                )
            ).first()
            if doc is None:
                doc = Document(
                    project_id=project_id,
                    kind=kind,
                    task_id=task_id,
                    version=version,
                    content=content,
                    created_at=aware_now(),
                )
            doc.title = title[:300]
            doc.content = content
            doc.files = files or None
            doc.author_role = author_role[:100]
            doc.provider = provider[:32]
            session.add(doc)
            try:
                session.commit()
            except IntegrityError:
                # The same version was inserted concurrently: overwrite that row instead.
                session.rollback()
                continue
            # The id came back with the insert (the session keeps its objects after commit).
            assert doc.id is not None
            return doc.id
    raise RuntimeError(f"could not store {kind} {task_id} v{version} of project {project_id}")


def load_document(db_url: str, project_id: str, document_id: int) -> Document | None:
    """The document if it exists and belongs to the project."""
    with session_scope(db_url) as session:
        doc = session.get(Document, document_id)
        return doc if doc is not None and doc.project_id == project_id else None


def save_review(
    db_url: str,
    *,
    project_id: str,
    task_id: str,
    document_id: int,
    round_: int,
    score: float,
    passed: bool,
    issues: list[ReviewIssue],
    method: str = "",
    summary: str = "",
) -> int:
    """Insert or overwrite the review (project, task, round); returns its id."""
    for _ in range(2):
        with session_scope(db_url) as session:
            row = session.exec(
                select(Review).where(Review.project_id == project_id, Review.task_id == task_id, Review.round == round_)
            ).first()
            if row is None:
                row = Review(
                    project_id=project_id,
                    task_id=task_id,
                    round=round_,
                    document_id=document_id,
                    score=0,
                    passed=False,
                    created_at=aware_now(),
                )
            row.document_id = document_id
            row.score = score
            row.passed = passed
            row.issues = [i.model_dump() for i in issues]
            row.method = method[:32]
            row.summary = summary[:4000]
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                continue
            assert row.id is not None
            return row.id
    raise RuntimeError(f"could not store the review of {task_id} round {round_} of project {project_id}")


# --- the activities --------------------------------------------------------------------------


class AgentActivities:
    """The agent activities, bound to one provider chosen from settings.

    The OpenAI provider is used when `settings.provider` is "openai" or when a client is
    injected (tests pass one pointed at a fake server); otherwise the offline provider.
    """

    def __init__(self, settings: Settings, client: openai.AsyncOpenAI | None = None) -> None:
        self.settings = settings
        self.catalog = load_catalog()
        self.prices = PriceTable.from_settings(settings)
        self.provider: Provider
        if client is not None or settings.provider == "openai":
            openai_provider = OpenAIProvider(settings, self.catalog, client)
            self.provider = openai_provider
            logger.info("agents use the OpenAI provider at %s", openai_provider.endpoint)
        else:
            self.provider = OfflineProvider(self.catalog)
            logger.info("agents run OFFLINE: deterministic templates, no LLM (set OPENAI_API_KEY to use OpenAI)")

    async def aclose(self) -> None:
        """Release the provider's HTTP connections (worker shutdown)."""
        if isinstance(self.provider, OpenAIProvider):
            await self.provider.aclose()

    def _meter(self, activity_name: str, project_id: str, task_id: str = "") -> Meter:
        phase = _PHASES.get(activity_name, "")
        if task_id and _IMPROVEMENT_ID.match(task_id):
            phase = "operations"
        ctx = CallContext(
            call_key=current_call_key(),
            project_id=project_id,
            activity=activity_name,
            phase=phase,
            task_id=task_id,
        )
        return Meter(self.settings.database_url, self.prices, ctx)

    @activity.defn(name="interview_questions")
    async def interview_questions(self, data: InterviewInput) -> InterviewOutput:
        """Questions for the CEO about the goal. Writes only its usage record; idempotent."""
        meter = self._meter("interview_questions", data.project_id)
        questions = await self.provider.interview(data, meter)
        return InterviewOutput(questions=questions, usage=meter.usage)

    @activity.defn(name="research")
    async def research(self, data: ResearchInput) -> ResearchOutput:
        """Market research stored as Document(kind="research"), citing the owner's earlier documents
        it was given or found (`find_related`, answered in `related`); idempotent (one research
        document per project, overwritten on retry)."""
        meter = self._meter("research", data.project_id)
        if data.find_related is not None:
            # The owner's earlier documents, looked up here rather than in an activity of its own.
            found = await asyncio.to_thread(find_related, self.settings.database_url, data.find_related)
            data = data.model_copy(update={"related": found})
        draft = await self.provider.research(data, meter)
        if data.related:
            # Which earlier documents it was given, recorded the same way for every provider.
            draft = draft.model_copy(
                update={"content": draft.content.rstrip() + "\n\n" + sources_section(data.related)}
            )
        doc_id = await asyncio.to_thread(
            save_document,
            self.settings.database_url,
            project_id=data.project_id,
            kind="research",
            task_id="",
            version=1,
            title=draft.title or "Market research",
            content=draft.content,
            files=None,
            author_role=self.catalog.role_for_activity("research").name,
            provider=self.provider.name,
        )
        return ResearchOutput(
            document_id=doc_id,
            summary=_summary(draft.summary),
            usage=meter.usage,
            related=data.related if data.find_related is not None else [],
            searched=data.find_related is not None,
        )

    @activity.defn(name="plan")
    async def plan(self, data: PlanInput) -> PlanOutput:
        """A validated task plan (first plan, revision after CEO feedback, or re-plan after steering).
        Writes only its usage record; idempotent."""
        meter = self._meter("plan", data.project_id)
        lessons = await asyncio.to_thread(lessons_for, self.settings.database_url, data.project_id, data.goal)
        plan = await self.provider.plan(data.model_copy(update={"lessons": lessons}), meter)
        if data.related:
            cited = "; ".join(d.citation() for d in data.related)
            plan = plan.model_copy(
                update={"summary": f"{plan.summary.rstrip()} Sources from earlier projects: {cited}."}
            )
        try:
            validate_plan(plan, self.catalog)
        except PlanValidationError as exc:
            raise ApplicationError(str(exc), type=INVALID_PLAN, non_retryable=True) from None
        return PlanOutput(plan=plan, usage=meter.usage)

    @activity.defn(name="assemble_team")
    async def assemble_team(self, data: TeamInput) -> TeamOutput:
        """Named team members for the plan's roles and their reviewers (a catalog lookup, no LLM call).
        No side effects; idempotent."""
        try:
            members = assemble_team(data.plan, self.catalog)
        except UnknownRoleError as exc:
            raise ApplicationError(str(exc), type=UNKNOWN_ROLE, non_retryable=True) from None
        return TeamOutput(members=members, usage=Usage(provider=self.provider.name))

    @activity.defn(name="produce")
    async def produce(self, data: ProduceInput) -> ProduceOutput:
        """Draft or revise a task's deliverable, stored as Document(kind="deliverable", version=round).
        The producer works from the task's context (answers, offer, research, steering, upstream
        deliverables loaded by id) and, for a revision, its previous version and the QA issues.
        Idempotent: a retry overwrites the same (project, task, round) version, never duplicates it."""
        meter = self._meter("produce", data.project_id, data.task.id)
        brief = await asyncio.to_thread(
            load_brief, self.settings.database_url, data, previous_id=data.previous_deliverable_id
        )
        draft = await self.provider.produce(data, brief, meter)
        doc_id = await asyncio.to_thread(
            save_document,
            self.settings.database_url,
            project_id=data.project_id,
            kind="deliverable",
            task_id=data.task.id,
            version=data.round,
            title=draft.title or data.task.title,
            content=draft.content,
            files=draft.files,
            author_role=data.task.role,
            provider=self.provider.name,
        )
        return ProduceOutput(deliverable_id=doc_id, summary=_summary(draft.summary), usage=meter.usage)

    @activity.defn(name="review")
    async def review(self, data: ReviewInput) -> ReviewOutput:
        """QA score of a deliverable against the task's acceptance criteria, with the same context
        as its producer, stored as a Review with its method (llm or offline-rubric).
        Idempotent: one review per (project, task, round), overwritten on retry."""
        meter = self._meter("review", data.project_id, data.task.id)
        doc = await asyncio.to_thread(load_document, self.settings.database_url, data.project_id, data.deliverable_id)
        if doc is None:
            raise ApplicationError(
                f"deliverable {data.deliverable_id} of project {data.project_id} does not exist",
                type=DOCUMENT_NOT_FOUND,
                non_retryable=True,
            )
        brief = await asyncio.to_thread(load_brief, self.settings.database_url, data)
        deliverable = Deliverable(content=doc.content, files=dict(doc.files or {}))
        draft = await self.provider.review(data, brief, deliverable, meter)
        passed = draft.score >= data.pass_threshold
        review_id = await asyncio.to_thread(
            save_review,
            self.settings.database_url,
            project_id=data.project_id,
            task_id=data.task.id,
            document_id=data.deliverable_id,
            round_=data.round,
            score=draft.score,
            passed=passed,
            issues=draft.issues,
            method=draft.method,
            summary=draft.summary,
        )
        return ReviewOutput(
            review_id=review_id,
            score=draft.score,
            passed=passed,
            issues=draft.issues,
            usage=meter.usage,
            method=draft.method,
        )

    @property
    def uses_model(self) -> bool:
        return isinstance(self.provider, OpenAIProvider)

    async def compliance_findings(
        self, project_id: str, documents: list[tuple[str, str, str]], rule_findings: list[str]
    ) -> tuple[list[tuple[str, Finding]], Usage]:
        """The compliance reviewer's own findings (the `compliance_review` activity calls it when a
        model is configured; the rule checks always run) and what they cost, metered under that
        activity's call; the workflow adds the cost to the project's."""
        if not isinstance(self.provider, OpenAIProvider):
            return [], Usage()
        meter = self._meter("compliance_review", project_id)
        return await self.provider.compliance(documents, rule_findings, meter), meter.usage

    @activity.defn(name="analyze_kpis")
    async def analyze_kpis(self, data: KpiInput) -> KpiOutput:
        """0-2 improvement tasks from the KPIs, ids unique per review (r{n}-…). Writes only its usage
        record; idempotent."""
        meter = self._meter("analyze_kpis", data.project_id)
        draft = await self.provider.analyze_kpis(data, meter)
        return KpiOutput(summary=_summary(draft.summary), improvements=draft.improvements, usage=meter.usage)

    def activities(self) -> list[Callable[..., Any]]:
        """The bound activity methods, for the worker to register."""
        return [
            self.interview_questions,
            self.research,
            self.plan,
            self.assemble_team,
            self.produce,
            self.review,
            self.analyze_kpis,
        ]
