"""Reads and the one write (project creation) the API makes on the application database.

Synchronous SQLModel calls: routes run them in the thread pool, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, literal, or_, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from api.paging import Key
from store.tables import Decision, Document, Gate, IntegrationRecord, Project, Review, Vote

# A project in one of these states waits for nothing, whatever its gate rows still say.
ENDED = ("completed", "failed", "cancelled")


def get_project(session: Session, project_id: str) -> Project | None:
    return session.get(Project, project_id)


def create_project(session: Session, project: Project) -> tuple[Project, bool]:
    """Insert the row; when a concurrent request won the race, the existing row (created=False)."""
    existing = session.get(Project, project.id)
    if existing is not None:
        return existing, False
    session.add(project)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = session.get(Project, project.id)
        if existing is None:
            raise
        return existing, False
    return project, True


def delete_project(session: Session, project_id: str) -> None:
    row = session.get(Project, project_id)
    if row is not None:
        session.delete(row)
        session.commit()


def list_projects(
    session: Session,
    *,
    phase: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
    after: Key | None = None,
    with_state: bool = True,
) -> tuple[Sequence[Project], int, Key | None]:
    """Newest first by (created_at, id), after the key `after` when given; with the total and
    the key to continue from (None on the last page). Without `with_state`, the rows' state
    snapshots are not loaded (a list shows the columns only)."""
    query = select(Project) if with_state else select(Project).options(defer(Project.state))  # type: ignore[arg-type]
    count = select(func.count()).select_from(Project)
    if phase:
        query = query.where(Project.phase == phase)
        count = count.where(Project.phase == phase)
    if status:
        query = query.where(Project.status == status)
        count = count.where(Project.status == status)
    key = tuple_(col(Project.created_at), col(Project.id))
    if after is not None:
        query = query.where(key < _key_value(Project.created_at, after))
    rows = session.exec(
        query.order_by(col(Project.created_at).desc(), col(Project.id).desc()).offset(offset).limit(limit + 1)
    ).all()
    total = session.exec(count).one()
    return rows[:limit], int(total), _next_key(rows, limit)


def _key_value(column: Any, key: Key) -> Any:
    # Typed like the column, so the timestamp is bound as the column stores it (UTC).
    return tuple_(literal(key[0], type_=column.type), literal(key[1]))


def _next_key(rows: Sequence[Project] | Sequence[Gate], limit: int) -> Key | None:
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return last.created_at, last.id


def get_gate(session: Session, gate_id: str) -> Gate | None:
    return session.get(Gate, gate_id)


def list_gates(
    session: Session,
    *,
    status: str | None = None,
    project_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
    after: Key | None = None,
) -> tuple[Sequence[Gate], Key | None]:
    """Oldest first by (created_at, id), after the key `after` when given; with the key to
    continue from (None on the last page)."""
    query = select(Gate)
    if status:
        query = query.where(Gate.status == status)
    if status == "pending":
        query = query.join(Project, col(Project.id) == col(Gate.project_id), isouter=True).where(
            or_(col(Project.status).is_(None), col(Project.status).not_in(ENDED))
        )
    if project_id:
        query = query.where(Gate.project_id == project_id)
    if after is not None:
        query = query.where(tuple_(col(Gate.created_at), col(Gate.id)) > _key_value(Gate.created_at, after))
    rows = session.exec(query.order_by(col(Gate.created_at), col(Gate.id)).offset(offset).limit(limit + 1)).all()
    return rows[:limit], _next_key(rows, limit)


def gates_by_id(session: Session, project_id: str) -> dict[str, Gate]:
    return {g.id: g for g in session.exec(select(Gate).where(Gate.project_id == project_id)).all()}


def get_document(session: Session, document_id: int | None) -> Document | None:
    return session.get(Document, document_id) if document_id is not None else None


def latest_review(session: Session, project_id: str, task_id: str | None) -> Review | None:
    if not task_id:
        return None
    return session.exec(
        select(Review)
        .where(Review.project_id == project_id, Review.task_id == task_id)
        .order_by(col(Review.round).desc())
        .limit(1)
    ).first()


def review_for_document(session: Session, document_id: int | None) -> Review | None:
    if document_id is None:
        return None
    return session.exec(
        select(Review).where(Review.document_id == document_id).order_by(col(Review.round).desc()).limit(1)
    ).first()


def decisions_for(session: Session, project_id: str) -> Sequence[Decision]:
    return session.exec(
        select(Decision).where(Decision.project_id == project_id).order_by(col(Decision.decided_at))
    ).all()


def votes_for(session: Session, gate_ids: Sequence[str]) -> dict[str, list[Vote]]:
    """The quorum votes on these gates, oldest first, by gate id."""
    out: dict[str, list[Vote]] = {}
    if not gate_ids:
        return out
    rows = session.exec(
        select(Vote).where(col(Vote.gate_id).in_(list(gate_ids))).order_by(col(Vote.voted_at), col(Vote.id))
    )
    for vote in rows:
        out.setdefault(vote.gate_id, []).append(vote)
    return out


def integrations_for(session: Session, project_id: str) -> Sequence[IntegrationRecord]:
    return session.exec(
        select(IntegrationRecord)
        .where(IntegrationRecord.project_id == project_id)
        .order_by(col(IntegrationRecord.name))
    ).all()
