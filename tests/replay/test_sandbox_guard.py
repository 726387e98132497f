"""Why the recorded histories also replay on Temporal's strict sandbox: a module passed through
(as the worker passes `workflows`) is not re-imported into the run, so a non-deterministic call in
it goes unnoticed on the worker's sandbox — the strict replay catches it."""

from __future__ import annotations

import uuid

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from boardroom.client import data_converter
from tests.replay.clock_workflow import ReadsTheClock
from workers.worker import PASSTHROUGH_MODULES


async def test_strict_replay_catches_what_the_pass_through_lets_by(dev_env: WorkflowEnvironment) -> None:
    assert "workflows" in PASSTHROUGH_MODULES and "domain" in PASSTHROUGH_MODULES
    passed_through = SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("tests.replay.clock_workflow")
    )
    queue = f"clock-{uuid.uuid4().hex[:8]}"
    async with Worker(dev_env.client, task_queue=queue, workflows=[ReadsTheClock], workflow_runner=passed_through):
        handle = await dev_env.client.start_workflow(ReadsTheClock.run, id=queue, task_queue=queue)
        assert await handle.result()  # the pass-through let datetime.now() run
    history = await handle.fetch_history()

    lenient = Replayer(workflows=[ReadsTheClock], workflow_runner=passed_through, data_converter=data_converter())
    assert (await lenient.replay_workflow(history, raise_on_replay_failure=False)).replay_failure is None
    strict = Replayer(
        workflows=[ReadsTheClock], workflow_runner=SandboxedWorkflowRunner(), data_converter=data_converter()
    )
    failure = (await strict.replay_workflow(history, raise_on_replay_failure=False)).replay_failure
    assert failure is not None
    assert "datetime.datetime.now" in str(failure) or "restricted" in str(failure).lower(), failure
