"""Helpers for driving projects in tests: start one, wait for a state, decide gates."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import TypeVar

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowHistory

from domain.enums import Channel, GateStatus, Phase
from domain.gates import GateDecision, GateView
from domain.project import Policy, ProjectInput, ProjectState
from domain.records import DecisionRecord, GateRecord, ReadModelUpdate
from workflows.ids import project_workflow_id
from workflows.project import ProjectWorkflow

# A bound that only guards against hangs; the lifecycles themselves take seconds.
WAIT_S = 120.0

T = TypeVar("T")


async def start_project(
    client: Client,
    task_queue: str,
    *,
    goal: str = "Sell handmade ceramic mugs online",
    policy: Policy | None = None,
    budget_usd: float = 50.0,
) -> WorkflowHandle[ProjectWorkflow, ProjectState]:
    project_id = f"p-{uuid.uuid4().hex[:10]}"
    return await client.start_workflow(
        ProjectWorkflow.run,
        ProjectInput(
            project_id=project_id,
            name="Test project",
            goal=goal,
            budget_usd=budget_usd,
            policy=policy or Policy(),
        ),
        id=project_workflow_id(project_id),
        task_queue=task_queue,
    )


async def wait_for(
    handle: WorkflowHandle[ProjectWorkflow, ProjectState],
    predicate: Callable[[ProjectState], bool],
    timeout: float = WAIT_S,
    what: str = "condition",
) -> ProjectState:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    state = await handle.query(ProjectWorkflow.get_state)
    while not predicate(state):
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}; phase={state.phase} status={state.status}")
        await asyncio.sleep(0.05)
        state = await handle.query(ProjectWorkflow.get_state)
    return state


def pending(state: ProjectState) -> list[GateView]:
    return [g for g in state.gates if g.status == GateStatus.pending]


async def next_gate(handle: WorkflowHandle[ProjectWorkflow, ProjectState], kind: str | None = None) -> GateView:
    state = await wait_for(
        handle,
        lambda s: any(kind is None or g.kind.value == kind for g in pending(s)),
        what=f"a pending {kind or 'any'} gate",
    )
    return next(g for g in pending(state) if kind is None or g.kind.value == kind)


async def decide(
    handle: WorkflowHandle[ProjectWorkflow, ProjectState],
    gate: GateView,
    decision: str = "approve",
    comment: str = "",
    *,
    use_update: bool = False,
) -> None:
    answers = {q.id: f"answer to {q.text}" for q in gate.questions}
    payload = GateDecision(
        gate_id=gate.id,
        decision=decision,  # type: ignore[arg-type]
        comment=comment,
        answers=answers,
        channel=Channel.api if use_update else Channel.temporal_ui,
    )
    if use_update:
        await handle.execute_update(ProjectWorkflow.decide, payload)  # type: ignore[unused-coroutine]
    else:
        await handle.signal(ProjectWorkflow.decide_signal, payload)
    # Wait until the decision shows, so the next gate we pick is a new one.
    await wait_for(handle, lambda s: all(g.id != gate.id for g in pending(s)), what=f"{gate.id} decided")


async def approve_until(
    handle: WorkflowHandle[ProjectWorkflow, ProjectState],
    phase: Phase,
    *,
    use_update: bool = False,
    timeout: float = WAIT_S,
) -> ProjectState:
    """The test approver: approves every gate until the project reaches `phase`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        state = await handle.query(ProjectWorkflow.get_state)
        if state.phase == phase:
            return state
        if state.status.value in ("failed", "cancelled", "completed"):
            raise AssertionError(f"project ended in {state.status} ({state.error}) before reaching {phase}")
        gates = pending(state)
        for gate in gates:
            await decide(handle, gate, use_update=use_update)
        if loop.time() > deadline:
            raise AssertionError(f"timed out before {phase}; phase={state.phase}")
        if not gates:
            await asyncio.sleep(0.05)


async def cancel_and_wait(handle: WorkflowHandle[ProjectWorkflow, ProjectState]) -> ProjectState:
    """Cancel and wait for the run to end while the worker is still up (an unfinished workflow
    task would otherwise hold the time-skipping server's clock for the rest of the session)."""
    from temporalio.client import WorkflowFailureError

    await handle.cancel()
    # Poll the run's status rather than awaiting its result: on the time-skipping server, awaiting
    # a result lets the clock run (operations' weekly timers fire while the cancel is handled),
    # which under load could keep the run busy past the hang guard. A cancel needs no time.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
        if loop.time() > deadline:
            raise AssertionError(f"{handle.id} still running {WAIT_S:.0f}s after it was cancelled")
        await asyncio.sleep(0.05)
    try:
        await asyncio.wait_for(handle.result(), timeout=WAIT_S)
    except WorkflowFailureError:
        pass
    return await handle.query(ProjectWorkflow.get_state)


# --- the project's one history ---------------------------------------------------------------
# Since the one-workflow shape every phase and task runs inside the project workflow: what a
# test once read from a child workflow's history it reads from the project's.

CHILD_STARTED = EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
TASK_FAILED = EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED


async def history_events(client: Client, workflow_id: str) -> list[HistoryEvent]:
    return [e async for e in client.get_workflow_handle(workflow_id).fetch_history_events()]


def activity_names(events: list[HistoryEvent]) -> list[str]:
    """Every activity the run scheduled, local activities (store writes) included, in order."""
    names = []
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            names.append(e.activity_task_scheduled_event_attributes.activity_type.name)
        elif (
            e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
            and "data" in e.marker_recorded_event_attributes.details
        ):
            data = json.loads(e.marker_recorded_event_attributes.details["data"].payloads[0].data)
            if isinstance(data, dict) and "activity_type" in data:
                names.append(data["activity_type"])
    return names


async def activity_inputs(client: Client, workflow_id: str, activity: str, kind: type[T]) -> list[tuple[T, int]]:
    """The input of each `activity` (a regular activity) the run scheduled, with its size."""
    found = []
    for e in await history_events(client, workflow_id):
        if e.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            continue
        attrs = e.activity_task_scheduled_event_attributes
        if attrs.activity_type.name != activity:
            continue
        payloads = list(attrs.input.payloads)
        (value,) = await client.data_converter.decode(payloads, [kind])
        found.append((value, sum(p.ByteSize() for p in payloads)))
    return found


def scheduled_activities(history: WorkflowHistory) -> list[str]:
    """The activities a history scheduled, by name, in order."""
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]


# The activities that may carry the read model's sync (PATCH_STORE_SYNCS), beside sync_project.
CARRIES_SYNC = ("open_gate", "record_decision")


async def read_model_syncs(client: Client, workflow_id: str) -> list[tuple[ReadModelUpdate, int]]:
    """Every read-model sync the run scheduled, in order, with its size: `sync_project`'s input and
    the `sync` a gate or decision write carries."""
    found = []
    for e in await history_events(client, workflow_id):
        if e.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            continue
        attrs = e.activity_task_scheduled_event_attributes
        name = attrs.activity_type.name
        payloads = list(attrs.input.payloads)
        if name == "sync_project":
            (update,) = await client.data_converter.decode(payloads, [ReadModelUpdate])
            found.append((update, sum(p.ByteSize() for p in payloads)))
        elif name in CARRIES_SYNC:
            (record,) = await client.data_converter.decode(
                payloads, [GateRecord if name == "open_gate" else DecisionRecord]
            )
            if record.sync is not None:
                found.append((record.sync, len(record.sync.model_dump_json())))
    return found


async def assert_one_workflow(client: Client, workflow_id: str) -> list[HistoryEvent]:
    """The project ran as one workflow: no child workflow started, no workflow task failed."""
    events = await history_events(client, workflow_id)
    assert not [e for e in events if e.event_type == CHILD_STARTED], "a child workflow was started"
    assert not [e for e in events if e.event_type == TASK_FAILED], "a workflow task failed"
    return events
