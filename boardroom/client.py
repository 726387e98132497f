"""The one Temporal client factory: worker, API, CLI and tests all connect through it."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.client import Client, Interceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from boardroom.settings import Settings
from domain.errors import ConfigError


def data_converter(settings: Settings | None = None) -> DataConverter:
    """Pydantic payloads, plus the encryption codec when BOARDROOM_ENCRYPTION_KEYS is set.

    With encryption on, failure messages and stack traces are moved into an encoded attribute
    too (the history shows "Encoded failure"), since an error message can quote business data.
    """
    converter = pydantic_data_converter
    if settings is not None and settings.encryption_keys:
        from boardroom.codec import EncryptionCodec

        codec = EncryptionCodec.from_setting(settings.encryption_keys)
        converter = DataConverter(
            payload_converter_class=converter.payload_converter_class,
            payload_codec=codec,
            failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
        )
    return converter


def tls_config(settings: Settings) -> TLSConfig | bool:
    if settings.temporal_tls_cert or settings.temporal_tls_key:
        if not (settings.temporal_tls_cert and settings.temporal_tls_key):
            raise ConfigError("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together")
        return TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
            server_root_ca_cert=settings.temporal_tls_ca.read_bytes() if settings.temporal_tls_ca else None,
            domain=settings.temporal_tls_server_name,
        )
    # Temporal Cloud with an API key always speaks TLS.
    if not (settings.temporal_tls or settings.temporal_api_key):
        return False
    if settings.temporal_tls_ca or settings.temporal_tls_server_name:
        # Server-side TLS with a private CA, or a server name other than the address.
        return TLSConfig(
            server_root_ca_cert=settings.temporal_tls_ca.read_bytes() if settings.temporal_tls_ca else None,
            domain=settings.temporal_tls_server_name,
        )
    return True


async def connect(
    settings: Settings,
    *,
    interceptors: Sequence[Interceptor] = (),
    target_host: str | None = None,
    runtime: Runtime | None = None,
) -> Client:
    """Connect to Temporal with the project's data converter, TLS/API key and interceptors.

    Observability comes first in the interceptor chain (tracing when `setup_tracing` installed
    a provider, then Boardroom's metrics); workers built from the client inherit it. `runtime`
    is a worker's metrics runtime (`observability.start_worker_metrics`).
    An unreachable server is a ConfigError with one line saying where we tried.
    """
    from boardroom.observability import client_interceptors

    address = target_host or settings.temporal_address
    try:
        return await Client.connect(
            address,
            namespace=settings.temporal_namespace,
            data_converter=data_converter(settings),
            interceptors=[*client_interceptors(settings), *interceptors],
            tls=tls_config(settings),
            api_key=settings.temporal_api_key,
            runtime=runtime,
        )
    except RuntimeError as exc:
        reason = str(exc).splitlines()[0][:200]
        raise ConfigError(f"cannot reach Temporal at {address} ({reason})") from None
