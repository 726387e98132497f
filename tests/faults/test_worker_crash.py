"""Workers die: SIGKILL in the middle of execution, with a replacement or a second worker.

Each scenario ends in the state an undisturbed run reaches (the baseline test below), with
one of each side effect at the fake Stripe/GitHub/Slack and nothing recorded twice.
"""

from __future__ import annotations

import signal
import time

import pytest
from temporalio.api.enums.v1 import EventType

from domain.enums import Phase
from tests.faults.support import Fakes, assert_undisturbed_end_state, project_workflow_ids, start
from tests.stack import Proc, Stack, _until, in_operations, wait_state

# A whole stack in processes (dev server, API, workers): slow under load; the guard only catches hangs.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SHORT = "tests.faults.short_timeouts_worker"
AGENT_WORK = ("produce", "review")


async def agent_activity_on(stack: Stack, worker: Proc) -> list[tuple[str, str, int]]:
    """Produce/review activities running right now on this worker."""
    return [a for a in await stack.started_activities(worker) if a[1] in AGENT_WORK]


async def retried_by(stack: Stack, workflow_id: str, worker: Proc) -> list[int]:
    """Attempts of activities in this workflow that `worker` started after an earlier attempt."""
    client = await stack.client()
    attempts = []
    async for e in client.get_workflow_handle(workflow_id).fetch_history_events():
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            attrs = e.activity_task_started_event_attributes
            if attrs.identity == worker.identity and attrs.attempt >= 2:
                attempts.append(attrs.attempt)
    return attempts


async def test_undisturbed_baseline(stack: Stack, fakes: Fakes) -> None:
    """The end state the fault scenarios are held to, reached without any fault."""
    await stack.start_worker(fakes.worker_env())
    handle = await start(stack, tag="baseline")
    state = await wait_state(handle, in_operations, 90, "operations")
    await assert_undisturbed_end_state(stack, fakes, state)


async def test_sigkill_mid_execution_then_a_new_worker_completes(stack: Stack, fakes: Fakes) -> None:
    first = await stack.start_worker(fakes.worker_env(), module=SHORT)
    handle = await start(stack, tag="sigkill")
    await wait_state(handle, lambda s: s.phase == Phase.execution, 60, "execution")
    (wf_id, activity, attempt), *_ = await _until(lambda: agent_activity_on(stack, first), 60, "an agent activity")
    assert attempt == 1

    assert first.sigkill() == -signal.SIGKILL
    second = await stack.start_worker(fakes.worker_env(), module=SHORT)
    state = await wait_state(handle, in_operations, 120, "operations after the crash")

    await assert_undisturbed_end_state(stack, fakes, state)
    # The activity lost with the first worker ran again on the second.
    assert await retried_by(stack, wf_id, second), f"{activity} in {wf_id} was not retried by the new worker"
    work = await stack.participation(await project_workflow_ids(stack, state.project_id))
    assert work["workflow_tasks"][second.identity] > 0 and work["workflow_tasks"][first.identity] > 0


async def test_two_workers_one_killed_the_other_takes_over(stack: Stack, fakes: Fakes) -> None:
    workers = [
        await stack.start_worker(fakes.worker_env(), module=SHORT),
        await stack.start_worker(fakes.worker_env(), module=SHORT),
    ]
    handles = [await start(stack, tag=f"pair-{i}") for i in range(2)]
    for handle in handles:
        await wait_state(handle, lambda s: s.phase != Phase.discovery, 60, "execution")

    async def busy_worker() -> tuple[Proc, list[tuple[str, str, int]]] | None:
        for worker in workers:
            running = await agent_activity_on(stack, worker)
            if running:
                return worker, running
        return None

    victim, running = await _until(busy_worker, 60, "a worker running an agent activity")
    survivor = next(w for w in workers if w is not victim)
    assert victim.sigkill() == -signal.SIGKILL
    killed_at = time.monotonic()

    for handle in handles:
        state = await wait_state(handle, in_operations, 120, "operations after the crash")
        await assert_undisturbed_end_state(stack, fakes, state)
    # The survivor picked up what the victim was running, and all workflow work after the crash.
    for wf_id, _activity, _attempt in running:
        assert await retried_by(stack, wf_id, survivor), f"{wf_id} was not taken over"
    assert survivor.alive()
    assert time.monotonic() - killed_at < 120


class LostActivityStalled(AssertionError):
    """The activity of a killed worker was not retried within the bound."""


async def test_sigkill_retries_lost_activity_promptly(stack: Stack, fakes: Fakes) -> None:
    """Unmodified `boardroom worker`s: the activity lost with a crashed worker is retried on the
    replacement within a bounded, short time (here 25 s): activities heartbeat (20 s timeout)."""
    fakes.llm.delay_s = 3.0
    first = await stack.start_worker(fakes.worker_env())
    handle = await start(stack, tag="lost-activity")
    await wait_state(handle, lambda s: s.phase == Phase.execution, 60, "execution")
    (wf_id, activity, _), *_ = await _until(lambda: agent_activity_on(stack, first), 60, "an agent activity")
    first.sigkill()
    second = await stack.start_worker(fakes.worker_env())
    fakes.llm.delay_s = 0.0
    try:
        await _until(lambda: retried_by(stack, wf_id, second), 25, f"{activity} retried on the new worker")
    except AssertionError as exc:
        raise LostActivityStalled(str(exc)) from None
