"""Liveness and readiness probes (no auth: they reveal nothing but up/down)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from api.schemas import Health, Readiness

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_S = 3.0


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """Liveness: the process answers."""
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Temporal or the database is unavailable"}},
)
async def readyz(request: Request) -> Readiness | JSONResponse:
    """Readiness: Temporal answers a health check and the database a `SELECT 1`; 503 otherwise."""
    checks = {"temporal": "ok", "database": "ok"}
    client = getattr(request.app.state, "temporal", None)
    if client is None:
        checks["temporal"] = "not connected"
    else:
        try:
            await asyncio.wait_for(client.service_client.check_health(), CHECK_TIMEOUT_S)
        except Exception as exc:  # any failure means "not ready"; the reason is reported
            checks["temporal"] = f"unavailable: {type(exc).__name__}"

    def ping() -> None:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(run_in_threadpool(ping), CHECK_TIMEOUT_S)
    except Exception as exc:  # idem
        checks["database"] = f"unavailable: {type(exc).__name__}"
    failing = [name for name, state in checks.items() if state != "ok"]
    if failing:
        body = Readiness(status="unavailable", checks=checks, detail=f"not ready: {', '.join(failing)} unavailable")
        return JSONResponse(body.model_dump(), status_code=503)
    return Readiness(status="ready", checks=checks)
