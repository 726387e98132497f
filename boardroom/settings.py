"""One Settings object: environment variables override `temporal-dev.yaml` and the defaults.

Nothing reads the environment at import time; call `load_settings()` where it is needed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from boardroom.devstack import DevStackConfig, load_devstack
from domain.errors import ConfigError

PLACEHOLDER = "change-me"
# Claims a public page must never make (compliance check before go-live): guarantees, health and
# financial promises. Matched case-insensitively on word boundaries; BOARDROOM_FORBIDDEN_CLAIMS
# (comma-separated) replaces the list.
DEFAULT_FORBIDDEN_CLAIMS = (
    "guaranteed results",
    "100% guaranteed",
    "guaranteed income",
    "guaranteed returns",
    "risk-free",
    "cure",
    "cures",
    "cured",
    "miracle cure",
    "get rich",
    "double your money",
    "lose weight fast",
    "clinically proven",
    "FDA approved",
)
SECRET_FIELDS = (
    "secret_key",
    "stripe_webhook_secret",
    "slack_signing_secret",
    "github_webhook_secret",
)


# What a worker process runs (workers/worker.py): everything, the workflows only, or the
# activities only.
WorkerRole = Literal["all", "workflows", "activities"]
WORKER_ROLES: tuple[WorkerRole, ...] = ("all", "workflows", "activities")


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Configuration for the worker, the API, the CLI and the tests."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    environment: Literal["development", "test", "production"] = Field(
        "development", validation_alias=_env("BOARDROOM_ENV")
    )
    # Temporal
    temporal_address: str = Field("127.0.0.1:7233", validation_alias=_env("TEMPORAL_ADDRESS"))
    temporal_namespace: str = Field("default", validation_alias=_env("TEMPORAL_NAMESPACE"))
    task_queue: str = Field("boardroom", validation_alias=_env("TEMPORAL_TASK_QUEUE"))
    temporal_api_key: str | None = Field(None, repr=False, validation_alias=_env("TEMPORAL_API_KEY"))
    temporal_tls: bool = Field(False, validation_alias=_env("TEMPORAL_TLS"))
    temporal_tls_cert: Path | None = Field(None, validation_alias=_env("TEMPORAL_TLS_CERT"))
    temporal_tls_key: Path | None = Field(None, validation_alias=_env("TEMPORAL_TLS_KEY"))
    temporal_tls_ca: Path | None = Field(None, validation_alias=_env("TEMPORAL_TLS_CA"))
    # SNI / the name the server's certificate is checked against, when it differs from the address.
    temporal_tls_server_name: str | None = Field(None, validation_alias=_env("TEMPORAL_TLS_SERVER_NAME"))
    temporal_ui_url: str = Field("http://localhost:8233", validation_alias=_env("TEMPORAL_UI_URL"))
    # Worker tuning
    max_concurrent_activities: int = Field(100, validation_alias=_env("BOARDROOM_MAX_CONCURRENT_ACTIVITIES"))
    max_concurrent_workflow_tasks: int = Field(100, validation_alias=_env("BOARDROOM_MAX_CONCURRENT_WORKFLOW_TASKS"))
    max_cached_workflows: int = Field(1000, validation_alias=_env("BOARDROOM_MAX_CACHED_WORKFLOWS"))
    graceful_shutdown_s: float = Field(30.0, validation_alias=_env("BOARDROOM_GRACEFUL_SHUTDOWN_S"))
    worker_role: WorkerRole = Field("all", validation_alias=_env("BOARDROOM_WORKER_ROLE"))
    # New runs record one patch marker, the newest baseline (workflows/patches.py). Off: they
    # record one per patch and leave out the patches the newest baseline brought, which a worker
    # from before it can still replay (the first step of a rollout that keeps a rollback open).
    patch_baseline: bool = Field(True, validation_alias=_env("BOARDROOM_PATCH_BASELINE"))
    # Application database
    database_url: str = Field("sqlite:///.data/boardroom.db", validation_alias=_env("DATABASE_URL"))
    # Files Boardroom keeps besides the database (the local git repositories launch publishes to);
    # unset: the SQLite database's directory, else `.data`.
    data_dir: Path | None = Field(None, validation_alias=_env("BOARDROOM_DATA_DIR"))
    # API
    api_host: str = Field("127.0.0.1", validation_alias=_env("BOARDROOM_API_HOST"))
    api_port: int = Field(8000, validation_alias=_env("BOARDROOM_API_PORT"))
    public_url: str = Field("http://localhost:8000", validation_alias=_env("BOARDROOM_PUBLIC_URL"))
    # `name:key,...`; a bare `key` (the older form) authenticates as DEFAULT_PRINCIPAL.
    api_keys: str = Field("", repr=False, validation_alias=_env("BOARDROOM_API_KEYS"))
    # A key that only opens /codec/* (the Temporal UI cannot send an API key by itself).
    codec_key: str | None = Field(None, repr=False, validation_alias=_env("BOARDROOM_CODEC_KEY"))
    # Host names the API answers besides loopback and the host of BOARDROOM_PUBLIC_URL; `*` = any.
    allowed_hosts: str = Field("", validation_alias=_env("BOARDROOM_ALLOWED_HOSTS"))
    # `U123:alice,...`: which Slack user decides as which approver; unknown users are refused.
    slack_approvers: str = Field("", validation_alias=_env("BOARDROOM_SLACK_APPROVERS"))
    # Request bodies are refused (413) past these sizes, before they are read.
    max_body_bytes: int = Field(256 * 1024, ge=1024, validation_alias=_env("BOARDROOM_MAX_BODY_BYTES"))
    max_form_body_bytes: int = Field(256 * 1024, ge=1024, validation_alias=_env("BOARDROOM_MAX_FORM_BODY_BYTES"))
    max_webhook_body_bytes: int = Field(1024 * 1024, ge=1024, validation_alias=_env("BOARDROOM_MAX_WEBHOOK_BODY_BYTES"))
    max_codec_body_bytes: int = Field(4 * 1024 * 1024, ge=1024, validation_alias=_env("BOARDROOM_MAX_CODEC_BODY_BYTES"))
    # No single payload the API sends into a workflow (start input, signal, update) is larger.
    max_workflow_payload_bytes: int = Field(
        64 * 1024, ge=1024, le=2 * 1024 * 1024, validation_alias=_env("BOARDROOM_MAX_WORKFLOW_PAYLOAD_BYTES")
    )
    secret_key: str = Field(PLACEHOLDER, repr=False, validation_alias=_env("BOARDROOM_SECRET_KEY"))
    # Browser sign-in (when BOARDROOM_API_KEYS is set): how long a one-time login link may wait to
    # be opened, and how long the session cookie it sets lasts.
    login_link_ttl_s: int = Field(15 * 60, ge=60, le=24 * 3600, validation_alias=_env("BOARDROOM_LOGIN_LINK_TTL_S"))
    session_ttl_s: int = Field(12 * 3600, ge=300, le=30 * 24 * 3600, validation_alias=_env("BOARDROOM_SESSION_TTL_S"))
    encryption_keys: str = Field("", repr=False, validation_alias=_env("BOARDROOM_ENCRYPTION_KEYS"))
    # Agents
    agent_provider: Literal["auto", "openai", "offline"] = Field(
        "auto", validation_alias=_env("BOARDROOM_AGENT_PROVIDER")
    )
    openai_api_key: str | None = Field(None, repr=False, validation_alias=_env("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=_env("OPENAI_BASE_URL"))
    openai_model: str = Field("gpt-4o-mini", validation_alias=_env("OPENAI_MODEL"))
    openai_timeout_s: float = Field(120.0, validation_alias=_env("OPENAI_TIMEOUT_S"))
    # JSON objects: {"role-name": "model"} and {"model": [usd_per_1M_in, usd_per_1M_out, usd_per_1M_cached]}
    role_models: str = Field("", validation_alias=_env("BOARDROOM_ROLE_MODELS"))
    prices: str = Field("", validation_alias=_env("BOARDROOM_PRICES"))
    llm_output_retries: int = Field(2, ge=0, le=5, validation_alias=_env("BOARDROOM_LLM_OUTPUT_RETRIES"))
    # Integrations
    stripe_api_key: str | None = Field(None, repr=False, validation_alias=_env("STRIPE_API_KEY"))
    stripe_api_base: str | None = Field(None, validation_alias=_env("STRIPE_API_BASE"))
    stripe_webhook_secret: str = Field(PLACEHOLDER, repr=False, validation_alias=_env("STRIPE_WEBHOOK_SECRET"))
    github_token: str | None = Field(None, repr=False, validation_alias=_env("GITHUB_TOKEN"))
    github_api_url: str | None = Field(None, validation_alias=_env("GITHUB_API_URL"))
    github_org: str | None = Field(None, validation_alias=_env("GITHUB_ORG"))
    github_webhook_secret: str = Field(PLACEHOLDER, repr=False, validation_alias=_env("GITHUB_WEBHOOK_SECRET"))
    slack_bot_token: str | None = Field(None, repr=False, validation_alias=_env("SLACK_BOT_TOKEN"))
    slack_api_url: str | None = Field(None, validation_alias=_env("SLACK_API_URL"))
    slack_channel: str = Field("#boardroom", validation_alias=_env("SLACK_CHANNEL"))
    slack_signing_secret: str = Field(PLACEHOLDER, repr=False, validation_alias=_env("SLACK_SIGNING_SECRET"))
    # Compliance
    forbidden_claims: str = Field(
        ",".join(DEFAULT_FORBIDDEN_CLAIMS), validation_alias=_env("BOARDROOM_FORBIDDEN_CLAIMS")
    )
    # Notification channels beside Slack (README "Notifications")
    smtp_host: str | None = Field(None, validation_alias=_env("BOARDROOM_SMTP_HOST"))
    smtp_port: int = Field(587, ge=1, le=65535, validation_alias=_env("BOARDROOM_SMTP_PORT"))
    smtp_username: str | None = Field(None, validation_alias=_env("BOARDROOM_SMTP_USERNAME"))
    smtp_password: str | None = Field(None, repr=False, validation_alias=_env("BOARDROOM_SMTP_PASSWORD"))
    smtp_starttls: bool = Field(True, validation_alias=_env("BOARDROOM_SMTP_STARTTLS"))
    smtp_timeout_s: float = Field(10.0, gt=0, le=120, validation_alias=_env("BOARDROOM_SMTP_TIMEOUT_S"))
    email_from: str = Field("Boardroom <boardroom@localhost>", validation_alias=_env("BOARDROOM_EMAIL_FROM"))
    email_to: str = Field("", validation_alias=_env("BOARDROOM_EMAIL_TO"))  # comma-separated
    notify_webhook_url: str | None = Field(None, validation_alias=_env("BOARDROOM_NOTIFY_WEBHOOK_URL"))
    notify_webhook_secret: str | None = Field(
        None, repr=False, validation_alias=_env("BOARDROOM_NOTIFY_WEBHOOK_SECRET")
    )
    # JSON: {"low": [...], "medium": [...], "high": [...], "digest": [...]} of slack/email/webhook;
    # a key left out means every configured channel.
    notify_channels: str = Field("", validation_alias=_env("BOARDROOM_NOTIFY_CHANNELS"))
    # The daily digest's Temporal Schedule; "" or "off" removes it.
    digest_cron: str = Field("0 8 * * *", validation_alias=_env("BOARDROOM_DIGEST_CRON"))
    digest_timezone: str = Field("UTC", validation_alias=_env("BOARDROOM_DIGEST_TIMEZONE"))
    # Observability
    metrics_port: int | None = Field(None, ge=1, le=65535, validation_alias=_env("BOARDROOM_METRICS_PORT"))
    metrics_host: str = Field("127.0.0.1", validation_alias=_env("BOARDROOM_METRICS_HOST"))
    log_format: Literal["json", "text"] | None = Field(None, validation_alias=_env("BOARDROOM_LOG_FORMAT"))
    otel_exporter: Literal["none", "console", "otlp"] = Field("none", validation_alias=_env("BOARDROOM_OTEL_EXPORTER"))
    otel_endpoint: str | None = Field(None, validation_alias=_env("OTEL_EXPORTER_OTLP_ENDPOINT"))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],  # noqa: ARG003 (signature fixed by pydantic-settings)
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first: it overrides what temporal-dev.yaml hands in as init values.
        return (env_settings, init_settings)

    @field_validator(
        "temporal_tls_cert",
        "temporal_tls_key",
        "temporal_tls_ca",
        "temporal_tls_server_name",
        "data_dir",
        "temporal_api_key",
        "codec_key",
        "openai_api_key",
        "openai_base_url",
        "stripe_api_key",
        "stripe_api_base",
        "github_token",
        "github_api_url",
        "github_org",
        "slack_bot_token",
        "slack_api_url",
        "otel_endpoint",
        "smtp_host",
        "smtp_username",
        "smtp_password",
        "notify_webhook_url",
        "notify_webhook_secret",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `FOO=` in an env file means "not set", not "the current directory" or "an empty key".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("worker_role", mode="before")
    @classmethod
    def _known_worker_role(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in WORKER_ROLES:
            return value.strip().lower()
        raise ValueError(f"BOARDROOM_WORKER_ROLE must be one of {', '.join(WORKER_ROLES)}, not {value!r}")

    @field_validator("api_keys")
    @classmethod
    def _api_keys_well_formed(cls, value: str) -> str:
        keys = [key for _name, key in _principal_pairs(value)]
        if len(set(keys)) != len(keys):
            raise ValueError("BOARDROOM_API_KEYS lists the same key twice")
        return value

    @field_validator("slack_approvers")
    @classmethod
    def _slack_approvers_well_formed(cls, value: str) -> str:
        _slack_pairs(value)
        return value

    @field_validator("email_from")
    @classmethod
    def _one_address(cls, value: str) -> str:
        if not _address_ok(value):
            raise ValueError(f"BOARDROOM_EMAIL_FROM: not an email address: {value!r}")
        return value

    @field_validator("email_to")
    @classmethod
    def _addresses(cls, value: str) -> str:
        for item in _split(value):
            if not _address_ok(item):
                raise ValueError(f"BOARDROOM_EMAIL_TO: not an email address: {item!r}")
        return value

    @field_validator("notify_webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"BOARDROOM_NOTIFY_WEBHOOK_URL: not an http(s) URL: {value!r}")
        return value

    @field_validator("notify_channels")
    @classmethod
    def _channel_map(cls, value: str) -> str:
        parse_channel_map(value)
        return value

    @field_validator("digest_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        text = value.strip()
        if text.lower() in ("", "off"):
            return ""
        if len(text.split()) != 5 or not _CRON_FIELD.fullmatch(text):
            raise ValueError(f"BOARDROOM_DIGEST_CRON: not a five-field cron expression: {value!r}")
        return text

    @field_validator("digest_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        if value != "UTC":
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"BOARDROOM_DIGEST_TIMEZONE: unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _channels_configured(self) -> Settings:
        if self.notify_webhook_url and not self.notify_webhook_secret:
            raise ValueError("BOARDROOM_NOTIFY_WEBHOOK_SECRET must be set when BOARDROOM_NOTIFY_WEBHOOK_URL is")
        if self.smtp_host and not self.email_to_list:
            raise ValueError("BOARDROOM_EMAIL_TO must name at least one recipient when BOARDROOM_SMTP_HOST is set")
        configured = set(self.configured_channels)
        for key, names in parse_channel_map(self.notify_channels).items():
            for name in names:
                if name not in configured:
                    raise ValueError(
                        f"BOARDROOM_NOTIFY_CHANNELS: {key!r} names {name!r}, which is not configured "
                        f"({CHANNEL_NEEDS[name]})"
                    )
        return self

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.environment == "production":
            weak = [name for name in SECRET_FIELDS if getattr(self, name) in ("", PLACEHOLDER)]
            if weak:
                names = ", ".join(weak)
                raise ValueError(f"placeholder secrets are refused outside development: {names}")
        return self

    @property
    def provider(self) -> Literal["openai", "offline"]:
        """The agent provider in effect: offline when no OpenAI key is set."""
        if self.agent_provider == "auto":
            return "openai" if self.openai_api_key else "offline"
        return self.agent_provider

    @property
    def api_key_list(self) -> list[str]:
        """The configured API key values (never logged; see boardroom.logs)."""
        return [key for _name, key in _principal_pairs(self.api_keys)]

    @property
    def api_principals(self) -> list[tuple[str, str]]:
        """(name, key) per configured key; a bare key is named DEFAULT_PRINCIPAL."""
        return _principal_pairs(self.api_keys)

    @property
    def slack_approver_map(self) -> dict[str, str]:
        """Slack user id → approver name (BOARDROOM_SLACK_APPROVERS)."""
        return dict(_slack_pairs(self.slack_approvers))

    @property
    def allowed_host_list(self) -> list[str]:
        return [h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip()]

    @property
    def secrets(self) -> list[str]:
        """Secret values beyond the usual fields, for log redaction (boardroom.logs)."""
        return [self.codec_key] if self.codec_key else []

    @property
    def forbidden_claim_list(self) -> list[str]:
        return [c.strip() for c in self.forbidden_claims.split(",") if c.strip()]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def data_path(self) -> Path:
        """Where Boardroom keeps files: BOARDROOM_DATA_DIR, else beside the SQLite database."""
        if self.data_dir is not None:
            return self.data_dir
        if self.database_url.startswith("sqlite:///") and ":memory:" not in self.database_url:
            return Path(self.database_url.removeprefix("sqlite:///")).parent
        return Path(".data")

    @property
    def email_to_list(self) -> list[str]:
        return _split(self.email_to)

    @property
    def configured_channels(self) -> list[str]:
        """The notification channels that have what they need, in a fixed order."""
        have = {
            "slack": bool(self.slack_bot_token),
            "email": bool(self.smtp_host and self.email_to_list),
            "webhook": bool(self.notify_webhook_url and self.notify_webhook_secret),
        }
        return [name for name in CHANNELS if have[name]]

    def channels_for(self, key: str) -> list[str]:
        """Where a gate of this risk (or, with key "digest", the daily digest) goes: the
        BOARDROOM_NOTIFY_CHANNELS entry, else every configured channel."""
        configured = self.configured_channels
        chosen = parse_channel_map(self.notify_channels).get(key)
        if chosen is None:
            return configured
        return [name for name in configured if name in chosen]


# Who a bare API key (no `name:`) and a loopback client without keys decide as: the default
# owner of a project, the same name `POST /projects` gives a project without an approver.
DEFAULT_PRINCIPAL = "ceo"


class _ExplicitSettings(Settings):
    """Settings validated from the given values alone (no environment): `load_settings` overrides."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],  # noqa: ARG003 (signature fixed by pydantic-settings)
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,  # noqa: ARG003
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def _principal_pairs(text: str) -> list[tuple[str, str]]:
    pairs = []
    for entry in text.split(","):
        entry = entry.strip()
        if not entry:
            continue
        name, sep, key = entry.partition(":")
        if not sep:
            name, key = DEFAULT_PRINCIPAL, entry
        name, key = name.strip(), key.strip()
        if not name or not key:
            raise ValueError("BOARDROOM_API_KEYS entries are `name:key` (or a bare `key`), comma-separated")
        pairs.append((name, key))
    return pairs


def _slack_pairs(text: str) -> list[tuple[str, str]]:
    pairs = []
    for entry in text.split(","):
        if not entry.strip():
            continue
        user, sep, name = entry.partition(":")
        if not sep or not user.strip() or not name.strip():
            raise ValueError("BOARDROOM_SLACK_APPROVERS entries are `SLACK_USER_ID:approver`, comma-separated")
        pairs.append((user.strip(), name.strip()))
    return pairs


CHANNELS = ("slack", "email", "webhook")
CHANNEL_KEYS = ("low", "medium", "high", "digest")
CHANNEL_NEEDS = {
    "slack": "set SLACK_BOT_TOKEN",
    "email": "set BOARDROOM_SMTP_HOST and BOARDROOM_EMAIL_TO",
    "webhook": "set BOARDROOM_NOTIFY_WEBHOOK_URL and BOARDROOM_NOTIFY_WEBHOOK_SECRET",
}
_CRON_FIELD = re.compile(r"[0-9A-Za-z*/,\-?]+(\s+[0-9A-Za-z*/,\-?]+){4}")


def parse_channel_map(text: str) -> dict[str, list[str]]:
    """BOARDROOM_NOTIFY_CHANNELS as {key: [channel, ...]}; ValueError with one readable line."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"BOARDROOM_NOTIFY_CHANNELS is not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise ValueError('BOARDROOM_NOTIFY_CHANNELS must be a JSON object such as {"high": ["slack", "email"]}')
    out: dict[str, list[str]] = {}
    for key, names in data.items():
        if key not in CHANNEL_KEYS:
            raise ValueError(f"BOARDROOM_NOTIFY_CHANNELS: unknown key {key!r} (known: {', '.join(CHANNEL_KEYS)})")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError(f"BOARDROOM_NOTIFY_CHANNELS: {key!r} must be a list of channel names")
        for name in names:
            if name not in CHANNELS:
                raise ValueError(f"BOARDROOM_NOTIFY_CHANNELS: unknown channel {name!r} (known: {', '.join(CHANNELS)})")
        out[key] = list(dict.fromkeys(names))
    return out


def _split(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _address_ok(text: str) -> bool:
    # No line breaks (header injection) and one plain addr-spec, with or without a display name.
    if any(c in text for c in "\r\n"):
        return False
    _, addr = parseaddr(text)
    local, at, domain = addr.partition("@")
    return bool(at and local and domain) and not any(c.isspace() for c in addr)


def defaults_from_devstack(dev: DevStackConfig) -> dict[str, object]:
    return {
        "temporal_address": dev.address,
        "temporal_namespace": dev.namespace,
        "task_queue": dev.task_queue,
        "api_host": dev.api.host,
        "api_port": dev.api.port,
        "temporal_ui_url": f"http://localhost:{dev.ui.port}",
    }


def temporal_profile(env: Mapping[str, str] | None = None) -> dict[str, object]:
    """Connection settings from Temporal's environment configuration (`temporalio.envconfig`).

    The profile `TEMPORAL_PROFILE` (default `default`) of the TOML file `TEMPORAL_CONFIG_FILE`
    (default `~/.config/temporalio/temporal.toml`), with the SDK's own variables applied over it
    (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS`,
    `TEMPORAL_TLS_CLIENT_CERT_PATH`, `TEMPORAL_TLS_CLIENT_KEY_PATH`,
    `TEMPORAL_TLS_SERVER_CA_CERT_PATH`, `TEMPORAL_TLS_SERVER_NAME`), as Settings field values.
    Only what the profile sets is returned; `env` defaults to the process environment.
    """
    from temporalio.envconfig import ClientConfigProfile

    environ = os.environ if env is None else env
    config_file = environ.get("TEMPORAL_CONFIG_FILE", "").strip()
    if config_file and not Path(config_file).is_file():
        raise ConfigError(f"TEMPORAL_CONFIG_FILE: no such file {config_file}")
    try:
        profile = ClientConfigProfile.load(override_env_vars=dict(environ))
    except RuntimeError as exc:  # the SDK's config error: bad TOML, unknown profile
        raise ConfigError(f"Temporal environment configuration: {exc}") from None
    if profile.grpc_meta:
        raise ConfigError("Temporal environment configuration: grpc_meta is not supported by Boardroom")
    values: dict[str, object] = {}
    if profile.address:
        values["temporal_address"] = profile.address
    if profile.namespace:
        values["temporal_namespace"] = profile.namespace
    if profile.api_key:
        values["temporal_api_key"] = profile.api_key
    tls = profile.tls
    if tls is not None:
        values["temporal_tls"] = tls.disabled is not True
        if tls.server_name:
            values["temporal_tls_server_name"] = tls.server_name
        sources = (
            ("temporal_tls_cert", "client_cert", tls.client_cert),
            ("temporal_tls_key", "client_key", tls.client_private_key),
            ("temporal_tls_ca", "server_ca_cert", tls.server_root_ca_cert),
        )
        for field, key, source in sources:
            if source is None:
                continue
            if not isinstance(source, Path):
                raise ConfigError(
                    f"Temporal environment configuration: give the TLS {key} as a file ({key}_path), not inline data"
                )
            values[field] = source
    return values


def load_settings(devstack_path: Path | str | None = None, **overrides: object) -> Settings:
    """Settings from the environment over `temporal-dev.yaml`; errors as one-line ConfigError.

    Temporal connection settings, the first found wins: Boardroom's variables (`TEMPORAL_ADDRESS`,
    `TEMPORAL_TLS_CERT`, ...); Temporal's environment configuration (`temporal_profile`);
    `temporal-dev.yaml`; the defaults.
    """
    return _load(devstack_path, overrides, use_temporal_profile=True)


def load_dev_stack_settings(devstack_path: Path | str | None = None) -> Settings:
    """`load_settings` for `boardroom up`, which runs its own dev server: no Temporal profile (say,
    Temporal Cloud in the user's temporal.toml) may send its worker and API elsewhere."""
    return _load(devstack_path, {}, use_temporal_profile=False)


def _load(devstack_path: Path | str | None, overrides: dict[str, object], *, use_temporal_profile: bool) -> Settings:
    dev = load_devstack(devstack_path)
    try:
        init = defaults_from_devstack(dev)
        if use_temporal_profile:
            # Init values: the environment (Boardroom's own variables) still wins over them.
            init |= temporal_profile()
        settings = Settings(**init)  # type: ignore[arg-type]
        if overrides:
            # Explicit overrides (tests, CLI flags) win over the environment too: validated
            # without the environment source (which would otherwise win again), then as Settings.
            explicit = _ExplicitSettings(**(settings.model_dump() | overrides))
            settings = Settings.model_construct(**explicit.model_dump())
        return settings
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        if message.startswith(("BOARDROOM_", "TEMPORAL_")):
            where = ""  # the message names the variable already
        raise ConfigError(f"configuration: {where + ': ' if where else ''}{message}") from None
