"""FastAPI app factory. The lifespan creates the one Temporal client and the DB engine."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import RPCTimeoutOrCancelledError
from temporalio.service import RPCError

from api.auth import SignInRequired, warn_if_open
from api.deps import ApiKey
from api.domain_errors import domain_error
from api.middleware import BodyLimitMiddleware, HostOriginMiddleware, SecurityHeadersMiddleware
from api.payload_guard import PayloadLimitInterceptor, PayloadTooLarge
from api.routers import (
    approvals,
    codec,
    console,
    deliverables,
    docs,
    health,
    lessons,
    live,
    pages,
    projects,
    routines,
    search,
    session,
    slack,
    webhooks,
)
from boardroom.client import connect, data_converter
from boardroom.observability import instrument_app, metrics_payload
from boardroom.settings import PLACEHOLDER, Settings, load_settings
from domain.errors import ConfigError, DomainError
from store.db import get_engine

log = logging.getLogger("boardroom.api")

RECONNECT_S = 2.0
STATIC = Path(__file__).resolve().parent / "static"


async def _connect(settings: Settings) -> Any:
    guard = PayloadLimitInterceptor(data_converter(settings).payload_converter, settings.max_workflow_payload_bytes)
    return await connect(settings, interceptors=[guard])


async def _connect_until_ready(app: FastAPI, settings: Settings) -> None:
    """Keep trying to reach Temporal; requests that need it answer 503 meanwhile."""
    while True:
        try:
            app.state.temporal = await _connect(settings)
            log.info("connected to Temporal at %s", settings.temporal_address)
            return
        except ConfigError as exc:
            log.debug("still waiting for Temporal: %s", exc)
            await asyncio.sleep(RECONNECT_S)


def json_safe(value: Any) -> Any:
    """What an error may echo back: non-finite numbers and unencodable text (lone surrogates) as
    plain strings, so the answer to bad input is a 422 and not a failure to write the 422."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {json_safe(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": json_safe(jsonable_encoder(exc.errors()))}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # A browser opening an address with no route gets a page with a way back instead of
        # JSON; every route keeps its own answers (JSON for the API, pages for the pages).
        if (
            exc.status_code == 404
            and request.scope.get("route") is None
            and "text/html" in request.headers.get("accept", "")
        ):
            return pages.page_not_found(request)
        return await http_exception_handler(request, exc)

    # What the domain refuses (domain.errors), as `{"detail": message}` with its status.
    app.add_exception_handler(DomainError, domain_error)

    @app.exception_handler(PayloadTooLarge)
    async def payload_too_large(_request: Request, exc: PayloadTooLarge) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=413)

    # Failures of Temporal or the database are never the caller's fault: 503 with a reason.
    @app.exception_handler(RPCError)
    async def temporal_rpc_error(_request: Request, exc: RPCError) -> JSONResponse:
        log.warning("Temporal RPC failed: %s %s", exc.status.name, exc.message[:200])
        return JSONResponse(
            {"detail": f"Temporal is unavailable or refused the call ({exc.status.name}): {exc.message[:200]}"},
            status_code=503,
        )

    @app.exception_handler(RPCTimeoutOrCancelledError)
    async def temporal_timeout(_request: Request, _exc: RPCTimeoutOrCancelledError) -> JSONResponse:
        return JSONResponse({"detail": "Temporal did not answer in time; try again"}, status_code=503)

    @app.exception_handler(ConfigError)
    async def config_error(_request: Request, exc: ConfigError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(OperationalError)
    async def database_error(_request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", type(exc.orig).__name__ if exc.orig else exc)
        return JSONResponse({"detail": "the application database is unavailable; try again"}, status_code=503)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API, the dashboard and the approval pages, bound to one Settings."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.engine = get_engine(settings.database_url)
        app.state.temporal = None
        app.state.codec = None
        if settings.encryption_keys:
            from boardroom.codec import EncryptionCodec

            app.state.codec = EncryptionCodec.from_setting(settings.encryption_keys)
        warn_if_open(settings)
        if settings.secret_key in ("", PLACEHOLDER):
            log.warning("BOARDROOM_SECRET_KEY is the placeholder: approval links are not secret; set it outside dev")
        reconnect: asyncio.Task[None] | None = None
        try:
            app.state.temporal = await _connect(settings)
        except ConfigError as exc:
            log.warning("%s; the API starts anyway and keeps retrying", exc)
            reconnect = asyncio.create_task(_connect_until_ready(app, settings))
        try:
            yield
        finally:
            if reconnect is not None:
                reconnect.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reconnect

    app = FastAPI(
        title="Boardroom",
        version="0.1.0",
        description="Start projects, follow them, and decide their gates. "
        "JSON routes take `Authorization: Bearer <key>` when BOARDROOM_API_KEYS is set.",
        lifespan=lifespan,
        # Swagger UI and ReDoc run scripts from a CDN, which the pages' CSP refuses: /docs is a
        # server-rendered reference instead (api/routers/docs.py), /openapi.json the schema.
        docs_url=None,
        redoc_url=None,
    )
    # Set now too, so code that runs without the lifespan (OpenAPI, dependency overrides) sees it.
    app.state.settings = settings
    app.state.temporal = None
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[settings.temporal_ui_url.rstrip("/")],
        allow_credentials=True,
        allow_methods=["POST", "GET", "OPTIONS"],
        allow_headers=["Content-Type", "Authorization", "X-Namespace"],
    )
    # Outermost last: headers on every answer, then host/origin, then the body limit.
    app.add_middleware(BodyLimitMiddleware, settings=settings)
    app.add_middleware(HostOriginMiddleware, settings=settings)
    app.add_middleware(SecurityHeadersMiddleware)
    _install_error_handlers(app)
    app.add_exception_handler(SignInRequired, session.sign_in_required)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(health.router)
    app.include_router(docs.router)
    app.include_router(projects.router)
    app.include_router(approvals.router)
    app.include_router(codec.router)
    app.include_router(codec.keyed)
    app.include_router(slack.router)
    app.include_router(pages.router)
    app.include_router(pages.protected)
    app.include_router(console.router)
    app.include_router(live.router)
    app.include_router(webhooks.router)
    app.include_router(deliverables.router)
    app.include_router(deliverables.pages)
    app.include_router(deliverables.downloads)
    app.include_router(search.router)
    app.include_router(lessons.router)
    app.include_router(routines.router)
    app.include_router(session.router)
    app.include_router(session.pages)

    @app.get("/metrics", include_in_schema=False, dependencies=[ApiKey])
    async def metrics() -> Response:
        """Prometheus exposition of the API's own metrics (projects started, business events);
        workers serve theirs on their metrics port. Read-only."""
        body, content_type = await asyncio.to_thread(metrics_payload)
        return Response(body, media_type=content_type)

    instrument_app(app)
    return app
