"""Traces, metrics and the interceptors that feed them.

Tracing: `setup_tracing(settings)` installs an OpenTelemetry TracerProvider for the configured
exporter (none → nothing at all, zero cost; console; otlp). While one is installed, `connect()`
puts a TracingInterceptor on every client (workers built from a client inherit it) and
`instrument_app()` makes each API request a server span, so one trace runs from
`POST /projects` through StartWorkflow, RunWorkflow:project, StartChildWorkflow:… to
RunActivity:produce. Workflow spans carry the project id and phase; activity spans the task,
role, model, tokens and cost.

Metrics: Boardroom's own (gates, decision latency, QA, tokens and cost per model, business
events) are recorded by the `ObservabilityInterceptor`, which only looks at activity inputs and
outputs and client calls — workflows stay deterministic and nothing is counted twice on replay.
What activity attempts record goes to the worker's Temporal runtime meter (`WorkerMetrics`), so
the SDK's own Prometheus endpoint (`start_worker_metrics`) serves it beside the SDK's metrics:
one scrape target per worker, no re-serving. What client calls record (projects started,
business events) lives in prometheus_client's registry, served by the API at GET /metrics.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import opentelemetry.trace
import temporalio.activity
import temporalio.client
import temporalio.worker
import temporalio.workflow
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest
from temporalio.common import MetricMeter
from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from boardroom.settings import Settings
from domain.errors import ConfigError
from domain.records import DecisionRecord, GateRecord
from domain.work import ReviewInput, ReviewOutput, Usage
from workflows.ids import project_id_from_workflow_id

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
# Since the one-workflow shape every activity runs in the `project` workflow: its phase comes
# from what it does (an improvement task's calls belong to operations).
ACTIVITY_PHASE = {
    "interview_questions": "discovery",
    "related_documents": "discovery",
    "research": "discovery",
    "plan": "discovery",
    "assemble_team": "discovery",
    "produce": "execution",
    "review": "execution",
    "compliance_review": "launch",
    "create_stripe_offer": "launch",
    "finalize_site": "launch",
    "publish_github": "launch",
    "announce_slack": "launch",
    "validate_launch": "launch",
    "analyze_kpis": "operations",
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
    if ATTR_PHASE not in attrs and info.activity_type in ACTIVITY_PHASE:
        attrs[ATTR_PHASE] = ACTIVITY_PHASE[info.activity_type]
    task = getattr(arg, "task", None)
    if task is not None:
        if getattr(task, "id", None):
            attrs[ATTR_TASK] = task.id
            if attrs.get(ATTR_PHASE) == "execution" and _IMPROVEMENT_ID.match(task.id):
                attrs[ATTR_PHASE] = "operations"
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

# Recorded where the client call happens (the API, the CLI): prometheus_client's registry, served
# by the API's GET /metrics.
PROJECTS_STARTED = Counter("boardroom_projects_started", "Projects started through a Boardroom client")
BUSINESS_EVENTS = Counter("boardroom_business_events", "Business events sent to projects", ["source", "kind"])
BUSINESS_AMOUNT_USD = Counter(
    "boardroom_business_amount_usd", "Money in business events (payments, refunds)", ["source", "kind"]
)

# Recorded by activity attempts on a worker: the Temporal runtime's metric meter, so they are
# served by the SDK's own Prometheus endpoint beside its metrics (and carry its namespace,
# task_queue, activity_type and workflow_type labels). Histogram buckets per metric name:
WORKER_HISTOGRAM_BUCKETS: dict[str, list[float]] = {
    "boardroom_gate_decision_seconds": [float(b) for b in _LATENCY_BUCKETS],
    "boardroom_qa_score": [float(b) for b in range(1, 11)],
    "boardroom_qa_round": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0],
    "boardroom_llm_cost_usd": [0.0001, 0.001, 0.01, 0.1, 1.0, 10.0],
}


class WorkerMetrics:
    """Boardroom's worker-side instruments on a Temporal `MetricMeter` (a no-op meter when the
    worker's runtime exports no metrics)."""

    def __init__(self, meter: MetricMeter) -> None:
        self.gates_opened = meter.create_counter("boardroom_gates_opened_total", "Gates opened (decisions asked for)")
        self.gate_reminders = meter.create_counter(
            "boardroom_gate_reminders_total", "Reminders sent for gates still pending"
        )
        self.gates_decided = meter.create_counter("boardroom_gates_decided_total", "Gates decided")
        self.gate_decision_seconds = meter.create_histogram_float(
            "boardroom_gate_decision_seconds", "Time from a gate opening to its decision (workflow time)", "s"
        )
        self.qa_score = meter.create_histogram_float("boardroom_qa_score", "QA review scores (0-10)")
        self.qa_reviews = meter.create_counter("boardroom_qa_reviews_total", "QA reviews by outcome")
        self.qa_round = meter.create_histogram("boardroom_qa_round", "The Producer+QA round each review belongs to")
        self.agent_calls = meter.create_counter("boardroom_agent_calls_total", "Agent activity completions")
        self.llm_tokens = meter.create_counter("boardroom_llm_tokens_total", "LLM tokens by model")
        # The meter has no float counter: the cost of each call is a histogram, its _sum the cost.
        self.llm_cost_usd = meter.create_histogram_float("boardroom_llm_cost_usd", "LLM cost in USD per call", "USD")

    def record_usage(self, activity_type: str, usage: Usage) -> None:
        model = usage.model or "unknown"
        self.agent_calls.add(1, {"activity": activity_type, "provider": usage.provider, "model": model})
        for kind, value in (("input", usage.tokens_in), ("output", usage.tokens_out), ("cached", usage.cached_tokens)):
            if value:
                self.llm_tokens.add(value, {"provider": usage.provider, "model": model, "kind": kind})
        if usage.usd:
            self.llm_cost_usd.record(usage.usd, {"provider": usage.provider, "model": model})


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
        metrics = WorkerMetrics(temporalio.activity.metric_meter())
        usage = getattr(result, "usage", None)
        if isinstance(usage, Usage):
            set_span_attributes(**usage_attributes(usage))
            metrics.record_usage(info.activity_type, usage)
        if isinstance(arg, ReviewInput) and isinstance(result, ReviewOutput):
            role = arg.task.role
            set_span_attributes(**{ATTR_QA_SCORE: result.score})
            metrics.qa_score.record(result.score, {"role": role})
            metrics.qa_round.record(arg.round, {"role": role})
            metrics.qa_reviews.add(1, {"role": role, "result": "passed" if result.passed else "failed"})
        elif isinstance(arg, GateRecord):
            if arg.reminder:
                metrics.gate_reminders.add(1, {"kind": arg.gate.kind.value})
            else:
                metrics.gates_opened.add(1, {"kind": arg.gate.kind.value, "risk": arg.gate.risk.value})
        elif isinstance(arg, DecisionRecord):
            await self._root.record_decision(arg, metrics)


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

    async def record_decision(self, record: DecisionRecord, metrics: WorkerMetrics) -> None:
        # The decision record has no gate kind or open time: the read model has both.
        found = await asyncio.to_thread(_gate_row, self._database_url, record.gate_id)
        kind = found[0] if found else "unknown"
        channel = record.channel.value
        metrics.gates_decided.add(1, {"kind": kind, "decision": record.decision, "channel": channel})
        if found is not None:
            waited = (_aware(record.decided_at) - found[1]).total_seconds()
            metrics.gate_decision_seconds.record(max(0.0, waited), {"kind": kind, "channel": channel})


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


def metrics_bind(settings: Settings) -> tuple[str, int] | None:
    """Where a worker serves metrics (BOARDROOM_METRICS_HOST, BOARDROOM_METRICS_PORT); None when off."""
    port = settings.metrics_port
    if not port:
        return None
    return settings.metrics_host, int(port)


def metrics_payload() -> tuple[bytes, str]:
    """The Prometheus exposition of the API process's own metrics (client calls). Blocking."""
    return generate_latest(), CONTENT_TYPE_LATEST


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class WorkerTelemetry:
    """A worker's Temporal Runtime, whose Prometheus endpoint serves the SDK's metrics and
    Boardroom's worker metrics (`WorkerMetrics`, recorded on the runtime's meter)."""

    runtime: Runtime
    address: tuple[str, int]

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}/metrics"


_telemetry: dict[tuple[str, int], WorkerTelemetry] = {}


def start_worker_metrics(settings: Settings, *, bind: tuple[str, int] | None = None) -> WorkerTelemetry | None:
    """A Temporal Runtime with the SDK's Prometheus endpoint on the metrics port.

    `bind` defaults to `metrics_bind(settings)`; port 0 picks a free one. Core's own log lines
    are forwarded into Python logging so they get the same format and redaction. One per
    address per process; None when metrics are off. Connect the worker's client with
    `connect(settings, runtime=telemetry.runtime)`.
    """
    bind = bind or metrics_bind(settings)
    if bind is None:
        return None
    if bind in _telemetry:
        return _telemetry[bind]
    host, port = bind[0], int(bind[1]) or _free_port(bind[0])
    try:
        runtime = Runtime(
            telemetry=TelemetryConfig(
                metrics=PrometheusConfig(
                    bind_address=f"{host}:{port}",
                    durations_as_seconds=True,
                    histogram_bucket_overrides=WORKER_HISTOGRAM_BUCKETS,
                ),
                logging=LoggingConfig(
                    filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                    forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
                ),
            )
        )
    except ValueError as exc:  # the exporter could not bind
        raise ConfigError(f"cannot serve metrics on {host}:{port} ({exc})") from None
    telemetry = WorkerTelemetry(runtime, (host, port))
    _telemetry[bind] = telemetry
    log.info("metrics on %s", telemetry.url)
    return telemetry


def stop_metrics() -> None:
    """Forget the runtimes this process started (their exporters live as long as they do)."""
    _telemetry.clear()


def metric_value(name: str, labels: Mapping[str, str] | None = None) -> float:
    """The current value of one sample in the default registry (0 when absent) — for tests and
    the CLI."""
    from prometheus_client import REGISTRY

    value = REGISTRY.get_sample_value(name, dict(labels or {}))
    return float(value or 0.0)
