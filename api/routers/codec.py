"""Temporal codec server: lets the Temporal Web UI show encrypted payloads in clear.

Only when BOARDROOM_ENCRYPTION_KEYS is set (404 otherwise). Same auth as the JSON API; CORS for
the UI's origin is configured on the app.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from api.deps import ApiKey
from api.schemas import CodecPayloads, errors
from boardroom.codec import EncryptionCodec

router = APIRouter(prefix="/codec", tags=["codec"], dependencies=[ApiKey])

Transform = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]


def _codec(request: Request) -> EncryptionCodec:
    codec: EncryptionCodec | None = getattr(request.app.state, "codec", None)
    if codec is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "payload encryption is off (BOARDROOM_ENCRYPTION_KEYS is not set): there is nothing to decode",
        )
    return codec


CodecDep = Annotated[EncryptionCodec, Depends(_codec)]


async def _apply(body: CodecPayloads, fn: Transform) -> CodecPayloads:
    try:
        parsed = json_format.ParseDict(body.model_dump(), Payloads())
    except json_format.ParseError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"not Temporal payloads: {exc}") from None
    try:
        out = await fn(list(parsed.payloads))
    except Exception as exc:  # a payload that does not decrypt is bad input, not a server fault
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"cannot transform payloads: {type(exc).__name__}"
        ) from None
    return CodecPayloads.model_validate(json_format.MessageToDict(Payloads(payloads=out)))


@router.post("/encode", response_model=CodecPayloads, responses=errors(401, 403, 404, 422))
async def encode(body: CodecPayloads, codec: CodecDep) -> CodecPayloads:
    """Encrypt payloads with the active key. Not idempotent (fresh nonce each time)."""
    return await _apply(body, codec.encode)


@router.post("/decode", response_model=CodecPayloads, responses=errors(401, 403, 404, 422))
async def decode(body: CodecPayloads, codec: CodecDep) -> CodecPayloads:
    """Decrypt payloads with whichever configured key encrypted them. Idempotent."""
    return await _apply(body, codec.decode)
