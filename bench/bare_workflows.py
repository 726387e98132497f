"""The bare baselines: plain Temporal workflows that run the same number of activities as a
Boardroom project, in the same dependency shape — sequential phases (discovery, execution whose
tasks run as the plan's dependencies allow, launch) — and nothing else (no signals, no queries,
no search attributes, no state of their own).

Two of them: `bare-single`, one workflow whose phases and tasks are coroutines (what a project is
since the one-workflow patch, and the reference of issue 16), and `bare-project`, the old tree
(discovery, execution, a child per task, launch as child workflows). Both run no-op activities;
`bare-single` given an `activity_queue` runs Boardroom's own activities instead, each with the
input the measured project gave it (bench/bare_calls.py), on the worker that serves that queue.

Deterministic code only; the shape comes in as input (measured from Boardroom's histories).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from bench import bare_calls

TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(maximum_attempts=3)


class NoopInput(BaseModel):
    n: int = 0


class BareLeafInput(BaseModel):
    """Batches of activities run one after the other; the activities of a batch run together.
    `calls`, when given: the same batches as places in the measured project's list of calls."""

    batches: list[int] = []
    calls: list[list[int]] = []


class BareTask(BaseModel):
    id: str
    depends_on: list[str] = []
    batches: list[int] = [1]
    calls: list[list[int]] = []


class BareExecutionInput(BaseModel):
    batches: list[int] = []
    calls: list[list[int]] = []
    tasks: list[BareTask] = []


class BareProjectInput(BaseModel):
    # Activity batches the project runs itself: before each phase child, and (last) after launch.
    slots: list[list[int]] = [[], [], [], []]
    slot_calls: list[list[list[int]]] = []
    discovery: BareLeafInput = BareLeafInput()
    execution: BareExecutionInput = BareExecutionInput()
    launch: BareLeafInput = BareLeafInput()
    # Set: `bare-single` runs the calls bare_calls.CALLS holds for its workflow id, on this queue.
    activity_queue: str = ""


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


async def run_calls(queue: str, calls: list[bare_calls.Call], batches: list[list[int]], ids: dict[int, int]) -> None:
    """The measured project's activities, batch by batch, each with the arguments it was given
    (the documents' ids replaced by those of this run's documents, learned in `ids`)."""

    async def call(c: bare_calls.Call) -> None:
        got = await workflow.execute_activity(
            c.name,
            args=bare_calls.rename_ids(c.args, ids),
            task_queue=queue,
            start_to_close_timeout=TIMEOUT,
            retry_policy=RETRY,
        )
        bare_calls.learn(c.result, got, ids)

    for batch in batches:
        await asyncio.gather(*(call(calls[i]) for i in batch))


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
        calls = bare_calls.CALLS.get(workflow.info().workflow_id) if data.activity_queue else None
        if data.activity_queue and calls is None:
            raise ApplicationError(f"no calls loaded for {workflow.info().workflow_id}", non_retryable=True)
        ids: dict[int, int] = {}

        async def run(batches: list[int], places: list[list[int]]) -> None:
            if calls is None:
                await run_batches(batches)
            else:
                await run_calls(data.activity_queue, calls, places, ids)

        slots = data.slots + [[]] * max(0, 4 - len(data.slots))
        places = data.slot_calls + [[]] * max(0, 4 - len(data.slot_calls))
        phase_at = {"discovery": workflow.now()}
        await run(slots[0], places[0])
        await run(data.discovery.batches, data.discovery.calls)
        phase_at["execution"] = workflow.now()
        await run(slots[1], places[1])
        await run(data.execution.batches, data.execution.calls)

        async def task(t: BareTask) -> None:
            await run(t.batches, t.calls)

        await run_tasks(data.execution.tasks, task)
        phase_at["launch"] = workflow.now()
        await run(slots[2], places[2])
        await run(data.launch.batches, data.launch.calls)
        done_at = workflow.now()
        await run(slots[3], places[3])
        return BareProjectOutput(done_at=done_at, phase_at=phase_at)
