"""Rows the worker would write, for the search and lessons tests."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import column, insert, table

from store.db import session_scope
from store.tables import Document, Project

# The columns of the first schema: rows added under an older migration (before the later columns).
FIRST_PROJECT_COLUMNS = (
    "id", "name", "goal", "owner", "workflow_id", "budget_usd", "auto_approve", "phase", "status",
    "pending_gates", "cost_usd", "created_at", "updated_at",
)  # fmt: skip


def add_project(db_url: str, project_id: str, owner: str, name: str) -> None:
    now = datetime.now(UTC)
    row = Project(
        id=project_id, name=name, goal="a goal", owner=owner, workflow_id=f"project-{project_id}",
        created_at=now, updated_at=now,
    )  # fmt: skip
    with session_scope(db_url) as s:
        # A core insert of the first schema's columns: it works on a database at any migration.
        first = Project.__table__.columns  # type: ignore[attr-defined]
        old = table("project", *(column(c, first[c].type) for c in FIRST_PROJECT_COLUMNS))
        s.execute(insert(old).values({c: getattr(row, c) for c in FIRST_PROJECT_COLUMNS}))
        s.commit()


def add_doc(
    db_url: str, project_id: str, title: str, content: str, *, kind: str = "deliverable", task: str = "t1", v: int = 1
) -> int:
    with session_scope(db_url) as s:
        doc = Document(
            project_id=project_id,
            kind=kind,
            task_id=task,
            version=v,
            title=title,
            content=content,
            created_at=datetime.now(UTC),
        )
        s.add(doc)
        s.commit()
        s.refresh(doc)
        assert doc.id is not None
        return doc.id


def seed_corpus(any_db_url: str) -> dict[str, int]:
    """Two projects of the CEO, one of Alice; deliverables, research, a plan and old versions."""
    add_project(any_db_url, "p-mugs", "ceo", "Handmade mugs")
    add_project(any_db_url, "p-tea", "ceo", "Tea subscription")
    add_project(any_db_url, "p-alice", "alice", "Alice's candles")
    ids = {
        "mugs_refund": add_doc(
            any_db_url,
            "p-mugs",
            "Refund policy",
            "# Refunds\n\nCustomers get a <b>14-day</b> refund on every mug. We never promise next-day delivery.",
        ),
        "mugs_old": add_doc(any_db_url, "p-mugs", "Landing page", "Old copy about porcelain glaze", task="t2", v=1),
        "mugs_new": add_doc(any_db_url, "p-mugs", "Landing page", "New copy about stoneware", task="t2", v=2),
        "tea_refund": add_doc(
            any_db_url, "p-tea", "Support FAQ", "Refunds within 30 days; delivery takes three to five days."
        ),
        "tea_research": add_doc(
            any_db_url,
            "p-tea",
            "Market research",
            "Competitors offer refunds and loose-leaf samplers.",
            kind="research",
            task="",
        ),
        "tea_plan": add_doc(any_db_url, "p-tea", "Plan", "Refund the first box if unhappy", kind="plan", task=""),
        "alice_refund": add_doc(any_db_url, "p-alice", "Candle refunds", "Refunds for candles within 7 days."),
    }
    return ids
