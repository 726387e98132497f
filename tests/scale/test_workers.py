"""Scale-out and graceful shutdown with real `boardroom worker` processes on one dev server."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType

from domain.enums import AutoApprove, Phase
from domain.project import Policy, ProjectInput
from tests.stack import DONE, ScriptedLLM, Stack, _until, in_operations, planned_tasks, running_stack, wait_state
from workflows.ids import project_workflow_id
from workflows.project import ProjectWorkflow

# A whole stack in processes (dev server, API, workers): slow under load; the guard only catches hangs.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PROJECTS = 20
FAST = Policy(auto_approve=AutoApprove.all, max_rounds=2, review_interval_s=10**8)


@pytest.fixture
async def stack(tmp_path: Path, task_queue: str) -> AsyncIterator[Stack]:
    # An in-memory dev server: these scenarios never restart it, and on a small machine the
    # persistent one (an fsync per write) triples the time twenty projects take.
    async with running_stack(tmp_path, task_queue, persistent=False) as s:
        yield s


async def start_projects(stack: Stack, count: int) -> list[str]:
    client = await stack.client()
    ids = [f"p-{uuid.uuid4().hex[:10]}" for _ in range(count)]
    await asyncio.gather(
        *(
            client.start_workflow(
                ProjectWorkflow.run,
                ProjectInput(project_id=pid, name=f"Scale {i}", goal=f"Sell kit number {i}", policy=FAST),
                id=project_workflow_id(pid),
                task_queue=stack.task_queue,
            )
            for i, pid in enumerate(ids)
        )
    )
    return ids


async def test_three_workers_share_twenty_projects(stack: Stack) -> None:
    workers = await stack.start_workers(3)
    started = time.monotonic()
    ids = await start_projects(stack, PROJECTS)
    client = await stack.client()
    for pid in ids:
        handle = client.get_workflow_handle_for(ProjectWorkflow.run, project_workflow_id(pid))  # type: ignore[arg-type,var-annotated]
        state = await wait_state(handle, in_operations, max(30.0, 240 - (time.monotonic() - started)), pid)
        planned = planned_tasks(state)
        assert planned and all(t.status in DONE for t in planned), [(t.id, t.status) for t in planned]

    work = await stack.participation()
    for kind in ("workflow_tasks", "activity_tasks"):
        shares = {w.name: work[kind][w.identity] for w in workers}
        assert all(n > 0 for n in shares.values()), f"{kind}: {shares}"
        # Nothing else worked on these projects.
        assert sum(work[kind].values()) == sum(shares.values()), work[kind]
    assert all(w.alive() for w in workers)


async def test_sigterm_mid_activity_completes_it_and_exits_0(stack: Stack) -> None:
    grace_s = 20.0
    with ScriptedLLM(delay_s=4.0) as llm:
        env = {
            "BOARDROOM_AGENT_PROVIDER": "openai",
            "OPENAI_API_KEY": "sk-fake-llm",
            "OPENAI_BASE_URL": llm.base_url,
            "BOARDROOM_GRACEFUL_SHUTDOWN_S": str(grace_s),
        }
        worker = await stack.start_worker(env)
        (pid,) = await start_projects(stack, 1)
        client = await stack.client()
        handle = client.get_workflow_handle_for(ProjectWorkflow.run, project_workflow_id(pid))  # type: ignore[arg-type,var-annotated]

        async def agent_call_started() -> list[tuple[str, str, int]]:
            return [a for a in await stack.started_activities(worker) if a[1] in ("produce", "review")]

        (wf_id, activity, attempt), *_ = await _until(agent_call_started, 90, "an agent activity in flight")
        assert attempt == 1
        signalled = time.monotonic()
        worker.sigterm()
        code = await worker.wait(grace_s + 10)
        took = time.monotonic() - signalled
        assert code == 0, worker.output()[-3000:]
        assert took < grace_s, f"exit took {took:.1f}s"

        # The activity finished on that worker, on its first attempt, and its result is in history.
        completed = []
        starts: dict[int, tuple[str, int]] = {}
        async for e in client.get_workflow_handle(wf_id).fetch_history_events():
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                a = e.activity_task_started_event_attributes
                starts[e.event_id] = (a.identity, a.attempt)
            elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                completed.append(starts[e.activity_task_completed_event_attributes.started_event_id])
        assert (worker.identity, 1) in completed, completed
        assert await stack.started_activities() == [], "nothing left running"

        # A new worker carries on without redoing the finished call.
        llm.delay_s = 0.1
        await stack.start_worker(env)
        state = await wait_state(handle, in_operations, 120, "operations")
        assert state.phase == Phase.operations
        assert all(t.status in DONE for t in planned_tasks(state))
        # interview, research, plan; a produce and a review per task; the compliance reviewer before go-live
        assert len(llm.chat_requests()) == 3 + 2 * len(planned_tasks(state)) + 1
