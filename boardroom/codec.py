"""AES-GCM payload encryption with key ids, so keys can rotate.

`BOARDROOM_ENCRYPTION_KEYS` is a comma-separated list of `key_id:base64key` entries
(32-byte keys). The first key encrypts; every listed key decrypts.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from domain.errors import ConfigError

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"


class EncryptionCodec(PayloadCodec):
    """Encrypts every payload with AES-GCM; the key id travels in the payload metadata."""

    def __init__(self, keys: dict[str, bytes], active: str) -> None:
        if active not in keys:
            raise ConfigError(f"encryption key '{active}' is not among the configured keys")
        self._ciphers = {kid: AESGCM(key) for kid, key in keys.items()}
        self._active = active

    @classmethod
    def from_setting(cls, value: str) -> EncryptionCodec:
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for entry in (e.strip() for e in value.split(",")):
            if not entry:
                continue
            kid, sep, b64 = entry.partition(":")
            if not sep or not kid:
                raise ConfigError("BOARDROOM_ENCRYPTION_KEYS: entries must look like key_id:base64key")
            try:
                key = base64.b64decode(b64, validate=True)
            except ValueError:
                raise ConfigError(f"BOARDROOM_ENCRYPTION_KEYS: key '{kid}' is not base64") from None
            if len(key) != 32:
                raise ConfigError(f"BOARDROOM_ENCRYPTION_KEYS: key '{kid}' must be 32 bytes")
            keys[kid] = key
            order.append(kid)
        if not order:
            raise ConfigError("BOARDROOM_ENCRYPTION_KEYS is empty")
        return cls(keys, order[0])

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            nonce = os.urandom(12)
            sealed = self._ciphers[self._active].encrypt(nonce, p.SerializeToString(), None)
            out.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID: self._active.encode()},
                    data=nonce + sealed,
                )
            )
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            if p.metadata.get("encoding") != ENCODING:
                out.append(p)
                continue
            kid = p.metadata.get(KEY_ID, b"").decode()
            cipher = self._ciphers.get(kid)
            if cipher is None:
                raise ValueError(f"payload encrypted with unknown key id '{kid}'")
            plain = cipher.decrypt(p.data[:12], p.data[12:], None)
            decoded = Payload()
            decoded.ParseFromString(plain)
            out.append(decoded)
        return out
