"""Dependencies handed out by `Depends`: settings, the one Temporal client, a DB session, auth."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client

from api.auth import authenticate
from boardroom.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_temporal(request: Request) -> Client:
    """The client the lifespan connected; 503 while Temporal has not been reached yet."""
    client: Client | None = getattr(request.app.state, "temporal", None)
    if client is None:
        settings: Settings = request.app.state.settings
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"Temporal is not reachable at {settings.temporal_address}; retrying in the background",
        )
    return client


def get_engine_dep(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
SessionDep = Annotated[Session, Depends(get_session)]
EngineDep = Annotated[Engine, Depends(get_engine_dep)]
# Router-level guard; a route that needs the caller asks for `PrincipalDep` (the same, cached).
ApiKey = Depends(authenticate)


def get_temporal_optional(request: Request) -> Client | None:
    """For reads that can fall back to the read model while Temporal is away."""
    client: Client | None = getattr(request.app.state, "temporal", None)
    return client


MaybeTemporalDep = Annotated[Client | None, Depends(get_temporal_optional)]
