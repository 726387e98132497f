"""Compliance before anything public: launch checks the public deliverables before the go-live
gate; blocking findings open a `compliance` gate (accept, revise, reject). Real worker, the
time-skipping server, the offline provider (the claim comes from the goal's quoted product name,
so the offline producer keeps writing it: a revision re-produces the site and the gate returns)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlmodel import col, select
from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from boardroom.settings import Settings
from domain.enums import GateKind, Phase, Status
from domain.gates import GateView
from domain.launch import ComplianceInput, ComplianceReport
from domain.project import Policy, ProjectState
from store.db import session_scope
from store.tables import Decision, Document
from tests.workflows.helpers import (
    WAIT_S,
    activity_names,
    approve_until,
    cancel_and_wait,
    decide,
    history_events,
    next_gate,
    pending,
    start_project,
    wait_for,
)
from workers.worker import activities, create_worker, workflow_runner, workflows
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


async def scheduled(client: Client, workflow_id: str, *names: str) -> list[int]:
    """How often the project's run has scheduled each activity so far (launch's included)."""
    done = activity_names(await history_events(client, workflow_id))
    return [done.count(name) for name in names]


async def test_improvements_are_checked_before_they_are_published(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    """Operations: a review's passed improvements go through the same compliance review before
    the site and the repository are published again; reject publishes nothing, approve publishes."""
    # Real time on the dev server (no clock to skip): a review every few seconds.
    interval = 3
    policy = Policy(pass_threshold=0, max_rounds=1, review_interval_s=interval)
    client = dev_env.client
    async with create_worker(client, settings, task_queue=task_queue):
        handle = await start_project(client, task_queue, goal=CLAIM_GOAL, policy=policy)
        # Launch: the CEO accepts the brand name's claim once, at go-live.
        await decide(handle, await approve_until_gate(handle, GateKind.compliance), "approve", "The brand name.")
        state = await approve_until(handle, Phase.operations)
        assert state.launched

        # Review 1: its improvement repeats the claim, so a compliance gate opens before publishing.
        first = await next_gate(handle, "compliance")
        assert first.requester_workflow_id == f"{handle.id}/review-1"
        # Launch checked and published once each; review 1 has checked and waits.
        so_far = await scheduled(client, handle.id, "compliance_review", "finalize_site", "publish_github")
        assert so_far == [2, 1, 1]
        assert first.title == "Compliance findings before publishing the improvements of review 1"
        assert "forbidden_claim" in first.summary and "reject publishes nothing" in first.summary
        await decide(handle, first, "reject", "Not that wording.")
        state = await wait_for(handle, lambda s: s.reviews_done == 1, what="review 1 ends")
        assert state.review_summaries[-1].endswith("Improvements not published: stopped at the compliance review.")
        # Review 1 checked once and published nothing.
        assert await scheduled(client, handle.id, "compliance_review", "finalize_site", "publish_github") == [2, 1, 1]

        # Review 2: accepted, the improvement is published with the site and the repository.
        second = await next_gate(handle, "compliance")
        assert second.requester_workflow_id == f"{handle.id}/review-2"
        await decide(handle, second, "approve", "Accepted for this campaign.")
        state = await wait_for(handle, lambda s: s.reviews_done == 2, what="review 2 ends")
        summary = state.review_summaries[-1]
        assert "Compliance: the CEO accepted" in summary and "Published 1 improvement(s): site done" in summary
        # Review 2 published the site and the repository once each.
        assert await scheduled(client, handle.id, "finalize_site", "publish_github") == [2, 2]
        with session_scope(settings.database_url) as session:
            decided = session.exec(select(Decision).where(Decision.gate_id == second.id)).one()
        assert (decided.decision, decided.comment) == ("approve", "Accepted for this campaign.")
        await cancel_and_wait(handle)


async def test_clean_improvements_are_published_without_a_gate(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    # Real time on the dev server (no clock to skip): a review every few seconds.
    interval = 3
    policy = Policy(pass_threshold=0, max_rounds=1, review_interval_s=interval)
    async with create_worker(dev_env.client, settings, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue, policy=policy)
        launched = {i.name: i for i in (await approve_until(handle, Phase.operations)).integrations}
        launched_at = launched["site"].at
        assert launched["site"].status == "done" and launched_at is not None
        assert all(i.at == launched_at for i in launched.values())
        state = await wait_for(handle, lambda s: s.reviews_done == 1, what="review 1 ends")
        assert GateKind.compliance not in [g.kind for g in state.gates]
        summary = state.review_summaries[-1]
        assert "Compliance: no blocking findings" in summary and "Published 1 improvement(s)" in summary

        # The project's integrations show the site and the repository as the review published
        # them (newer than launch's); launch's other integrations stay as they were.
        now = {i.name: i for i in state.integrations}
        assert set(now) == set(launched), "launch's other integrations stay"
        published = {name for name, view in now.items() if view.at != launched_at}
        assert published == {"site", "github"}
        for name in published:
            at = now[name].at
            assert now[name].status in ("done", "local"), now[name]
            assert at is not None and at > launched_at + timedelta(seconds=interval), (at, launched_at)
        for name in set(launched) - published:
            assert now[name] == launched[name]
        await cancel_and_wait(handle)


def failing_in_reviews(settings: Settings) -> list[Callable[..., Any]]:
    """The worker's activities, with a compliance review that fails for good (as one out of
    retries does) when an operations review calls it; launch's (the first call, clean: no
    gate) still runs the real one."""
    real = {fn.__temporal_activity_definition.name: fn for fn in activities(settings)}  # type: ignore[attr-defined]
    review = real.pop("compliance_review")
    calls: list[ComplianceInput] = []

    @activity.defn(name="compliance_review")
    async def compliance_review(data: ComplianceInput) -> ComplianceReport:
        calls.append(data)
        if len(calls) > 1:
            raise ApplicationError("the reviewer is unreachable", non_retryable=True)
        result: ComplianceReport = await review(data)
        return result

    return [*real.values(), compliance_review]


async def test_a_failed_compliance_review_leaves_operations_running(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    """A compliance review that fails in an operations review publishes nothing and says so in
    the review's summary; the project stays live in operations instead of ending as failed."""
    # Real time on the dev server (no clock to skip): a review every few seconds.
    interval = 3
    policy = Policy(pass_threshold=0, max_rounds=1, review_interval_s=interval)
    client = dev_env.client
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=workflows(),
        workflow_runner=workflow_runner(),
        activities=failing_in_reviews(settings),
    )
    async with worker:
        handle = await start_project(client, task_queue, policy=policy)
        assert (await approve_until(handle, Phase.operations)).launched
        state = await wait_for(handle, lambda s: s.reviews_done == 1, what="review 1 ends")
        assert (state.status, state.phase) == (Status.running, Phase.operations)
        summary = state.review_summaries[-1]
        assert summary.endswith(
            "Improvements not published: the compliance review failed (the reviewer is unreachable)."
        ), summary
        # Launch's review and review 1's (failed) one; nothing published after launch's.
        assert await scheduled(client, handle.id, "compliance_review", "finalize_site", "publish_github") == [2, 1, 1]
        await cancel_and_wait(handle)
