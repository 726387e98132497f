"""A person decides a gate while the policy is still recording its automatic approval: the
person's decision stands and the project goes on (it used to fail with AlreadyDecided)."""

from __future__ import annotations

import asyncio

from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.agents import AgentActivities
from activities.health import ping
from activities.integrations import IntegrationActivities
from activities.store import StoreActivities
from boardroom.settings import Settings
from domain.enums import AutoApprove, Channel, GateKind, GateStatus, Phase, Status
from domain.gates import GateDecision
from domain.project import Policy
from domain.records import GateRecord
from tests.workflows.helpers import WAIT_S, cancel_and_wait, next_gate, start_project
from workers.worker import workflows
from workflows.project import ProjectWorkflow


async def test_a_decision_while_the_policy_records_its_approval_stands(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    recording = asyncio.Event()
    release = asyncio.Event()

    async def hold_interview_gate(record: GateRecord) -> None:
        # Called inside the open_gate activity, after the row is stored: hold it there.
        if record.gate.kind == GateKind.interview:
            recording.set()
            await release.wait()

    worker = Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=workflows(),
        activities=[
            ping,
            *StoreActivities(settings, notifier=hold_interview_gate).activities(),
            *AgentActivities(settings).activities(),
            *IntegrationActivities(settings).activities(),
        ],
    )
    async with worker:
        # auto_approve=low approves the (low-risk) interview gate once it is recorded.
        handle = await start_project(dev_env.client, task_queue, policy=Policy(auto_approve=AutoApprove.low))
        await asyncio.wait_for(recording.wait(), timeout=60)
        gate = await next_gate(handle, "interview")
        decision = GateDecision(gate_id=gate.id, decision="approve", approver="ceo", channel=Channel.api)
        await handle.execute_update(ProjectWorkflow.decide, decision)  # type: ignore[unused-coroutine]
        release.set()

        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while True:
            # The run must stay open (a failed run still answers queries with its last state).
            assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING, "the project ended"
            state = await handle.query(ProjectWorkflow.get_state)
            if any(g.kind == GateKind.plan for g in state.gates):
                break
            assert loop.time() < deadline, "timed out waiting for discovery to go on to the plan"
            await asyncio.sleep(0.05)
        assert state.status in (Status.running, Status.waiting_approval) and state.error is None
        interview = next(g for g in state.gates if g.id == gate.id)
        assert (interview.status, interview.decided_by, interview.channel) == (GateStatus.approved, "ceo", Channel.api)
        assert state.phase == Phase.discovery
        await cancel_and_wait(handle)
