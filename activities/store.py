"""Store activities: the read model, gates and the decision audit log in the application database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC
from typing import Any

from sqlalchemy import update as sa_update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.context import find_related
from boardroom.settings import Settings
from domain.enums import Channel
from domain.records import (
    BudgetUpdate,
    DecisionRecord,
    DeliverableEdit,
    GateRecord,
    ReadModelUpdate,
    Stored,
    VoteRecord,
)
from domain.work import RelatedInput, RelatedOutput
from store.db import get_engine
from store.lessons import LessonSource, record_lesson
from store.projection import VERSIONS_KEY, mark_row, merge_state, row_is_newer
from store.tables import Decision, Document, Gate, Project, Vote, project_value, utcnow
from workflows.notices import GateChannels, NotifyChannel

log = logging.getLogger(__name__)


def _aware(dt: Any) -> Any:
    """Workflow timestamps are UTC; the columns want them timezone-aware."""
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


class StoreActivities:
    """Writes what the workflows decide into the database the API reads."""

    def __init__(self, settings: Settings, notifier: Callable[[GateRecord], Any] | None = None) -> None:
        self._settings = settings
        self._notifier = notifier

    def _session(self) -> Session:
        return Session(get_engine(self._settings.database_url), expire_on_commit=False)

    @activity.defn(name="sync_project")
    async def sync_project(self, update: ReadModelUpdate) -> None:
        """Upserts the project's row (phase, status, pending gates, cost) and merges the state fields
        that changed into its state snapshot, each unless a later sync wrote it. Idempotent."""
        await asyncio.to_thread(self._sync_project, update)

    def _sync_project(self, update: ReadModelUpdate) -> None:
        state = update.state.model_dump(mode="json") if update.state is not None else None
        changes = update.changes if update.changes is not None else state
        with self._session() as session:
            # Lock the row before reading it (a no-op write: a row lock on PostgreSQL, the write
            # lock on SQLite), so two syncs of one project merge one after the other, never both
            # from the same snapshot.
            session.execute(
                sa_update(Project).where(col(Project.id) == update.project_id).values(updated_at=Project.updated_at)
            )
            row = session.get(Project, update.project_id, populate_existing=True)
            if row is None:
                if not changes or "name" not in changes:
                    # A small sync overtook the run's first (whole) one: retried until that lands.
                    raise ApplicationError(f"project {update.project_id} has no read-model row yet")
                from workflows.ids import project_workflow_id

                row = Project(
                    id=update.project_id,
                    name=changes["name"],
                    goal=changes.get("goal", ""),
                    owner=changes.get("owner", "ceo"),
                    workflow_id=project_workflow_id(update.project_id),
                    budget_usd=float((changes.get("cost") or {}).get("budget_usd", 0.0)),
                )
            if update.changes is None:
                # A run from before the projection: its whole state. Once a small sync has been
                # merged, such a one is older (retried from before the upgrade): it is dropped.
                if VERSIONS_KEY in (row.state or {}):
                    return
                if state is not None:
                    row.state = state
            else:
                merged = merge_state(row.state, update.changes, update.seq)
                if row_is_newer(row.state, update.seq):
                    row.state = merged
                    session.add(row)
                    session.commit()
                    return
                row.state = mark_row(merged, update.seq)
            row.phase = update.phase.value
            row.status = update.status.value
            row.pending_gates = update.pending_gates
            row.cost_usd = update.cost_usd
            row.updated_at = utcnow()
            session.add(row)
            session.commit()

    @activity.defn(name="open_gate")
    async def open_gate(self, record: GateRecord) -> GateChannels:
        """Stores a newly opened gate (or counts a reminder), with the read model's sync it carries,
        and notifies the CEO on Slack; answers the other channels (email, webhook) the workflow
        should notify for this gate's risk (BOARDROOM_NOTIFY_CHANNELS). Idempotent."""
        await asyncio.to_thread(self._open_gate, record)
        # Gates the policy approves at once ask nobody.
        channels = [] if record.auto_approved else self._settings.channels_for(record.gate.risk)
        slack_left_out = bool(self._settings.slack_bot_token) and "slack" not in channels
        if self._notifier is not None and not slack_left_out:
            result = self._notifier(record)
            if asyncio.iscoroutine(result):
                await result
        return GateChannels(
            channels=[NotifyChannel(c) for c in channels if c != NotifyChannel.slack], synced=record.sync is not None
        )

    def _open_gate(self, record: GateRecord) -> None:
        gate = record.gate
        with self._session() as session:
            row = session.get(Gate, gate.id)
            if row is None:
                row = Gate(
                    id=gate.id,
                    project_id=record.project_id,
                    workflow_id=record.project_workflow_id,
                    kind=gate.kind.value,
                    title=gate.title,
                    summary=gate.summary,
                    risk=gate.risk.value,
                    approver=record.approver,
                    task_id=gate.task_id,
                    deliverable_id=gate.deliverable_id,
                    questions=[q.model_dump() for q in gate.questions],
                    created_at=_aware(gate.created_at),
                )
            row.reminders = gate.reminders
            session.add(row)
            session.commit()
        if record.sync is not None:
            self._sync_project(record.sync)

    @activity.defn(name="record_decision")
    async def record_decision(self, record: DecisionRecord) -> Stored:
        """Writes the audit entry and closes the gate row, then applies the read model's sync it
        carries. Idempotent: one entry per gate."""
        await asyncio.to_thread(self._record_decision, record)
        return Stored(synced=record.sync is not None)

    def _record_decision(self, record: DecisionRecord) -> None:
        with self._session() as session:
            existing = session.exec(select(Decision).where(Decision.gate_id == record.gate_id)).first()
            if existing is None:
                session.add(
                    Decision(
                        gate_id=record.gate_id,
                        project_id=record.project_id,
                        decision=record.decision,
                        approver=record.approver,
                        channel=record.channel.value,
                        comment=record.comment,
                        token_id=record.token_id,
                        answers=record.answers or None,
                        decided_at=_aware(record.decided_at),
                        edits=record.edits,
                    )
                )
            gate = session.get(Gate, record.gate_id)
            if gate is not None:
                gate.status = {"approve": "approved", "reject": "rejected", "revise": "revised"}[record.decision]
                gate.decision = record.decision
                gate.decided_by = record.approver
                gate.decided_at = _aware(record.decided_at)
                gate.channel = record.channel.value
                gate.comment = record.comment
                session.add(gate)
            try:
                session.commit()
            except IntegrityError:
                # A retried activity raced its first attempt: the entry is already there.
                session.rollback()
            owner = project_value(session, record.project_id, Project.owner)
            subject = gate.title if gate is not None else ""
        if record.sync is not None:
            self._sync_project(record.sync)
        self._learn(record, owner or "ceo", subject)

    def _learn(self, record: DecisionRecord, owner: str, subject: str) -> None:
        """A person's revise or reject comment becomes a lesson of the project's owner (condensed by
        the deterministic rule; once per gate). Never fails the decision's record."""
        if record.decision not in ("revise", "reject") or not record.comment.strip():
            return
        if record.channel in (Channel.policy, Channel.expiry) or record.approver == "system":
            return
        try:
            record_lesson(
                self._settings.database_url,
                owner,
                record.comment,
                LessonSource(kind=record.decision, id=record.gate_id, project_id=record.project_id),
                subject=subject,
            )
        except Exception:
            log.exception("lesson from the decision on %s not recorded", record.gate_id)

    @activity.defn(name="record_vote")
    async def record_vote(self, record: VoteRecord) -> None:
        """Writes one vote of a gate that needs several approvals. Idempotent: one per gate and approver."""
        await asyncio.to_thread(self._record_vote, record)

    def _record_vote(self, record: VoteRecord) -> None:
        with self._session() as session:
            existing = session.exec(
                select(Vote).where(Vote.gate_id == record.gate_id, Vote.approver == record.approver)
            ).first()
            if existing is not None:
                return
            session.add(
                Vote(
                    gate_id=record.gate_id,
                    project_id=record.project_id,
                    approver=record.approver,
                    decision=record.decision,
                    channel=record.channel.value,
                    comment=record.comment,
                    voted_at=_aware(record.voted_at),
                )
            )
            try:
                session.commit()
            except IntegrityError:
                # A retried activity raced its first attempt: the vote is already there.
                session.rollback()

    @activity.defn(name="record_deliverable_edit")
    async def record_deliverable_edit(self, edit: DeliverableEdit) -> int:
        """Stores the CEO's edited text as the deliverable's next version (author: the approver);
        answers its document id. Idempotent: a retry finds the version it already wrote."""
        return await asyncio.to_thread(self._record_deliverable_edit, edit)

    def _record_deliverable_edit(self, edit: DeliverableEdit) -> int:
        author = f"ceo:{edit.author}"[:100]
        with self._session() as session:
            base = session.get(Document, edit.deliverable_id)
            if base is None or base.project_id != edit.project_id:
                raise ApplicationError(
                    f"deliverable {edit.deliverable_id} is not in project {edit.project_id}",
                    type="UnknownDeliverable",
                    non_retryable=True,
                )
            versions = session.exec(
                select(Document)
                .where(
                    Document.project_id == base.project_id,
                    Document.kind == base.kind,
                    Document.task_id == base.task_id,
                )
                .order_by(col(Document.version).desc())
            ).all()
            latest = versions[0]
            owner, subject = project_value(session, edit.project_id, Project.owner) or "ceo", base.title
            if latest.author_role == author and latest.content == edit.content and latest.id is not None:
                # A retry: the version is there; the lesson (once per version) is made sure of.
                doc_id = latest.id
            else:
                doc_id = self._add_version(base, latest, edit, author)
        self._learn_from_edit(edit, owner, subject, doc_id)
        return doc_id

    def _add_version(self, base: Document, latest: Document, edit: DeliverableEdit, author: str) -> int:
        with self._session() as session:
            doc = Document(
                project_id=base.project_id,
                kind=base.kind,
                task_id=base.task_id,
                version=latest.version + 1,
                title=base.title,
                content=edit.content,
                # The files (a site's pages) stay the producer's; the CEO edited the text.
                files=dict(latest.files) if latest.files else None,
                author_role=author,
                provider="ceo",
                created_at=utcnow(),
            )
            session.add(doc)
            session.commit()
            session.refresh(doc)
            assert doc.id is not None
            log.info("deliverable %s: version %s by %s (gate %s)", base.id, doc.version, edit.author, edit.gate_id)
            return doc.id

    def _learn_from_edit(self, edit: DeliverableEdit, owner: str, subject: str, document_id: int) -> None:
        """The comment that came with an edited deliverable becomes a lesson of the project's owner
        (once per edited version). Never fails the edit."""
        if not edit.comment.strip():
            return
        try:
            record_lesson(
                self._settings.database_url,
                owner,
                edit.comment,
                LessonSource(kind="edit", id=str(document_id), project_id=edit.project_id),
                subject=subject,
            )
        except Exception:
            log.exception("lesson from the edit of %s not recorded", edit.gate_id)

    @activity.defn(name="set_budget")
    async def set_budget(self, update: BudgetUpdate) -> None:
        """Raises (or sets) the project's budget, which the agent activities enforce. Idempotent."""
        await asyncio.to_thread(self._set_budget, update)

    def _set_budget(self, update: BudgetUpdate) -> None:
        with self._session() as session:
            row = session.get(Project, update.project_id)
            if row is None:
                log.warning("set_budget: no project row for %s", update.project_id)
                return
            row.budget_usd = update.budget_usd
            session.add(row)
            session.commit()

    @activity.defn(name="related_documents")
    async def related_documents(self, data: RelatedInput) -> RelatedOutput:
        """The owner's documents from earlier projects that best match the text (store/search.py),
        at most `limit`, each with a short excerpt. Read-only, so retries are harmless; none when
        the project has no read-model row or nothing matches."""
        return await asyncio.to_thread(self._related, data)

    def _related(self, data: RelatedInput) -> RelatedOutput:
        return RelatedOutput(documents=find_related(self._settings.database_url, data))

    def activities(self) -> list[Callable[..., Any]]:
        return [
            self.sync_project,
            self.open_gate,
            self.record_decision,
            self.set_budget,
            self.related_documents,
            self.record_vote,
            self.record_deliverable_edit,
        ]
