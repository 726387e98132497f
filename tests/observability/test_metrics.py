"""Boardroom's metrics move with a real lifecycle: the worker's metrics port is the Temporal SDK
runtime's own Prometheus endpoint, serving the SDK's metrics and what activities recorded on the
runtime's meter; the API's GET /metrics serves what client calls recorded."""

from __future__ import annotations

import socket

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from boardroom.client import connect
from boardroom.observability import metric_value, start_worker_metrics
from boardroom.settings import Settings
from domain.enums import Phase
from domain.errors import ConfigError
from domain.project import BusinessEvent
from tests.api.conftest import running_app
from tests.workflows.helpers import approve_until, cancel_and_wait, start_project
from workers.worker import create_worker
from workflows.project import ProjectWorkflow

pytestmark = pytest.mark.timeout(180)

# Recorded by client calls (prometheus_client's registry, the API's /metrics).
WATCHED = {
    "payments": ("boardroom_business_events_total", {"source": "stripe", "kind": "payment"}),
    "paid_usd": ("boardroom_business_amount_usd_total", {"source": "stripe", "kind": "payment"}),
    "started": ("boardroom_projects_started_total", {}),
}


def snapshot() -> dict[str, float]:
    return {key: metric_value(name, labels) for key, (name, labels) in WATCHED.items()}


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(text: str, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, lab), v in samples(text).items() if n == name and want <= lab)


async def test_counters_move_and_both_endpoints_serve_them(live: Settings) -> None:
    telemetry = start_worker_metrics(live, bind=("127.0.0.1", 0))
    assert telemetry is not None
    before = snapshot()
    client = await connect(live, runtime=telemetry.runtime)
    async with create_worker(client, live):
        handle = await start_project(client, live.task_queue, goal="Sell hand-bound notebooks online")
        state = await approve_until(handle, Phase.operations)
        await handle.signal(
            ProjectWorkflow.business_event, BusinessEvent(id="evt_m1", source="stripe", kind="payment", amount_usd=19.5)
        )
        await cancel_and_wait(handle)
    after = snapshot()

    decided = [g for g in state.gates if g.decided_by]
    assert after["started"] == before["started"] + 1
    assert after["payments"] == before["payments"] + 1
    assert after["paid_usd"] == pytest.approx(before["paid_usd"] + 19.5)
    assert len(decided) >= 3

    # The worker's metrics port is the SDK's endpoint: its metrics and Boardroom's worker metrics.
    async with httpx.AsyncClient(timeout=10) as http:
        scraped = await http.get(telemetry.url)
    assert scraped.status_code == 200
    text = scraped.text
    assert total(text, "boardroom_gates_opened_total", kind="plan", risk="high") >= 1
    plan_approved = total(text, "boardroom_gates_decided_total", kind="plan", decision="approve", channel="temporal_ui")
    assert plan_approved >= 1
    assert total(text, "boardroom_gate_decision_seconds_count", kind="plan", channel="temporal_ui") >= 1
    assert total(text, "boardroom_gates_decided_total") >= len(decided)
    assert total(text, "boardroom_llm_tokens_total", provider="offline", kind="input") > 0
    assert total(text, "boardroom_qa_score_count") > 0 and total(text, "boardroom_qa_round_count") > 0
    assert total(text, "boardroom_qa_reviews_total", result="passed") > 0
    produced = total(text, "boardroom_agent_calls_total", activity="produce", activity_type="produce")
    assert produced > 0  # the SDK's meter adds its own labels (activity_type, task_queue, ...)
    assert total(text, "boardroom_qa_reviews_total", task_queue=live.task_queue) > 0
    sdk = {n for (n, _lab) in samples(text) if n.startswith("temporal_")}
    assert any(n.startswith("temporal_activity_execution") for n in sdk), sorted(sdk)[:20]
    assert any(n.startswith("temporal_workflow_task") for n in sdk), sorted(sdk)[:20]
    assert "temporal_worker_start" in sdk or any(n.startswith("temporal_num_pollers") for n in sdk), sorted(sdk)

    # The API's /metrics serves the same registry (guarded like the JSON API).
    async with running_app(live) as (_app, api):
        served = await api.get("/metrics")
    assert served.status_code == 200 and served.headers["content-type"].startswith("text/plain")
    assert total(served.text, "boardroom_business_events_total", source="stripe", kind="payment") >= 1
    async with running_app(live.model_copy(update={"api_keys": "metrics-reader-key"})) as (_app, api):
        assert (await api.get("/metrics")).status_code == 401
        ok = await api.get("/metrics", headers={"Authorization": "Bearer metrics-reader-key"})
        assert ok.status_code == 200 and "boardroom_projects_started_total" in ok.text


def test_a_metrics_port_in_use_is_one_clear_error(settings: Settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot serve metrics on 127.0.0.1:{port}"):
            start_worker_metrics(settings, bind=("127.0.0.1", port))
