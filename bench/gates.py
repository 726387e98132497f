"""Sections 3 and 4: 1,000 projects open at their interview gate (worker memory), then approval
round trips and project reads through the real API over HTTP."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType as E
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle

from bench.common import percentile, rnd, start_projects, wait_count
from bench.stack import Proc
from domain.enums import AutoApprove, GateStatus
from domain.project import Policy, ProjectState
from workflows.ids import project_id_from_gate_id, project_workflow_id
from workflows.project import ProjectWorkflow

PREFIX = "bench-gate"
# Per request: a bound that only guards against hangs.
HTTP_TIMEOUT_S = 30.0


async def open_projects(client: Client, task_queue: str, count: int, worker: Proc, timeout: float) -> dict[str, Any]:
    """`count` projects waiting at their interview gate; the worker's RSS before and after."""
    idle_mib = worker.rss_mib()
    started = time.monotonic()
    await start_projects(client, task_queue, PREFIX, count, Policy(auto_approve=AutoApprove.none))
    await wait_count(
        client,
        f"TaskQueue='{task_queue}' AND WorkflowType='project' AND PendingGates=1",
        count,
        timeout,
        f"{count} projects waiting at their interview gate",
    )
    open_s = time.monotonic() - started
    open_runs = (await client.count_workflows(f"TaskQueue='{task_queue}' AND ExecutionStatus='Running'")).count
    # Let the last activations and the activity threads settle, then sample.
    samples = []
    for _ in range(6):
        await asyncio.sleep(0.5)
        samples.append(worker.rss_mib())
    return {
        "open_projects": count,
        "open_workflow_runs": open_runs,
        "seconds_to_open": rnd(open_s, 1),
        "worker_rss_idle_mib": rnd(idle_mib),
        "worker_rss_mib": rnd(max(samples)),
        "worker_rss_delta_mib": rnd(max(samples) - idle_mib),
        "worker_peak_rss_mib": rnd(worker.peak_rss_mib()),
    }


async def _decided(handle: WorkflowHandle[ProjectWorkflow, ProjectState], gate_id: str, timeout: float) -> int:
    """Query `state` until the gate shows decided; how many queries it took."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    queries = 0
    while True:
        state = await handle.query(ProjectWorkflow.get_state)
        queries += 1
        gate = next((g for g in state.gates if g.id == gate_id), None)
        if gate is not None and gate.status != GateStatus.pending:
            return queries
        if loop.time() > deadline:
            raise TimeoutError(f"gate {gate_id} not decided in the state after {timeout:.0f}s")
        await asyncio.sleep(0.005)


async def _settled(client: Client, task_queue: str, last: str | None, timeout: float) -> None:
    """Until no project is between gates: the one decided `last` waits at its next gate (asked
    by query: visibility may lag a moment behind), and visibility shows no other one working."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    if last is not None:
        handle = client.get_workflow_handle_for(ProjectWorkflow.run, project_workflow_id(last))  # type: ignore[arg-type,var-annotated]
        while not (await handle.query(ProjectWorkflow.get_state)).pending_gates:
            if loop.time() > deadline:
                raise TimeoutError(f"project {last} did not reach its next gate in {timeout:.0f}s")
            await asyncio.sleep(0.02)
    query = f"TaskQueue='{task_queue}' AND WorkflowType='project' AND ExecutionStatus='Running' AND PendingGates=0"
    while (await client.count_workflows(query)).count:
        if loop.time() > deadline:
            raise TimeoutError(f"projects still working between gates after {timeout:.0f}s")
        await asyncio.sleep(0.05)


async def _approve(http: httpx.AsyncClient, gate_id: str) -> float:
    """POST an approval; milliseconds until its answer shows the gate approved."""
    t0 = time.perf_counter()
    resp = await http.post(
        f"/approvals/{gate_id}/decision", json={"decision": "approve", "comment": "approved by the bench"}
    )
    elapsed = (time.perf_counter() - t0) * 1000
    if resp.status_code != 200 or resp.json().get("status") != "approved":
        raise RuntimeError(f"POST decision {gate_id}: {resp.status_code} {resp.text[:200]}")
    return elapsed


async def approval_round_trips(
    client: Client, base_url: str, count: int, paced: int = 0, task_queue: str | None = None
) -> dict[str, Any]:
    """`count` decisions, one after the other: POST /approvals/{id}/decision, whose answer is the
    gate as decided (`decide` answers once the decision has taken effect: the API needs no
    follow-up query); then, for the record, a `state` query confirming it.

    Back to back, each decision shares the 2 cores with the work the ones before it set going
    (each project goes on to research and plan at once). `paced` more decisions, each only once
    that work is done (every project of `task_queue` waits at a gate again), show the same path
    without it."""
    total = count + paced
    async with httpx.AsyncClient(base_url=base_url, timeout=HTTP_TIMEOUT_S) as http:
        listed = await http.get("/approvals", params={"status": "pending", "limit": min(total, 500)})
        listed.raise_for_status()
        gate_ids = [g["id"] for g in listed.json()["items"] if g["kind"] == "interview"]
        offset = len(listed.json()["items"])
        while len(gate_ids) < total:
            more = await http.get("/approvals", params={"status": "pending", "limit": 500, "offset": offset})
            more.raise_for_status()
            items = more.json()["items"]
            if not items:
                break
            offset += len(items)
            gate_ids += [g["id"] for g in items if g["kind"] == "interview"]
        gate_ids, paced_ids = gate_ids[:count], gate_ids[count:total]
        if len(gate_ids) + len(paced_ids) < total:
            raise RuntimeError(
                f"only {len(gate_ids) + len(paced_ids)} pending interview gates to decide, wanted {total}"
            )
        latencies: list[float] = []
        post_only: list[float] = []
        decided: list[str] = []
        queries = 0
        for gate_id in gate_ids:
            project_id = project_id_from_gate_id(gate_id)
            assert project_id is not None
            handle = client.get_workflow_handle_for(ProjectWorkflow.run, project_workflow_id(project_id))  # type: ignore[arg-type,var-annotated]
            t0 = time.perf_counter()
            post_only.append(await _approve(http, gate_id))
            queries += await _decided(handle, gate_id, HTTP_TIMEOUT_S)
            latencies.append((time.perf_counter() - t0) * 1000)
            decided.append(project_id)
        paced_ms: list[float] = []
        last = decided[-1] if decided else None
        for gate_id in paced_ids:
            assert task_queue is not None, "paced decisions wait for the projects of a task queue"
            await _settled(client, task_queue, last, HTTP_TIMEOUT_S * 4)
            last = project_id_from_gate_id(gate_id)
            paced_ms.append(await _approve(http, gate_id))
    paced_out = (
        {
            "paced": {
                "decisions": len(paced_ms),
                "round_trip_p50_ms": rnd(percentile(paced_ms, 50)),
                "round_trip_p99_ms": rnd(percentile(paced_ms, 99)),
            }
        }
        if paced_ms
        else {}
    )
    return {
        "decisions": len(latencies),
        "concurrency": 1,
        # POST → its answer shows the gate decided (the round trip).
        "round_trip_p50_ms": rnd(percentile(post_only, 50)),
        "round_trip_p99_ms": rnd(percentile(post_only, 99)),
        "round_trip_max_ms": rnd(max(post_only)),
        # The same, followed by a `state` query that confirms it (the measure before).
        "confirmed_p50_ms": rnd(percentile(latencies, 50)),
        "confirmed_p99_ms": rnd(percentile(latencies, 99)),
        "state_queries": queries,
        # Where the time goes: the update's path inside the workflow, from its history.
        "update_path_p50": await update_paths(client, decided),
        **paced_out,
    }


async def project_reads(base_url: str, project_ids: list[str], count: int) -> dict[str, Any]:
    """`count` GET /projects/{id}, one after the other, over the open projects."""
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=HTTP_TIMEOUT_S) as http:
        for i in range(count):
            project_id = project_ids[i % len(project_ids)]
            t0 = time.perf_counter()
            resp = await http.get(f"/projects/{project_id}")
            latencies.append((time.perf_counter() - t0) * 1000)
            if resp.status_code != 200:
                raise RuntimeError(f"GET /projects/{project_id}: {resp.status_code} {resp.text[:200]}")
            if resp.json().get("source") != "live":
                raise RuntimeError(f"GET /projects/{project_id} answered from {resp.json().get('source')}, not live")
    return {
        "requests": len(latencies),
        "concurrency": 1,
        "p50_ms": rnd(percentile(latencies, 50)),
        "p99_ms": rnd(percentile(latencies, 99)),
        "max_ms": rnd(max(latencies)),
    }


def _update_window(events: list[HistoryEvent]) -> dict[str, float] | None:
    """The first update's path inside the workflow: from the workflow task that accepted it to
    UPDATE_COMPLETED, split into the kinds of server round trips it waited on."""
    accepted = next(
        (i for i, e in enumerate(events) if e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED), None
    )
    if accepted is None:
        return None
    start = next(i for i in range(accepted, -1, -1) if events[i].event_type == E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
    end = next(
        (
            i
            for i in range(accepted, len(events))
            if events[i].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED
        ),
        None,
    )
    if end is None:
        return None

    def at(i: int) -> float:
        return events[i].event_time.ToMicroseconds() / 1000

    out = {"in_workflow_ms": at(end) - at(start), "workflow_tasks": 0.0, "activities": 0.0, "signals": 0.0}
    out |= {"wft_queue_ms": 0.0, "wft_run_ms": 0.0, "activity_ms": 0.0, "signal_ms": 0.0}
    pending: dict[str, float] = {}
    for i in range(start, end + 1):
        t = events[i].event_type
        if t == E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            pending["wft"] = at(i)
        elif t == E.EVENT_TYPE_WORKFLOW_TASK_STARTED and "wft" in pending:
            out["wft_queue_ms"] += at(i) - pending.pop("wft")
            pending["wft_run"] = at(i)
        elif t == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and "wft_run" in pending:
            out["wft_run_ms"] += at(i) - pending.pop("wft_run")
            out["workflow_tasks"] += 1
        elif t == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            pending["act"] = at(i)
            out["activities"] += 1
        elif t == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED and "act" in pending:
            out["activity_ms"] += at(i) - pending.pop("act")
        elif t == E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
            pending["sig"] = at(i)
            out["signals"] += 1
        elif t == E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED and "sig" in pending:
            out["signal_ms"] += at(i) - pending.pop("sig")
    return out


async def update_paths(client: Client, ids: list[str], sample: int = 50) -> dict[str, Any]:
    """p50 of each part of the decide update's path inside the workflow, over a sample of decisions."""
    windows = []
    for project_id in ids[:sample]:
        history = await client.get_workflow_handle(project_workflow_id(project_id)).fetch_history()
        window = _update_window(list(history.events))
        if window is not None:
            windows.append(window)
    if not windows:
        return {}
    return {"sample": len(windows)} | {key: rnd(percentile([w[key] for w in windows], 50)) for key in windows[0]}


def project_ids(count: int) -> list[str]:
    return [f"{PREFIX}-{i:04d}" for i in range(count)]
