"""Compliance before anything public: launch checks the public deliverables before the go-live
gate; blocking findings open a `compliance` gate (accept, revise, reject). Real worker, the
time-skipping server, the offline provider (the claim comes from the goal's quoted product name,
so the offline producer keeps writing it: a revision re-produces the site and the gate returns)."""

from __future__ import annotations

import asyncio

from sqlmodel import col, select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from boardroom.settings import Settings
from store.db import session_scope
from store.tables import Decision, Document
from tests.workflows.helpers import WAIT_S, approve_until, decide, pending, start_project, wait_for
from workers.worker import create_worker
from workflows.models import GateKind, GateView, Phase, ProjectState, Status
from workflows.project import ProjectWorkflow

CLAIM_GOAL = 'Sell "Guaranteed Results Coaching" sessions online'


async def approve_until_gate(handle: WorkflowHandle[ProjectWorkflow, ProjectState], kind: GateKind) -> GateView:
    """Approves every other gate until a pending gate of `kind` shows; fails if the project
    leaves launch without one."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while True:
        state = await handle.query(ProjectWorkflow.get_state)
        gates = pending(state)
        found = [g for g in gates if g.kind == kind]
        if found:
            return found[0]
        assert state.phase not in (Phase.operations, Phase.completed), f"no {kind} gate before {state.phase}"
        assert loop.time() < deadline, f"timed out waiting for a {kind} gate; phase={state.phase}"
        for gate in gates:
            await decide(handle, gate)
        if not gates:
            await asyncio.sleep(0.05)


def site_versions(settings: Settings, project_id: str) -> list[int]:
    with session_scope(settings.database_url) as session:
        docs = session.exec(
            select(Document).where(Document.project_id == project_id, Document.kind == "deliverable")
        ).all()
        return sorted(d.version for d in docs if d.files and "index.html" in d.files)


async def test_clean_project_passes_compliance_without_a_gate(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    async with create_worker(dev_env.client, settings, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue)
        state = await approve_until(handle, Phase.operations)
        assert state.launched
        kinds = [g.kind for g in state.gates]
        assert GateKind.compliance not in kinds
        go_live = next(g for g in state.gates if g.kind == GateKind.go_live)
        assert "Compliance: no blocking findings" in go_live.summary


async def test_forbidden_claim_stops_at_compliance_gate_and_accepting_goes_live(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    async with create_worker(dev_env.client, settings, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue, goal=CLAIM_GOAL)
        gate = await approve_until_gate(handle, GateKind.compliance)
        state = await handle.query(ProjectWorkflow.get_state)
        # Nothing public yet: no go-live gate was asked, no integration ran.
        assert not any(g.kind == GateKind.go_live for g in state.gates)
        assert not state.integrations
        assert "forbidden_claim" in gate.summary and "guaranteed results" in gate.summary.lower()
        assert "index.html" in gate.summary
        assert gate.risk.value == "high"

        await decide(handle, gate, "approve", "Accepted: it is the brand name.")
        state = await approve_until(handle, Phase.operations)
        assert state.launched
        go_live = next(g for g in state.gates if g.kind == GateKind.go_live)
        assert "the CEO accepted" in go_live.summary and "forbidden_claim" in go_live.summary
        with session_scope(settings.database_url) as session:
            rows = session.exec(select(Decision).where(Decision.gate_id == gate.id)).all()
        assert [(r.decision, r.comment) for r in rows] == [("approve", "Accepted: it is the brand name.")]


async def test_revise_sends_findings_to_the_producer_and_checks_again_then_reject_stops(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    async with create_worker(dev_env.client, settings, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue, goal=CLAIM_GOAL)
        first = await approve_until_gate(handle, GateKind.compliance)
        project_id = (await handle.query(ProjectWorkflow.get_state)).project_id
        before = site_versions(settings, project_id)
        await decide(handle, first, "revise", "Drop the guarantee.")
        # The website task is produced again with the findings as guidance, then checked again:
        # the claim is in the goal's product name, so the offline producer keeps it and the gate returns.
        second = await approve_until_gate(handle, GateKind.compliance)
        assert second.id != first.id and second.key == "compliance:1"
        after = site_versions(settings, project_id)
        assert len(after) > len(before) and max(after) > max(before)
        with session_scope(settings.database_url) as session:
            newest = session.exec(
                select(Document)
                .where(Document.project_id == project_id, Document.kind == "deliverable")
                .order_by(col(Document.id).desc())
            ).first()
        assert newest is not None and "Compliance review before go-live" in newest.content

        await decide(handle, second, "reject", "Not with that name.")
        state = await wait_for(handle, lambda s: s.status == Status.completed, what="the project ends")
        assert not state.launched
        assert not state.integrations
        assert not any(g.kind == GateKind.go_live for g in state.gates)
