"""API fixtures: the real app (lifespan entered) behind httpx's ASGI transport, with or without
a reachable Temporal, and helpers to seed the read model the worker would normally write."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from boardroom.settings import Settings
from store.db import session_scope
from store.tables import Document, Gate, Project, Review

BASE = "http://testserver"

AppClient = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def running_app(
    settings: Settings, client_host: str = "127.0.0.1"
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(client_host, 50000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE, timeout=60) as http:
            yield app, http


@pytest.fixture
def offline_settings(settings: Settings) -> Settings:
    """Settings whose Temporal address answers nothing (the app starts and retries)."""
    return settings.model_copy(update={"temporal_address": f"127.0.0.1:{closed_port()}", "public_url": BASE})


@pytest.fixture
def live_settings(settings: Settings, dev_env: WorkflowEnvironment, task_queue: str) -> Settings:
    """Settings pointing at the session's dev server, with this test's own task queue."""
    return settings.model_copy(
        update={
            "temporal_address": dev_env.client.service_client.config.target_host,
            "temporal_namespace": dev_env.client.namespace,
            "task_queue": task_queue,
            "public_url": BASE,
        }
    )


@pytest.fixture
def offline_api(offline_settings: Settings) -> AppClient:
    """`async with offline_api(**overrides) as http:` — the app with Temporal unreachable."""

    @asynccontextmanager
    async def open_(client_host: str = "127.0.0.1", **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        async with running_app(offline_settings.model_copy(update=overrides), client_host) as (_, http):
            yield http

    return open_


@pytest.fixture
def live_api(live_settings: Settings) -> AppClient:
    """`async with live_api(**overrides) as http:` — the app connected to the dev server."""

    @asynccontextmanager
    async def open_(client_host: str = "127.0.0.1", **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        async with running_app(live_settings.model_copy(update=overrides), client_host) as (_, http):
            yield http

    return open_


def now() -> datetime:
    """Aware UTC: SQLModel's UTCDateTime columns refuse naive datetimes."""
    return datetime.now(UTC)


class Seed:
    """Rows the worker's activities would write, for read-model and page tests."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url

    def project(self, project_id: str = "p-seed00000001", **kw: Any) -> Project:
        row = Project(
            id=project_id,
            name=kw.pop("name", "Seeded shop"),
            goal=kw.pop("goal", "Sell **handmade** mugs online"),
            workflow_id=f"project-{project_id}",
            created_at=kw.pop("created_at", now()),
            updated_at=kw.pop("updated_at", now()),
            **kw,
        )
        with session_scope(self.db_url) as s:
            s.add(row)
            s.commit()
        return row

    def gate(self, project_id: str = "p-seed00000001", seq: int = 1, **kw: Any) -> Gate:
        row = Gate(
            id=f"{project_id}-g{seq}",
            project_id=project_id,
            workflow_id=f"project-{project_id}",
            kind=kw.pop("kind", "deliverable"),
            title=kw.pop("title", "Approve the landing page"),
            summary=kw.pop("summary", "The copy for the landing page"),
            risk=kw.pop("risk", "high"),
            created_at=kw.pop("created_at", now()),
            **kw,
        )
        with session_scope(self.db_url) as s:
            s.add(row)
            s.commit()
        return row

    def document(self, project_id: str = "p-seed00000001", **kw: Any) -> Document:
        row = Document(
            project_id=project_id,
            task_id=kw.pop("task_id", "t1"),
            title=kw.pop("title", "Landing page"),
            content=kw.pop("content", "# Mugs\n\n<script>alert('x')</script> **Buy** now"),
            created_at=kw.pop("created_at", now()),
            **kw,
        )
        with session_scope(self.db_url) as s:
            s.add(row)
            s.commit()
            s.refresh(row)
        return row

    def review(self, document_id: int, project_id: str = "p-seed00000001", **kw: Any) -> Review:
        row = Review(
            project_id=project_id,
            task_id=kw.pop("task_id", "t1"),
            document_id=document_id,
            round=kw.pop("round", 1),
            score=kw.pop("score", 8.5),
            passed=kw.pop("passed", True),
            issues=kw.pop("issues", [{"severity": "low", "text": "Tighten <the> headline"}]),
            created_at=kw.pop("created_at", now()),
            **kw,
        )
        with session_scope(self.db_url) as s:
            s.add(row)
            s.commit()
            s.refresh(row)
        return row

    def decide_row(self, gate_id: str, status: str, by: str, at: datetime) -> None:
        with session_scope(self.db_url) as s:
            row = s.get(Gate, gate_id)
            assert row is not None
            row.status, row.decided_by, row.decided_at, row.decision = status, by, at, "approve"
            s.add(row)
            s.commit()


@pytest.fixture
def seed(db_url: str) -> Seed:
    return Seed(db_url)
