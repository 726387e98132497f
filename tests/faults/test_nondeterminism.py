"""A non-deterministic workflow change reaches a worker with live projects: the workflow task
fails and is retried (the workflow does not fail), and the right code lets the project go on."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import WorkflowExecutionStatus

from tests.faults.support import Fakes, assert_undisturbed_end_state, start
from tests.stack import Stack, _until, in_operations, wait_state

# A whole stack in processes (dev server, API, workers): slow under load; the guard only catches hangs.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

BAD = "tests.faults.nondeterministic_worker"


async def nondeterminism_failures(stack: Stack, identity: str) -> list[str]:
    """Project workflows with a WorkflowTaskFailed (non-determinism) from the given worker."""
    client = await stack.client()
    found = []
    for wid in await stack.workflow_ids():
        if not wid.startswith("project-"):
            continue
        async for e in client.get_workflow_handle(wid).fetch_history_events():
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                attrs = e.workflow_task_failed_event_attributes
                if (
                    attrs.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR
                    and attrs.identity == identity
                ):
                    found.append(wid)
    return found


async def test_nondeterministic_deploy_fails_workflow_tasks_not_workflows(stack: Stack, fakes: Fakes) -> None:
    fakes.llm.delay_s = 1.0
    good = await stack.start_worker(fakes.worker_env())
    handle = await start(stack, tag="nondeterminism")
    client = await stack.client()

    async def task_busy() -> bool:
        running = await stack.started_activities(good)
        return any(wid == handle.id and name in ("produce", "review") for wid, name, _ in running)

    await _until(task_busy, 60, "a task of the project with an activity in flight")
    # Deploy the bad code: the good worker drains (its activity completes) and exits.
    good.sigterm()
    assert await good.wait(30) == 0
    bad = await stack.start_worker(fakes.worker_env(), module=BAD)

    broken = await _until(lambda: nondeterminism_failures(stack, bad.identity), 60, "a non-determinism failure")
    # The workflow task is retried, the workflows stay open.
    for wid in broken:
        desc = await client.get_workflow_handle(wid).describe()
        assert desc.status == WorkflowExecutionStatus.RUNNING
        assert desc.raw_description.pending_workflow_task.attempt >= 1
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    assert "NondeterminismError" in bad.output() or "nondetermin" in bad.output().lower()

    # Redeploy the right code: the same runs continue to the end.
    bad.sigterm()
    assert await bad.wait(30) == 0
    fixed = await stack.start_worker(fakes.worker_env())
    fakes.llm.delay_s = 0.2
    state = await wait_state(handle, in_operations, 120, "operations after the redeploy")
    await assert_undisturbed_end_state(stack, fakes, state)
    # The very run the bad code failed on went on to operations (it runs on: no new run started).
    assert set(broken) == {handle.id}
    desc = await handle.describe()
    assert desc.status == WorkflowExecutionStatus.RUNNING and desc.run_id == handle.result_run_id, desc.run_id
    work = await stack.participation()
    assert work["workflow_tasks"][fixed.identity] > 0
