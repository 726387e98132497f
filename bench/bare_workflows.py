"""The bare baselines: plain Temporal workflows that run the same number of (no-op) activities as
a Boardroom project, in the same dependency shape — sequential phases (discovery, execution whose
tasks run as the plan's dependencies allow, launch) — and nothing else (no signals, no queries,
no search attributes, no database).

Two of them: `bare-single`, one workflow whose phases and tasks are coroutines (what a project is
since the one-workflow patch, and the reference of issue 16), and `bare-project`, the old tree
(discovery, execution, a child per task, launch as child workflows).

Deterministic code only; the shape comes in as input (measured from Boardroom's histories).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
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
    # When each phase began (discovery, execution, launch), as a Boardroom project's timeline says.
    phase_at: dict[str, datetime] = {}


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


async def run_tasks(tasks: list[BareTask], run_one: Callable[[BareTask], Awaitable[None]]) -> None:
    """Each task started as soon as its dependencies have finished; returns when all have."""
    done: set[str] = set()
    running: dict[str, asyncio.Task[None]] = {}

    async def one(task: BareTask) -> None:
        await run_one(task)

    while True:
        for task in tasks:
            if task.id in done or task.id in running or not all(d in done for d in task.depends_on):
                continue
            running[task.id] = asyncio.create_task(one(task))
        if not running:
            return
        await workflow.wait_condition(lambda: any(t.done() for t in running.values()))  # noqa: B023
        for task_id, fut in list(running.items()):
            if fut.done():
                fut.result()
                done.add(task_id)
                del running[task_id]


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

        async def child(task: BareTask) -> None:
            await workflow.execute_child_workflow(
                BareLeafWorkflow.run, BareLeafInput(batches=task.batches), id=f"{parent}/task-{task.id}"
            )

        await run_tasks(data.tasks, child)


@workflow.defn(name="bare-project")
class BareProjectWorkflow:
    """Discovery → execution → launch as children, with the project's own activities between."""

    @workflow.run
    async def run(self, data: BareProjectInput) -> BareProjectOutput:
        wid = workflow.info().workflow_id
        slots = data.slots + [[]] * max(0, 4 - len(data.slots))
        phase_at = {"discovery": workflow.now()}
        await run_batches(slots[0])
        await workflow.execute_child_workflow(BareLeafWorkflow.run, data.discovery, id=f"{wid}/discovery")
        phase_at["execution"] = workflow.now()
        await run_batches(slots[1])
        await workflow.execute_child_workflow(BareExecutionWorkflow.run, data.execution, id=f"{wid}/execution")
        phase_at["launch"] = workflow.now()
        await run_batches(slots[2])
        await workflow.execute_child_workflow(BareLeafWorkflow.run, data.launch, id=f"{wid}/launch")
        done_at = workflow.now()
        await run_batches(slots[3])
        return BareProjectOutput(done_at=done_at, phase_at=phase_at)


@workflow.defn(name="bare-single")
class BareSingleWorkflow:
    """The same activities in the same order as `bare-project`, in one workflow: discovery's
    batches, then the tasks as coroutines along their dependencies, then launch's batches, with
    the project's own activities between the phases — no child workflow."""

    @workflow.run
    async def run(self, data: BareProjectInput) -> BareProjectOutput:
        slots = data.slots + [[]] * max(0, 4 - len(data.slots))
        phase_at = {"discovery": workflow.now()}
        await run_batches(slots[0])
        await run_batches(data.discovery.batches)
        phase_at["execution"] = workflow.now()
        await run_batches(slots[1])
        await run_batches(data.execution.batches)

        async def task(t: BareTask) -> None:
            await run_batches(t.batches)

        await run_tasks(data.execution.tasks, task)
        phase_at["launch"] = workflow.now()
        await run_batches(slots[2])
        await run_batches(data.launch.batches)
        done_at = workflow.now()
        await run_batches(slots[3])
        return BareProjectOutput(done_at=done_at, phase_at=phase_at)
