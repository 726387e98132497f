"""The `ping` activity used by the smoke workflow and readiness checks."""

from __future__ import annotations

import socket

from pydantic import BaseModel
from temporalio import activity


class PingInput(BaseModel):
    message: str


class PingOutput(BaseModel):
    message: str
    worker_host: str


@activity.defn(name="ping")
async def ping(data: PingInput) -> PingOutput:
    """Echoes the message with the worker's host name. No side effects."""
    return PingOutput(message=data.message, worker_host=socket.gethostname())
