"""Structured logs: one JSON object (or key=value line) per record, with the project id,
workflow id and run id on every line that comes from a workflow or an activity, and every
configured secret value redacted — whatever logged it.

`setup_logging(settings)` installs this on the root logger; `boardroom up|worker|api` call it.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import IO, Any, Literal
from urllib.parse import urlsplit

import opentelemetry.trace
import temporalio.activity
import temporalio.workflow

from boardroom.observability import current_project_id
from boardroom.settings import PLACEHOLDER, Settings
from workflows.ids import project_id_from_workflow_id

REDACTED = "[REDACTED]"
# Shorter values would redact ordinary words; no real secret is this short.
MIN_SECRET_LEN = 6

_SECRET_FIELDS = (
    "secret_key",
    "stripe_webhook_secret",
    "slack_signing_secret",
    "github_webhook_secret",
    "openai_api_key",
    "stripe_api_key",
    "github_token",
    "slack_bot_token",
    "temporal_api_key",
    "smtp_password",
    "notify_webhook_secret",
)

# Fields of a record that are part of every record (not `extra`).
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
_CONTEXT_KEYS = ("project_id", "workflow_id", "run_id", "workflow_type", "activity_type", "activity_id", "attempt")


def secret_values(settings: Settings) -> list[str]:
    """Every configured secret value: signing secrets, API keys and tokens, encryption keys and
    the database password. Longest first, so a secret containing another is redacted whole."""
    values: set[str] = set()
    for name in _SECRET_FIELDS:
        value = getattr(settings, name, None)
        if isinstance(value, str):
            values.add(value)
    values.update(settings.api_key_list)
    for entry in settings.encryption_keys.split(","):
        _kid, _, key = entry.strip().partition(":")
        values.add(key.strip())
    password = urlsplit(settings.database_url).password
    if password:
        values.add(password)
    for extra in getattr(settings, "secrets", None) or ():
        values.add(str(extra))
    return sorted((v for v in values if v and v != PLACEHOLDER and len(v) >= MIN_SECRET_LEN), key=len, reverse=True)


class Redactor:
    """Replaces every known secret value in a string."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LEN}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


class RedactingFilter(logging.Filter):
    """Redacts secrets in a record's message, arguments and traceback before any handler formats it."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redact = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.redact.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must still be logged, redacted
            message = f"{record.msg} {record.args}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def temporal_context(record: logging.LogRecord) -> dict[str, Any]:
    """Project, workflow and run of the code that logged: from the SDK's `extra`
    (workflow.logger / activity.logger) or, for plain loggers, from the running activity."""
    ctx: dict[str, Any] = {}
    wf: Mapping[str, Any] | None = getattr(record, "temporal_workflow", None)
    act: Mapping[str, Any] | None = getattr(record, "temporal_activity", None)
    if wf:
        ctx.update(
            workflow_id=wf.get("workflow_id"),
            run_id=wf.get("run_id"),
            workflow_type=wf.get("workflow_type"),
            attempt=wf.get("attempt"),
        )
        if wf.get("update_id"):
            ctx["update_id"] = wf["update_id"]
    elif act:
        ctx.update(
            workflow_id=act.get("workflow_id"),
            run_id=act.get("workflow_run_id"),
            workflow_type=act.get("workflow_type"),
            activity_type=act.get("activity_type"),
            activity_id=act.get("activity_id"),
            attempt=act.get("attempt"),
        )
    elif temporalio.activity.in_activity():
        info = temporalio.activity.info()
        ctx.update(
            workflow_id=info.workflow_id,
            run_id=info.workflow_run_id,
            workflow_type=info.workflow_type,
            activity_type=info.activity_type,
            activity_id=info.activity_id,
            attempt=info.attempt,
        )
    elif temporalio.workflow.in_workflow():
        info_ = temporalio.workflow.info()
        ctx.update(workflow_id=info_.workflow_id, run_id=info_.run_id, workflow_type=info_.workflow_type)
    project_id = current_project_id.get()
    if not project_id and ctx.get("workflow_id"):
        project_id = project_id_from_workflow_id(str(ctx["workflow_id"]))
    if project_id:
        ctx["project_id"] = project_id
    return {k: v for k, v in ctx.items() if v is not None}


class ContextFilter(logging.Filter):
    """Puts project_id, workflow_id, run_id… (and the trace id) on the record as attributes."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in temporal_context(record).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        span = opentelemetry.trace.get_current_span().get_span_context()
        if span.is_valid and not hasattr(record, "trace_id"):
            record.trace_id = format(span.trace_id, "032x")
            record.span_id = format(span.span_id, "016x")
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.__dict__.items():
        if key in _STANDARD or key.startswith("_") or key in ("temporal_workflow", "temporal_activity"):
            continue
        if key in ("workflow_info", "activity_info", "temporal_log"):
            continue
        out[key] = value if isinstance(value, str | int | float | bool) or value is None else str(value)
    return out


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, context fields, exception."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redact = redactor or Redactor(())

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_fields(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        # Redact the whole line: `extra` values and anything a filter did not see.
        return self.redact(json.dumps(entry, default=str, ensure_ascii=False))


class KeyValueFormatter(logging.Formatter):
    """`ts level logger message key=value…` lines for people reading a terminal."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redact = redactor or Redactor(())

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        parts = [ts, record.levelname, record.name, record.getMessage()]
        for key, value in _fields(record).items():
            text = str(value)
            parts.append(f"{key}={json.dumps(text) if (' ' in text or not text) else text}")
        line = " ".join(parts)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        return self.redact(line)


class BoardroomHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `setup_logging` installs (so a second call replaces it instead of adding one)."""


def setup_logging(
    settings: Settings,
    *,
    level: int | str = logging.INFO,
    fmt: Literal["json", "text"] = "json",
    stream: IO[str] | None = None,
    extra_secrets: Iterable[str] = (),
) -> BoardroomHandler:
    """Route all logging through one redacting, context-adding handler on the root logger.

    Replaces handlers a previous `logging.basicConfig` or `setup_logging` installed. The SDK's
    workflow/activity loggers stop appending their info dict to messages: it is in the fields.
    """
    redactor = Redactor([*secret_values(settings), *extra_secrets])
    handler = BoardroomHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(redactor) if fmt == "json" else KeyValueFormatter(redactor))
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter(redactor))
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old, BoardroomHandler) or type(old) is logging.StreamHandler:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Workflow and activity lines are Boardroom's own story of a project: keep them even where
    # the SDK's internal loggers are turned down (the CLI sets `temporalio` to WARNING).
    for name in ("temporalio.workflow", "temporalio.activity"):
        logging.getLogger(name).setLevel(level)
    temporalio.workflow.logger.workflow_info_on_message = False
    temporalio.activity.logger.activity_info_on_message = False
    return handler


def remove_logging(handler: logging.Handler) -> None:
    """Undo `setup_logging` (tests)."""
    logging.getLogger().removeHandler(handler)
    temporalio.workflow.logger.workflow_info_on_message = True
    temporalio.activity.logger.activity_info_on_message = True
