"""Helpers for driving projects in tests: start one, wait for a state, decide gates."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle

from workflows.ids import project_workflow_id
from workflows.models import (
    Channel,
    GateDecision,
    GateStatus,
    GateView,
    Phase,
    Policy,
    ProjectInput,
    ProjectState,
)
from workflows.project import ProjectWorkflow

# A bound that only guards against hangs; the lifecycles themselves take seconds.
WAIT_S = 120.0


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
