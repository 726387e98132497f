"""Temporal codec server: lets the Temporal Web UI show encrypted payloads in clear.

Only when BOARDROOM_ENCRYPTION_KEYS is set (404 otherwise). CORS for the UI's origin is
configured on the app. Who may call it:

- `/codec/encode`, `/codec/decode`: the JSON API's auth (a bearer API key; loopback when no keys
  are set), or `Authorization: Bearer <BOARDROOM_CODEC_KEY>` (the CLI's `--codec-auth`);
- `/codec/k/<BOARDROOM_CODEC_KEY>/encode|decode`: the codec-only key in the path, for the Temporal
  UI, which sends no credentials of its own. Set the UI's codec endpoint to
  `<BOARDROOM_PUBLIC_URL>/codec/k/<key>`. The key opens the codec and nothing else.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from api.auth import authenticate, bearer_token
from api.schemas import CodecPayloads, errors
from boardroom.codec import EncryptionCodec
from boardroom.settings import Settings

Transform = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]


def _is_codec_key(settings: Settings, presented: str | None) -> bool:
    key = settings.codec_key
    return bool(key and presented) and hmac.compare_digest(str(presented).encode(), str(key).encode())


def codec_or_api_key(request: Request) -> None:
    """The codec key as a bearer, or else whatever the JSON API accepts."""
    if _is_codec_key(request.app.state.settings, bearer_token(request)):
        return
    authenticate(request)


def codec_key_in_path(request: Request, key: str) -> None:
    settings: Settings = request.app.state.settings
    if not settings.codec_key:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no codec key is configured (BOARDROOM_CODEC_KEY)")
    if not _is_codec_key(settings, key):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid codec key")


router = APIRouter(prefix="/codec", tags=["codec"], dependencies=[Depends(codec_or_api_key)])
# Same operations, authorised by the codec-only key in the path (the Temporal UI's endpoint).
keyed = APIRouter(prefix="/codec/k/{key}", tags=["codec"], dependencies=[Depends(codec_key_in_path)])


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


@router.post("/encode", response_model=CodecPayloads, responses=errors(401, 403, 404, 413, 422))
@keyed.post("/encode", response_model=CodecPayloads, responses=errors(401, 404, 413, 422))
async def encode(body: CodecPayloads, codec: CodecDep) -> CodecPayloads:
    """Encrypt payloads with the active key. Not idempotent (fresh nonce each time)."""
    return await _apply(body, codec.encode)


@router.post("/decode", response_model=CodecPayloads, responses=errors(401, 403, 404, 413, 422))
@keyed.post("/decode", response_model=CodecPayloads, responses=errors(401, 404, 413, 422))
async def decode(body: CodecPayloads, codec: CodecDep) -> CodecPayloads:
    """Decrypt payloads with whichever configured key encrypted them. Idempotent."""
    return await _apply(body, codec.decode)
