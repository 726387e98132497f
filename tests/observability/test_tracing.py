"""One trace from the API request to the activities: `POST /projects` through the real app, a
worker built from a traced client, spans captured by an InMemorySpanExporter."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from boardroom.client import connect
from boardroom.observability import setup_tracing
from boardroom.settings import Settings
from tests.api.conftest import running_app
from tests.workflows.helpers import cancel_and_wait
from workers.worker import create_worker
from workflows.project import ProjectWorkflow

pytestmark = pytest.mark.timeout(180)


def named(spans: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


async def spans_until(exporter: InMemorySpanExporter, names: set[str], timeout: float = 120) -> list[ReadableSpan]:
    deadline = time.monotonic() + timeout
    while True:
        spans = list(exporter.get_finished_spans())
        missing = names - {s.name for s in spans}
        if not missing:
            return spans
        if time.monotonic() > deadline:
            raise AssertionError(f"spans never finished: {sorted(missing)}")
        await asyncio.sleep(0.2)


async def test_api_request_is_the_root_of_workflow_and_activity_spans(live: Settings) -> None:
    exporter = InMemorySpanExporter()
    assert setup_tracing(live, exporter=exporter, set_global=False) is not None
    client = await connect(live)
    async with create_worker(client, live), running_app(live) as (_app, http):
        created = await http.post(
            "/projects", json={"goal": "Sell hand-thrown tea bowls online", "auto_approve": "all", "budget_usd": 20}
        )
        assert created.status_code == 201, created.text
        pid, wid = created.json()["id"], created.json()["workflow_id"]
        spans = await spans_until(
            exporter,
            {
                "POST /projects",
                "StartWorkflow:project",
                "RunWorkflow:project",
                "RunActivity:interview_questions",
                "RunActivity:plan",
                "RunActivity:produce",
                "RunActivity:review",
            },
        )
        await cancel_and_wait(client.get_workflow_handle_for(ProjectWorkflow.run, wid))

    # The API's server span is the root; StartWorkflow is its child; everything shares its trace.
    (api_span,) = [s for s in named(spans, "POST /projects") if s.kind == SpanKind.SERVER]
    assert api_span.parent is None
    trace_id = api_span.context.trace_id
    (start,) = named(spans, "StartWorkflow:project")
    assert start.parent is not None and start.parent.span_id == api_span.context.span_id
    assert start.context.trace_id == trace_id
    assert attrs(start)["boardroom.project_id"] == pid
    for name in ("RunWorkflow:project", "RunActivity:interview_questions"):
        assert all(s.context.trace_id == trace_id for s in named(spans, name)), name
    in_trace = [s for s in spans if s.context.trace_id == trace_id]
    assert {s.name for s in in_trace} >= {"RunActivity:produce", "RunActivity:review"}
    # One workflow per project: no child workflow span.
    assert not [s.name for s in in_trace if s.name.startswith("StartChildWorkflow:")]

    # Workflow spans carry the project and the phase.
    (run_project,) = named(in_trace, "RunWorkflow:project")
    assert attrs(run_project)["boardroom.project_id"] == pid

    # Activity spans: project, phase, task, role, model, tokens and cost.
    interview = attrs(named(in_trace, "RunActivity:interview_questions")[0])
    assert interview["boardroom.project_id"] == pid and interview["boardroom.phase"] == "discovery"
    assert interview["gen_ai.system"] == "offline" and interview["gen_ai.usage.input_tokens"] > 0
    produce = attrs(named(in_trace, "RunActivity:produce")[0])
    assert produce["boardroom.project_id"] == pid and produce["boardroom.phase"] == "execution"
    assert produce["boardroom.task_id"] and produce["boardroom.role"]
    assert produce["boardroom.round"] >= 1
    assert produce["gen_ai.request.model"]
    assert produce["gen_ai.usage.input_tokens"] > 0 and produce["gen_ai.usage.output_tokens"] > 0
    assert "boardroom.cost_usd" in produce
    review = attrs(named(in_trace, "RunActivity:review")[0])
    assert 0 <= review["boardroom.qa_score"] <= 10


async def test_none_exporter_installs_nothing(live: Settings) -> None:
    assert live.otel_exporter == "none"
    assert setup_tracing(live) is None
    client = await connect(live)
    from temporalio.contrib.opentelemetry import TracingInterceptor

    assert not any(isinstance(i, TracingInterceptor) for i in client.config()["interceptors"])


def test_console_exporter_prints_spans(live: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    provider = setup_tracing(live.model_copy(update={"otel_exporter": "console"}), set_global=False)
    assert provider is not None
    with provider.get_tracer("test").start_as_current_span("hello-console"):
        pass
    provider.force_flush()
    assert '"name": "hello-console"' in capsys.readouterr().out
