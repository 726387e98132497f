"""FastAPI app factory. The lifespan creates the one Temporal client and the DB engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text

from boardroom.client import connect
from boardroom.settings import Settings, load_settings
from store.db import get_engine


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.engine = get_engine(settings.database_url)
        app.state.temporal = await connect(settings)
        yield

    app = FastAPI(title="Boardroom", version="0.1.0", lifespan=lifespan)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz() -> dict[str, str]:
        """Readiness: Temporal and the database answer."""
        await app.state.temporal.service_client.check_health()
        with app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ready"}

    return app
