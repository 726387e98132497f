"""Spent one-time credentials (login links opened, browser sessions signed out), shared by every
API replica through the database: the row's primary key is the token id, so the first insert wins
and every later attempt — on this process, another replica or after a restart — finds it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from store.tables import SpentToken, utcnow


def spend(engine: Engine, token_id: str, kind: str, principal: str, expires_at: datetime) -> bool:
    """Record the token as used; False when it already was. Idempotent only in that sense: the
    second call for one id never succeeds."""
    with Session(engine) as session:
        # Rows past their expiry guard nothing (the signature check refuses those tokens first).
        session.exec(delete(SpentToken).where(col(SpentToken.expires_at) < utcnow()))  # type: ignore[call-overload]
        session.add(SpentToken(id=token_id, kind=kind, principal=principal[:200], expires_at=expires_at))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return False
    return True


def is_spent(engine: Engine, token_id: str) -> bool:
    with Session(engine) as session:
        return session.get(SpentToken, token_id) is not None
