"""The bare baseline: plain Temporal workflows that run the same number of (no-op) activities and
child workflows as a Boardroom project, in the same dependency shape — sequential phases, a
discovery child, an execution child whose task children run as the plan's dependencies allow,
a launch child — and nothing else (no signals, no queries, no search attributes, no database).

Deterministic code only; the shape comes in as input (measured from Boardroom's histories).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.common import RetryPolicy

TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(maximum_attempts=3)


class NoopInput(BaseModel):
    n: int = 0


class BareLeafInput(BaseModel):
    """Batches of activities run one after the other; the activities of a batch run together."""

    batches: list[int] = []


class BareTask(BaseModel):
    id: str
    depends_on: list[str] = []
    batches: list[int] = [1]


class BareExecutionInput(BaseModel):
    batches: list[int] = []
    tasks: list[BareTask] = []


class BareProjectInput(BaseModel):
    # Activity batches the project runs itself: before each phase child, and (last) after launch.
    slots: list[list[int]] = [[], [], [], []]
    discovery: BareLeafInput = BareLeafInput()
    execution: BareExecutionInput = BareExecutionInput()
    launch: BareLeafInput = BareLeafInput()


class BareProjectOutput(BaseModel):
    # When launch ended: the moment a Boardroom project marks the operations phase.
    done_at: datetime


@activity.defn(name="bare-noop")
async def noop(data: NoopInput) -> NoopInput:
    """Does nothing; idempotent."""
    return data


async def run_batches(batches: list[int]) -> None:
    for size in batches:
        await asyncio.gather(
            *(
                workflow.execute_activity(noop, NoopInput(n=i), start_to_close_timeout=TIMEOUT, retry_policy=RETRY)
                for i in range(size)
            )
        )


@workflow.defn(name="bare-leaf")
class BareLeafWorkflow:
    """A phase or task that only runs activities."""

    @workflow.run
    async def run(self, data: BareLeafInput) -> None:
        await run_batches(data.batches)


@workflow.defn(name="bare-execution")
class BareExecutionWorkflow:
    """Task children, each started as soon as its dependencies have finished."""

    @workflow.run
    async def run(self, data: BareExecutionInput) -> None:
        await run_batches(data.batches)
        parent = workflow.info().workflow_id
        done: set[str] = set()
        running: dict[str, asyncio.Task[None]] = {}
        while True:
            for task in data.tasks:
                if task.id in done or task.id in running or not all(d in done for d in task.depends_on):
                    continue
                running[task.id] = asyncio.create_task(
                    workflow.execute_child_workflow(
                        BareLeafWorkflow.run, BareLeafInput(batches=task.batches), id=f"{parent}/task-{task.id}"
                    )
                )
            if not running:
                return
            await workflow.wait_condition(lambda: any(t.done() for t in running.values()))  # noqa: B023
            for task_id, fut in list(running.items()):
                if fut.done():
                    fut.result()
                    done.add(task_id)
                    del running[task_id]


@workflow.defn(name="bare-project")
class BareProjectWorkflow:
    """Discovery → execution → launch as children, with the project's own activities between."""

    @workflow.run
    async def run(self, data: BareProjectInput) -> BareProjectOutput:
        wid = workflow.info().workflow_id
        slots = data.slots + [[]] * max(0, 4 - len(data.slots))
        await run_batches(slots[0])
        await workflow.execute_child_workflow(BareLeafWorkflow.run, data.discovery, id=f"{wid}/discovery")
        await run_batches(slots[1])
        await workflow.execute_child_workflow(BareExecutionWorkflow.run, data.execution, id=f"{wid}/execution")
        await run_batches(slots[2])
        await workflow.execute_child_workflow(BareLeafWorkflow.run, data.launch, id=f"{wid}/launch")
        done_at = workflow.now()
        await run_batches(slots[3])
        return BareProjectOutput(done_at=done_at)
