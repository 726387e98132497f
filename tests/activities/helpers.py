"""Helpers shared by the agent activity tests."""

from __future__ import annotations

import dataclasses

from sqlmodel import select
from temporalio.testing import ActivityEnvironment

from activities.usage import aware_now
from store.db import session_scope
from store.tables import Document, Project, Review, UsageRecord

API_KEY = "sk-test-do-not-leak-0123456789"
GOAL = "Sell a printable meal planner for busy parents"


def activity_env(activity_id: str = "act-1", attempt: int = 1, workflow_id: str = "project-p1") -> ActivityEnvironment:
    """An ActivityEnvironment whose info carries the ids the usage call key is built from."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info,
        activity_id=activity_id,
        attempt=attempt,
        workflow_id=workflow_id,
        workflow_run_id="run-1",
        workflow_type="produce-review",
    )
    return env


def usage_rows(db_url: str, project_id: str = "p1") -> list[UsageRecord]:
    with session_scope(db_url) as session:
        return list(session.exec(select(UsageRecord).where(UsageRecord.project_id == project_id)).all())


def documents(db_url: str, project_id: str = "p1") -> list[Document]:
    with session_scope(db_url) as session:
        return list(session.exec(select(Document).where(Document.project_id == project_id)).all())


def reviews(db_url: str, project_id: str = "p1") -> list[Review]:
    with session_scope(db_url) as session:
        return list(session.exec(select(Review).where(Review.project_id == project_id)).all())


def add_project(db_url: str, project_id: str = "p1", budget_usd: float = 50.0) -> None:
    with session_scope(db_url) as session:
        session.add(
            Project(
                id=project_id,
                name="Test project",
                goal=GOAL,
                workflow_id=f"project-{project_id}",
                budget_usd=budget_usd,
                created_at=aware_now(),
                updated_at=aware_now(),
            )
        )
        session.commit()


def add_usage(db_url: str, cost_usd: float, project_id: str = "p1", call_key: str = "earlier:run:1") -> None:
    with session_scope(db_url) as session:
        session.add(
            UsageRecord(
                call_key=call_key,
                project_id=project_id,
                activity="produce",
                provider="openai",
                model="gpt-4o-mini",
                cost_usd=cost_usd,
                created_at=aware_now(),
            )
        )
        session.commit()
