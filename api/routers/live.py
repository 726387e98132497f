"""Server-Sent Events for the console: a page subscribes, and hears `changed` whenever what it
shows changed in the projection (the read model the worker writes). The page then fetches itself
again and swaps its live regions (api/static/live.js) — no polling reloads while JavaScript runs.

Each stream is bounded (it ends after STREAM_S; EventSource reconnects by itself) and polls the
database at a modest interval, so an idle tab costs one small query per interval.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api.auth import BrowserRoute
from api.deps import ApiKey, EngineDep
from store.tables import Gate, Project

router = APIRouter(tags=["live"], include_in_schema=False, dependencies=[ApiKey], route_class=BrowserRoute)

POLL_S = 0.5
KEEPALIVE_S = 15.0
STREAM_S = 300.0
RETRY_MS = 2000


def project_fingerprint(session: Session, project_id: str) -> Any:
    row = session.get(Project, project_id)
    if row is None:
        return None
    gates = session.exec(
        select(Gate.id, Gate.status, Gate.reminders).where(Gate.project_id == project_id).order_by(col(Gate.id))
    ).all()
    return [str(row.updated_at), row.phase, row.status, row.pending_gates, row.cost_usd, [list(g) for g in gates]]


def pending_fingerprint(session: Session) -> Any:
    gates = session.exec(select(Gate.id).where(Gate.status == "pending").order_by(col(Gate.id))).all()
    projects = session.exec(select(Project.id, Project.updated_at).order_by(col(Project.id))).all()
    return [list(gates), [[p, str(at)] for p, at in projects]]


async def _stream(request: Request, engine: Engine, probe: Callable[[Session], Any]) -> AsyncIterator[str]:
    def read() -> Any:
        with Session(engine) as session:
            return probe(session)

    yield f"retry: {RETRY_MS}\n\n"
    last = await asyncio.to_thread(read)
    started = last_sent = time.monotonic()
    while time.monotonic() - started < STREAM_S:
        await asyncio.sleep(POLL_S)
        if await request.is_disconnected():
            return
        current = await asyncio.to_thread(read)
        now = time.monotonic()
        if current != last:
            last, last_sent = current, now
            yield f"event: changed\ndata: {json.dumps({'at': time.time()})}\n\n"
        elif now - last_sent > KEEPALIVE_S:
            last_sent = now
            yield ": keep-alive\n\n"


def _sse(body: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        body, media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


@router.get("/projects/{project_id}/events")
async def project_events(request: Request, project_id: str, engine: EngineDep) -> StreamingResponse:
    """`changed` events when the project's phase, status, cost, tasks or gates change. Read-only."""
    project_id = project_id[:64]
    return _sse(_stream(request, engine, lambda s: project_fingerprint(s, project_id)))


@router.get("/events")
async def console_events(request: Request, engine: EngineDep) -> StreamingResponse:
    """`changed` events when any project or the set of pending decisions changes (dashboard, inbox)."""
    return _sse(_stream(request, engine, pending_fingerprint))
