"""Traces, metrics and the interceptors that feed them.

Tracing: `setup_tracing(settings)` installs an OpenTelemetry TracerProvider for the configured
exporter (none → nothing at all, zero cost; console; otlp). While one is installed, `connect()`
puts a TracingInterceptor on every client (workers built from a client inherit it) and
`instrument_app()` makes each API request a server span, so one trace runs from
`POST /projects` through StartWorkflow, RunWorkflow:project, StartChildWorkflow:… to
RunActivity:produce. Workflow spans carry the project id and phase; activity spans the task,
role, model, tokens and cost.

Metrics: Boardroom's own (gates, decision latency, QA, tokens and cost per model, business
events) live in prometheus_client's default registry and are recorded by the
`ObservabilityInterceptor`, which only looks at activity inputs and outputs and client calls —
workflows stay deterministic and nothing is counted twice on replay. The API serves them at
GET /metrics; a worker with a metrics port serves them together with the Temporal SDK's own
metrics (`worker_runtime()`), so one scrape target per process shows both.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import re
import socket
import sys
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import opentelemetry.trace
import temporalio.activity
import temporalio.client
import temporalio.worker
import temporalio.workflow
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from boardroom.errors import ConfigError
from boardroom.settings import Settings
from workflows.ids import project_id_from_workflow_id
from workflows.models import DecisionRecord, GateRecord, ReviewInput, ReviewOutput, Usage

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

# The project id of the activity running in this context, for log lines (see boardroom.logs).
current_project_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("boardroom_project_id", default=None)

# --- span attributes --------------------------------------------------------------------------

ATTR_PROJECT = "boardroom.project_id"
ATTR_PHASE = "boardroom.phase"
ATTR_TASK = "boardroom.task_id"
ATTR_ROLE = "boardroom.role"
ATTR_ROUND = "boardroom.round"
ATTR_COST = "boardroom.cost_usd"
ATTR_QA_SCORE = "boardroom.qa_score"
# OpenTelemetry GenAI semantic conventions for the LLM side.
ATTR_SYSTEM = "gen_ai.system"
ATTR_MODEL = "gen_ai.request.model"
ATTR_TOKENS_IN = "gen_ai.usage.input_tokens"
ATTR_TOKENS_OUT = "gen_ai.usage.output_tokens"

# Which phase a workflow type's work belongs to; produce-review work is execution unless the task
# is an improvement from an operations review (ids r{n}-…).
WORKFLOW_PHASE = {
    "discovery": "discovery",
    "execution": "execution",
    "produce-review": "execution",
    "launch": "launch",
    "operations-review": "operations",
}
_IMPROVEMENT_ID = re.compile(r"^r\d+-")
_TASK_IN_WORKFLOW_ID = re.compile(r"/task-([^/]+)$")


def set_span_attributes(**attributes: str | int | float | bool | None) -> None:
    """Set attributes on the current span; None values are skipped. A no-op without tracing.

    Keys are used as given, with `_` → `.` under `boardroom.` when they have no dot, so
    `set_span_attributes(project_id="p-1", model="gpt-4o")` sets `boardroom.project_id`…
    """
    span = opentelemetry.trace.get_current_span()
    if not span.is_recording():
        return
    for key, value in attributes.items():
        if value is None:
            continue
        span.set_attribute(key if "." in key else f"boardroom.{key}", value)


def workflow_span_attributes(workflow_id: str, workflow_type: str) -> dict[str, str]:
    """Business attributes derivable from a workflow's id and type (pure: safe in workflows)."""
    attrs: dict[str, str] = {}
    project_id = project_id_from_workflow_id(workflow_id)
    if project_id:
        attrs[ATTR_PROJECT] = project_id
    task = _TASK_IN_WORKFLOW_ID.search(workflow_id)
    if task:
        attrs[ATTR_TASK] = task.group(1)
    phase = WORKFLOW_PHASE.get(workflow_type)
    if phase == "execution" and task and _IMPROVEMENT_ID.match(task.group(1)):
        phase = "operations"
    if phase:
        attrs[ATTR_PHASE] = phase
    return attrs


def activity_attributes(info: temporalio.activity.Info, arg: Any) -> dict[str, str | int]:
    """Attributes of one activity attempt: from its workflow and its typed input."""
    attrs: dict[str, str | int] = dict(workflow_span_attributes(info.workflow_id or "", info.workflow_type or ""))
    project_id = getattr(arg, "project_id", None)
    if isinstance(project_id, str) and project_id:
        attrs[ATTR_PROJECT] = project_id
    phase = getattr(arg, "phase", None)  # the read-model sync knows the project's phase
    if phase is not None:
        attrs[ATTR_PHASE] = str(getattr(phase, "value", phase))
    task = getattr(arg, "task", None)
    if task is not None:
        if getattr(task, "id", None):
            attrs[ATTR_TASK] = task.id
        if getattr(task, "role", None):
            attrs[ATTR_ROLE] = task.role
    round_ = getattr(arg, "round", None)
    if isinstance(round_, int):
        attrs[ATTR_ROUND] = round_
    return attrs


def usage_attributes(usage: Usage) -> dict[str, str | int | float]:
    attrs: dict[str, str | int | float] = {
        ATTR_SYSTEM: usage.provider,
        ATTR_TOKENS_IN: usage.tokens_in,
        ATTR_TOKENS_OUT: usage.tokens_out,
        ATTR_COST: usage.usd,
    }
    if usage.model:
        attrs[ATTR_MODEL] = usage.model
    return attrs


# --- tracing ----------------------------------------------------------------------------------

_provider: TracerProvider | None = None


def setup_tracing(
    settings: Settings,
    *,
    exporter: SpanExporter | None = None,
    service_name: str = "boardroom",
    set_global: bool = True,
) -> TracerProvider | None:
    """Install the tracer provider for `settings.otel_exporter`; None (and nothing installed) for `none`.

    `exporter` overrides the setting (tests pass an InMemorySpanExporter). `set_global=False`
    keeps the provider private to Boardroom (tests: OpenTelemetry allows one global per process).
    Call `shutdown_tracing()` to flush and uninstall.
    """
    global _provider
    label = settings.otel_exporter if exporter is None else type(exporter).__name__
    if exporter is None:
        if settings.otel_exporter == "none":
            return None
        if settings.otel_exporter == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            # sys.stdout as it is now (the exporter's default was bound when it was imported).
            exporter = ConsoleSpanExporter(service_name=service_name, out=sys.stdout)
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            endpoint = settings.otel_endpoint
            if endpoint and not endpoint.rstrip("/").endswith("/v1/traces"):
                endpoint = endpoint.rstrip("/") + "/v1/traces"
            exporter = OTLPSpanExporter(endpoint=endpoint) if endpoint else OTLPSpanExporter()
        # Console output should show up as it happens; a collector prefers batches.
        processor: Any = (
            SimpleSpanProcessor(exporter) if settings.otel_exporter == "console" else BatchSpanProcessor(exporter)
        )
    else:
        processor = SimpleSpanProcessor(exporter)
    if _provider is not None:
        shutdown_tracing()
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(processor)
    if set_global:
        opentelemetry.trace.set_tracer_provider(provider)
    _provider = provider
    log.info("tracing on: %s exporter", label)
    return provider


def tracer_provider() -> TracerProvider | None:
    """The provider `setup_tracing` installed, if any."""
    return _provider


def shutdown_tracing() -> None:
    """Flush pending spans and uninstall the provider (later clients get no tracing interceptor)."""
    global _provider
    provider, _provider = _provider, None
    if provider is not None:
        provider.force_flush()
        provider.shutdown()


class _WorkflowSpans(TracingWorkflowInboundInterceptor):
    """Workflow-side spans (RunWorkflow, StartActivity, StartChildWorkflow…) with business attributes.

    The SDK invites subclassing for customisation; `_completed_span` is the one place every
    workflow-side span is made, so the attributes are added there.
    """

    def _completed_span(self, span_name: str, **kwargs: Any) -> None:
        info = temporalio.workflow.info()
        given = kwargs.pop("additional_attributes", None) or {}
        attrs = {**workflow_span_attributes(info.workflow_id, info.workflow_type), **given}
        super()._completed_span(span_name, additional_attributes=attrs, **kwargs)


class BoardroomTracingInterceptor(TracingInterceptor):
    """Temporal's TracingInterceptor with Boardroom's attributes on workflow-side spans."""

    def workflow_interceptor_class(
        self, input: temporalio.worker.WorkflowInterceptorClassInput
    ) -> type[TracingWorkflowInboundInterceptor]:
        super().workflow_interceptor_class(input)
        return _WorkflowSpans


def instrument_app(app: FastAPI) -> None:
    """Make each API request a server span (the parent of the Temporal client spans it causes)."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, tracer_provider=_provider, excluded_urls="healthz,readyz,metrics,static")


# --- Boardroom metrics ------------------------------------------------------------------------

_LATENCY_BUCKETS = (1, 10, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600)

PROJECTS_STARTED = Counter("boardroom_projects_started", "Projects started through a Boardroom client")
GATES_OPENED = Counter("boardroom_gates_opened", "Gates opened (CEO decisions asked for)", ["kind", "risk"])
GATE_REMINDERS = Counter("boardroom_gate_reminders", "Reminders sent for gates still pending", ["kind"])
GATES_DECIDED = Counter("boardroom_gates_decided", "Gates decided", ["kind", "decision", "channel"])
GATE_DECISION_SECONDS = Histogram(
    "boardroom_gate_decision_seconds",
    "Time from a gate opening to its decision (workflow time)",
    ["kind", "channel"],
    buckets=_LATENCY_BUCKETS,
)
QA_SCORE = Histogram("boardroom_qa_score", "QA review scores (0-10)", ["role"], buckets=(1, 2, 3, 4, 5, 6, 7, 8, 9, 10))
QA_REVIEWS = Counter("boardroom_qa_reviews", "QA reviews by outcome", ["role", "result"])
QA_ROUND = Histogram(
    "boardroom_qa_round", "The Producer+QA round each review belongs to", ["role"], buckets=(1, 2, 3, 4, 5, 6, 8, 10)
)
AGENT_CALLS = Counter("boardroom_agent_calls", "Agent activity completions", ["activity", "provider", "model"])
LLM_TOKENS = Counter("boardroom_llm_tokens", "LLM tokens by model", ["provider", "model", "kind"])
LLM_COST_USD = Counter("boardroom_llm_cost_usd", "LLM cost in USD by model", ["provider", "model"])
BUSINESS_EVENTS = Counter("boardroom_business_events", "Business events sent to projects", ["source", "kind"])
BUSINESS_AMOUNT_USD = Counter(
    "boardroom_business_amount_usd", "Money in business events (payments, refunds)", ["source", "kind"]
)


def record_usage(activity_type: str, usage: Usage) -> None:
    model = usage.model or "unknown"
    AGENT_CALLS.labels(activity_type, usage.provider, model).inc()
    for kind, value in (("input", usage.tokens_in), ("output", usage.tokens_out), ("cached", usage.cached_tokens)):
        if value:
            LLM_TOKENS.labels(usage.provider, model, kind).inc(value)
    if usage.usd:
        LLM_COST_USD.labels(usage.provider, model).inc(usage.usd)


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def _gate_row(database_url: str, gate_id: str) -> tuple[str, datetime] | None:
    """(kind, created_at) of a gate from the read model (blocking)."""
    from store.db import session_scope
    from store.tables import Gate

    with session_scope(database_url) as session:
        row = session.get(Gate, gate_id)
        return (row.kind, _aware(row.created_at)) if row is not None else None


class _ActivityObserver(temporalio.worker.ActivityInboundInterceptor):
    def __init__(self, next: temporalio.worker.ActivityInboundInterceptor, root: ObservabilityInterceptor) -> None:
        super().__init__(next)
        self._root = root

    async def execute_activity(self, input: temporalio.worker.ExecuteActivityInput) -> Any:
        info = temporalio.activity.info()
        arg = input.args[0] if input.args else None
        attrs = activity_attributes(info, arg)
        token = current_project_id.set(str(attrs[ATTR_PROJECT]) if ATTR_PROJECT in attrs else None)
        try:
            set_span_attributes(**attrs)
            result = await self.next.execute_activity(input)
        finally:
            current_project_id.reset(token)
        try:
            await self._observe(info, arg, result)
        except Exception:  # observation must never fail the activity it watches
            log.warning("metrics for activity %s not recorded", info.activity_type, exc_info=True)
        return result

    async def _observe(self, info: temporalio.activity.Info, arg: Any, result: Any) -> None:
        usage = getattr(result, "usage", None)
        if isinstance(usage, Usage):
            set_span_attributes(**usage_attributes(usage))
            record_usage(info.activity_type, usage)
        if isinstance(arg, ReviewInput) and isinstance(result, ReviewOutput):
            role = arg.task.role
            set_span_attributes(**{ATTR_QA_SCORE: result.score})
            QA_SCORE.labels(role).observe(result.score)
            QA_ROUND.labels(role).observe(arg.round)
            QA_REVIEWS.labels(role, "passed" if result.passed else "failed").inc()
        elif isinstance(arg, GateRecord):
            if arg.reminder:
                GATE_REMINDERS.labels(arg.gate.kind.value).inc()
            else:
                GATES_OPENED.labels(arg.gate.kind.value, arg.gate.risk.value).inc()
        elif isinstance(arg, DecisionRecord):
            await self._root.record_decision(arg)


class _ClientObserver(temporalio.client.OutboundInterceptor):
    async def start_workflow(self, input: temporalio.client.StartWorkflowInput) -> Any:
        project_id = project_id_from_workflow_id(input.id)
        set_span_attributes(project_id=project_id)
        handle = await self.next.start_workflow(input)
        if input.workflow == "project" and input.start_signal is None:
            PROJECTS_STARTED.inc()
        return handle

    async def signal_workflow(self, input: temporalio.client.SignalWorkflowInput) -> None:
        set_span_attributes(project_id=project_id_from_workflow_id(input.id))
        await self.next.signal_workflow(input)
        if input.signal == "business_event":
            for event in input.args:
                source, kind = str(getattr(event, "source", "unknown")), str(getattr(event, "kind", "unknown"))
                BUSINESS_EVENTS.labels(source, kind).inc()
                amount = getattr(event, "amount_usd", 0.0)
                if isinstance(amount, int | float) and amount > 0:
                    BUSINESS_AMOUNT_USD.labels(source, kind).inc(amount)


class ObservabilityInterceptor(temporalio.client.Interceptor, temporalio.worker.Interceptor):
    """Records Boardroom's metrics and span attributes from client calls and activity attempts.

    On a client it also applies to every worker built from that client. It never touches
    workflow code, so replays cannot double-count.
    """

    def __init__(self, settings: Settings) -> None:
        self._database_url = settings.database_url

    def intercept_client(self, next: temporalio.client.OutboundInterceptor) -> temporalio.client.OutboundInterceptor:
        return _ClientObserver(next)

    def intercept_activity(
        self, next: temporalio.worker.ActivityInboundInterceptor
    ) -> temporalio.worker.ActivityInboundInterceptor:
        return _ActivityObserver(next, self)

    async def record_decision(self, record: DecisionRecord) -> None:
        # The decision record has no gate kind or open time: the read model has both.
        found = await asyncio.to_thread(_gate_row, self._database_url, record.gate_id)
        kind = found[0] if found else "unknown"
        GATES_DECIDED.labels(kind, record.decision, record.channel.value).inc()
        if found is not None:
            waited = (_aware(record.decided_at) - found[1]).total_seconds()
            GATE_DECISION_SECONDS.labels(kind, record.channel.value).observe(max(0.0, waited))


def client_interceptors(settings: Settings) -> list[temporalio.client.Interceptor]:
    """What `connect()` puts on every client: tracing (when installed) first, then metrics."""
    out: list[temporalio.client.Interceptor] = []
    if _provider is not None:
        out.append(BoardroomTracingInterceptor(_provider.get_tracer("boardroom")))
    out.append(ObservabilityInterceptor(settings))
    return out


def worker_interceptors(client: temporalio.client.Client, settings: Settings) -> list[temporalio.worker.Interceptor]:
    """The interceptors a worker needs that its client does not already carry (clients built
    without `connect()`, e.g. a test environment's)."""
    have = client.config()["interceptors"]
    out: list[temporalio.worker.Interceptor] = []
    if _provider is not None and not any(isinstance(i, TracingInterceptor) for i in have):
        out.append(BoardroomTracingInterceptor(_provider.get_tracer("boardroom")))
    if not any(isinstance(i, ObservabilityInterceptor) for i in have):
        out.append(ObservabilityInterceptor(settings))
    return out


# --- metrics endpoints ------------------------------------------------------------------------

_sdk_metrics_url: str | None = None


def metrics_bind(settings: Settings) -> tuple[str, int] | None:
    """Where a worker serves metrics; None when off.

    Reads `metrics_port` / `metrics_host` from Settings when they exist (BOARDROOM_METRICS_PORT,
    BOARDROOM_METRICS_HOST); until then metrics ports are off unless passed explicitly.
    """
    port = settings.metrics_port
    if not port:
        return None
    return settings.metrics_host, int(port)


def metrics_payload() -> tuple[bytes, str]:
    """The Prometheus exposition of this process: Boardroom's metrics, then the Temporal SDK's
    when this process runs a worker runtime with metrics. Blocking (call it in a thread)."""
    body = generate_latest()
    if _sdk_metrics_url:
        try:
            with urllib.request.urlopen(_sdk_metrics_url, timeout=2) as resp:  # loopback, our own exporter
                body += resp.read()
        except OSError as exc:
            body += f"# Temporal SDK metrics unavailable: {type(exc).__name__}\n".encode()
    return body, CONTENT_TYPE_LATEST


class _MetricsHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] not in ("/", "/metrics"):
            self.send_error(404)
            return
        body, content_type = metrics_payload()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # scrapes every few seconds would drown the log


class MetricsServer:
    """GET /metrics on (host, port) in a daemon thread; `stop()` closes it."""

    def __init__(self, host: str, port: int) -> None:
        try:
            self._server = ThreadingHTTPServer((host, port), _MetricsHandler)
        except OSError as exc:
            raise ConfigError(f"cannot serve metrics on {host}:{port} ({exc.strerror})") from None
        self._server.daemon_threads = True
        self.address: tuple[str, int] = (host, int(self._server.server_address[1]))
        self._thread = threading.Thread(target=self._server.serve_forever, name="boardroom-metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class WorkerTelemetry:
    """A worker's Temporal Runtime and the endpoint serving its metrics."""

    runtime: Runtime
    server: MetricsServer

    @property
    def url(self) -> str:
        host, port = self.server.address
        return f"http://{host}:{port}/metrics"


_telemetry: dict[tuple[str, int], WorkerTelemetry] = {}


def start_worker_metrics(settings: Settings, *, bind: tuple[str, int] | None = None) -> WorkerTelemetry | None:
    """A Temporal Runtime whose SDK metrics are served, with Boardroom's, on the metrics port.

    The SDK's Prometheus exporter listens on a private loopback port; the public endpoint
    (`bind`, default `metrics_bind(settings)`; port 0 picks a free one) serves both expositions.
    Core's own log lines are forwarded into Python logging so they get the same format and
    redaction. One per address per process; None when metrics are off. Connect the worker's
    client with `connect(settings, runtime=telemetry.runtime)`.
    """
    global _sdk_metrics_url
    bind = bind or metrics_bind(settings)
    if bind is None:
        return None
    if bind in _telemetry:
        return _telemetry[bind]
    server = MetricsServer(*bind)
    sdk_port = _free_loopback_port()
    runtime = Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(bind_address=f"127.0.0.1:{sdk_port}", durations_as_seconds=True),
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
            ),
        )
    )
    _sdk_metrics_url = f"http://127.0.0.1:{sdk_port}/metrics"
    telemetry = WorkerTelemetry(runtime, server)
    _telemetry[bind] = telemetry
    log.info("metrics on %s", telemetry.url)
    return telemetry


def stop_metrics() -> None:
    """Stop the metrics endpoints this process started (the SDK exporter lives with its Runtime)."""
    global _sdk_metrics_url
    for telemetry in _telemetry.values():
        with contextlib.suppress(Exception):
            telemetry.server.stop()
    _telemetry.clear()
    _sdk_metrics_url = None


def metric_value(name: str, labels: Mapping[str, str] | None = None) -> float:
    """The current value of one sample in the default registry (0 when absent) — for tests and
    the CLI."""
    from prometheus_client import REGISTRY

    value = REGISTRY.get_sample_value(name, dict(labels or {}))
    return float(value or 0.0)
