"""The bare baselines: plain Temporal workflows that run the same number of activities as a
Boardroom project, in the same dependency shape — sequential phases (discovery, execution whose
tasks run as the plan's dependencies allow, launch) — and nothing else (no signals, no queries,
no search attributes, no state of their own).

Two of them: `bare-single`, one workflow whose phases and tasks are coroutines (what a project is
since the one-workflow patch, and the reference of issue 16), and `bare-project`, the old tree
(discovery, execution, a child per task, launch as child workflows). Both run no-op activities.
`bare-single` given an `activity_queue` runs Boardroom's own activities instead (the overhead
reference): each activity the measured project ran, with the input and options it was given
(bench/bare_calls.py), each started once the activities that project had completed before the
workflow task that scheduled it are done — the recorded order, batches kept together.

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
    # Set: `bare-single` runs the calls bare_calls.CALLS holds for its workflow id, on this queue,
    # each once the calls in `after[i]` are done (those the measured run had completed before the
    # workflow task that scheduled it); `marks`: a phase begins (and "operations": launch ends)
    # once the calls listed for it are done.
    activity_queue: str = ""
    after: list[list[int]] = []
    marks: dict[str, list[int]] = {}


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


async def run_trace(queue: str, calls: list[bare_calls.Call], after: list[list[int]]) -> list[datetime]:
    """Every call, each started once the calls it comes after are done, with the arguments it was
    given (the documents' ids replaced by those of this run's documents) and its options; when
    each was done."""
    ids: dict[int, int] = {}
    done_at: list[datetime] = [workflow.now()] * len(calls)
    tasks: list[asyncio.Task[None]] = []

    async def one(i: int) -> None:
        for j in after[i]:
            await tasks[j]
        c = calls[i]
        attempts = c.options.get("attempts")
        got = await workflow.execute_activity(
            c.name,
            args=bare_calls.rename_ids(c.args, ids) if c.carries_ids else c.args,
            task_queue=queue,
            start_to_close_timeout=timedelta(seconds=c.options.get("start_to_close_s") or TIMEOUT.total_seconds()),
            heartbeat_timeout=timedelta(seconds=c.options["heartbeat_s"]) if c.options.get("heartbeat_s") else None,
            retry_policy=RetryPolicy(maximum_attempts=attempts) if attempts else RETRY,
            summary=c.options.get("summary"),
        )
        if c.returns_ids:
            bare_calls.learn(c.result, got, ids)
        done_at[i] = workflow.now()

    for i in range(len(calls)):
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return done_at


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
        if data.activity_queue:
            calls = bare_calls.CALLS.get(workflow.info().workflow_id)
            if calls is None or len(data.after) != len(calls):
                raise ApplicationError(f"no calls loaded for {workflow.info().workflow_id}", non_retryable=True)
            started = workflow.now()
            done = await run_trace(data.activity_queue, calls, data.after)
            marks = {phase: max((done[i] for i in needed), default=started) for phase, needed in data.marks.items()}
            return BareProjectOutput(
                done_at=marks.pop("operations", max(done, default=started)),
                phase_at={p: marks[p] for p in ("discovery", "execution", "launch") if p in marks},
            )
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
