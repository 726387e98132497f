"""The lifecycle engine end to end, on the time-skipping server and the real dev server,
with the offline agent provider (deterministic, no network)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.testing import WorkflowEnvironment

from boardroom.settings import Settings
from domain.enums import AutoApprove, Channel, GateStatus, Phase, Status, TaskStatus
from domain.gates import DecisionResult, GateDecision
from domain.project import BusinessEvent, Policy, SteerInstruction
from store.db import session_scope
from store.tables import Decision, Gate
from tests.waiting import eventually
from tests.workflows.helpers import approve_until, cancel_and_wait, decide, next_gate, start_project, wait_for
from workers.worker import create_worker
from workflows.project import ProjectWorkflow


def decision_rows(settings: Settings, gate_id: str) -> list[Decision]:
    with session_scope(settings.database_url) as session:
        return list(session.exec(select(Decision).where(Decision.gate_id == gate_id)).all())


async def test_whole_lifecycle_then_business_event(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    async with create_worker(dev_env.client, settings, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue)
        state = await approve_until(handle, Phase.operations)
        assert [m.phase for m in state.timeline] == [
            Phase.discovery,
            Phase.execution,
            Phase.launch,
            Phase.operations,
        ]
        planned = [t for t in state.tasks if not t.id.startswith("launch-")]
        assert len(planned) >= 6
        assert all(t.status in (TaskStatus.passed, TaskStatus.accepted) for t in planned)
        # The offline rubric checks each deliverable; the planned work meets it (no hash-chosen failures).
        assert all(t.qa_score is not None and 8.0 <= t.qa_score <= 9.0 for t in planned)
        assert state.answers, "the interview answers reached the project"
        # No credentials in tests: Stripe and Slack are skipped with their reason; the deliverables
        # and the site go to a local git repository; the site is stored with payments not live.
        by_name = {i.name: i for i in state.integrations}
        assert set(by_name) == {"github", "stripe", "site", "slack"}
        assert all(by_name[n].status == "skipped" and by_name[n].reason for n in ("stripe", "slack"))
        assert by_name["github"].status == "local" and "git clone" in by_name["github"].reason
        assert by_name["site"].url and by_name["site"].url.endswith(f"/projects/{state.project_id}/site/")

        await handle.signal(
            ProjectWorkflow.business_event,
            BusinessEvent(id="evt_1", source="stripe", kind="payment", amount_usd=42.5),
        )
        # The same event again is counted once.
        await handle.signal(
            ProjectWorkflow.business_event,
            BusinessEvent(id="evt_1", source="stripe", kind="payment", amount_usd=42.5),
        )
        state = await wait_for(handle, lambda s: s.kpis.events >= 1, what="the payment")
        assert state.kpis.revenue_usd == 42.5
        assert state.kpis.orders == 1
        # Webhooks arrive in any order: a closing before its opening leaves nothing open.
        for event_id, kind in (("gh-2", "issue_closed"), ("gh-1", "issue_opened"), ("gh-3", "issue_opened")):
            await handle.signal(
                ProjectWorkflow.business_event,
                BusinessEvent(id=event_id, source="github", kind=kind),  # type: ignore[arg-type]
            )
        state = await wait_for(handle, lambda s: s.kpis.events >= 4, what="the issue events")
        assert state.kpis.open_issues == 1

        # Every decision is in the audit log (written after `decide` answers: wait for it).
        decided = len([g for g in state.gates if g.status != GateStatus.pending])

        def audit_rows() -> list[Decision] | None:
            with session_scope(settings.database_url) as session:
                rows = session.exec(select(Decision).where(Decision.project_id == state.project_id)).all()
            return list(rows) if len(rows) >= decided else None

        assert len(await eventually(audit_rows, f"{decided} decision records")) == decided

        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
        assert isinstance(info.value.cause, CancelledError)
        final = await handle.query(ProjectWorkflow.get_state)
        assert final.status == Status.cancelled


async def test_plan_rejection_with_feedback_replans(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    async with create_worker(dev_env.client, settings, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue)
        await decide(handle, await next_gate(handle, "interview"))
        first = await next_gate(handle, "plan")
        # The plan under decision is on the project already (board and approval page show it).
        shown = await wait_for(handle, lambda s: s.plan is not None, what="the plan to show")
        assert shown.plan_revision == 0 and len(shown.tasks) >= 6
        assert all(t.status == TaskStatus.pending for t in shown.tasks)
        before = shown.gates
        await decide(handle, first, "reject", comment="Focus on corporate gift buyers, not retail")
        second = await next_gate(handle, "plan")
        assert second.id != first.id and "revision 1" in second.title
        revised = await wait_for(handle, lambda s: s.plan_revision == 1, what="revision 1 to show")
        assert "corporate gift" in revised.plan.model_dump_json().lower()  # type: ignore[union-attr]
        await decide(handle, second, "approve")
        state = await wait_for(handle, lambda s: s.phase != Phase.discovery, what="execution")
        assert state.plan_revision == 1
        assert state.plan is not None
        assert "corporate gift" in state.plan.model_dump_json().lower()
        assert len(state.gates) > len(before)
        await cancel_and_wait(handle)


async def test_escalation_answers_do_what_they_say(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    # Offline QA never scores above 9: with a 9.5 threshold no task passes QA.
    policy = Policy(pass_threshold=9.5, max_rounds=2, auto_approve=AutoApprove.low)
    async with create_worker(dev_env.client, settings, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue, policy=policy)
        await decide(handle, await next_gate(handle, "plan"))
        answers = ["approve", "reject", "revise"]
        seen: dict[str, str] = {}
        while len(seen) < 3:
            gate = await next_gate(handle, "escalation")
            answer = answers[len(seen)]
            seen[gate.task_id or ""] = answer
            await decide(handle, gate, answer, comment="Be concrete: list three prices.")
        # The task sent back with guidance gets more rounds, then escalates again.
        revised_task = next(t for t, a in seen.items() if a == "revise")
        again = await next_gate(handle, "escalation")
        while again.task_id != revised_task:
            await decide(handle, again, "approve")
            again = await next_gate(handle, "escalation")
        await decide(handle, again, "approve")
        state = await wait_for(
            handle,
            lambda s: all(
                t.status not in (TaskStatus.running, TaskStatus.waiting_approval) for t in s.tasks if t.id in seen
            ),
            what="the escalated tasks to settle",
        )
        by_id = {t.id: t for t in state.tasks}
        accepted = next(t for t, a in seen.items() if a == "approve")
        dropped = next(t for t, a in seen.items() if a == "reject")
        assert by_id[accepted].status == TaskStatus.accepted
        assert by_id[dropped].status == TaskStatus.dropped
        assert by_id[revised_task].status == TaskStatus.accepted
        assert by_id[revised_task].rounds == 2 * policy.max_rounds
        await cancel_and_wait(handle)


async def test_gate_expiry_takes_policy_default_after_reminder(
    time_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    policy = Policy(gate_reminder_s=3600, gate_expiry_s=7200)
    async with create_worker(time_env.client, settings, task_queue=task_queue):
        handle = await start_project(time_env.client, task_queue, policy=policy)
        gate = await next_gate(handle, "interview")
        await time_env.sleep(timedelta(hours=3))
        state = await wait_for(
            handle, lambda s: s.gates[0].status != GateStatus.pending, what="the interview gate to expire"
        )
        expired = state.gates[0]
        assert expired.id == gate.id
        assert expired.reminders == 1
        assert expired.channel == Channel.expiry
        assert expired.status == GateStatus.approved  # low risk → approve on expiry

        def expired_row() -> Gate | None:
            with session_scope(settings.database_url) as session:
                row = session.get(Gate, gate.id)
            return row if row is not None and row.channel == "expiry" else None

        row = await eventually(expired_row, "the expired gate's row")
        assert row.reminders == 1 and row.status == "approved"
        await cancel_and_wait(handle)


async def test_steer_revises_the_remaining_plan(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    # auto-approve low/medium: the high-risk deliverable gate holds execution open.
    policy = Policy(auto_approve=AutoApprove.medium)
    async with create_worker(dev_env.client, settings, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue, policy=policy)
        await decide(handle, await next_gate(handle, "plan"))
        held = await next_gate(handle, "deliverable")
        before = await handle.query(ProjectWorkflow.get_state)
        await handle.signal(ProjectWorkflow.steer, SteerInstruction(instruction="Add a wholesale offer for cafes"))
        state = await wait_for(handle, lambda s: s.plan_revision > before.plan_revision, what="the re-plan")
        assert state.steering == ["Add a wholesale offer for cafes"]
        new_ids = {t.id for t in state.tasks} - {t.id for t in before.tasks}
        assert new_ids, "the revised plan adds work for the instruction"
        assert "wholesale" in state.model_dump_json().lower()
        await decide(handle, held, "approve")
        await cancel_and_wait(handle)


async def test_tasks_run_concurrently_along_the_dependency_graph(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    policy = Policy(auto_approve=AutoApprove.all)
    async with create_worker(dev_env.client, settings, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue, policy=policy)
        state = await wait_for(handle, lambda s: s.phase == Phase.operations, what="operations")
        assert state.plan is not None
        tasks = {t.id: t for t in state.tasks}
        spec = {t.id: t for t in state.plan.tasks}

        def ancestors(task_id: str) -> set[str]:
            seen: set[str] = set()
            stack = list(spec[task_id].depends_on)
            while stack:
                d = stack.pop()
                if d not in seen:
                    seen.add(d)
                    stack += spec[d].depends_on
            return seen

        independent = [(a, b) for a in spec for b in spec if a < b and a not in ancestors(b) and b not in ancestors(a)]
        assert independent, "the plan has independent tasks"

        def overlap(a: str, b: str) -> bool:
            ta, tb = tasks[a], tasks[b]
            assert ta.started_at and ta.finished_at and tb.started_at and tb.finished_at
            return ta.started_at < tb.finished_at and tb.started_at < ta.finished_at

        assert any(overlap(a, b) for a, b in independent), "independent tasks ran at the same time"
        # Dependencies are respected: nothing starts before what it depends on finished.
        for t in spec.values():
            for d in t.depends_on:
                assert tasks[d].finished_at <= tasks[t.id].started_at  # type: ignore[operator]
        await cancel_and_wait(handle)


async def test_update_validator_rejects_before_anything_is_written(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    policy = Policy(approvers=["ceo@example.com"])
    async with create_worker(dev_env.client, settings, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue, policy=policy)
        gate = await next_gate(handle, "interview")

        async def reject_reason(decision: GateDecision) -> str:
            with pytest.raises(WorkflowUpdateFailedError) as info:
                await handle.execute_update(ProjectWorkflow.decide, decision)  # type: ignore[unused-coroutine]
            cause = info.value.cause
            assert isinstance(cause, ApplicationError)
            return cause.type or ""

        assert await reject_reason(GateDecision(gate_id="nope-g99", decision="approve")) == "UnknownGate"
        wrong = GateDecision(gate_id=gate.id, decision="approve", approver="intruder", channel=Channel.api)
        assert await reject_reason(wrong) == "ApproverNotAllowed"
        ok = GateDecision(gate_id=gate.id, decision="approve", approver="ceo@example.com", channel=Channel.api)
        result: DecisionResult = await handle.execute_update(ProjectWorkflow.decide, ok)  # type: ignore[assignment,arg-type]
        assert result.status == GateStatus.approved and result.decided_by == "ceo@example.com"
        assert await reject_reason(ok) == "AlreadyDecided"

        history = await handle.fetch_history()
        accepted_type = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        accepted = [e for e in history.events if e.event_type == accepted_type]
        assert len(accepted) == 1, "rejected updates leave no trace in the history"
        # The audit record is written after the update answered: wait for it, then check it is the only one.
        rows = await eventually(lambda: decision_rows(settings, gate.id) or None, "the decision record")
        assert [r.approver for r in rows] == ["ceo@example.com"]
        await cancel_and_wait(handle)


async def test_concurrent_decisions_exactly_one_wins(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    async with create_worker(dev_env.client, settings, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue)
        gate = await next_gate(handle, "interview")
        attempts = [
            handle.execute_update(
                ProjectWorkflow.decide,
                GateDecision(gate_id=gate.id, decision="approve", approver=f"ceo-{i}", channel=Channel.api),
            )
            for i in range(10)
        ]
        results = await asyncio.gather(*attempts, return_exceptions=True)
        wins = [r for r in results if not isinstance(r, BaseException)]
        losses = [r for r in results if isinstance(r, WorkflowUpdateFailedError)]
        assert len(wins) == 1 and len(losses) == 9
        assert all(isinstance(e.cause, ApplicationError) and e.cause.type == "AlreadyDecided" for e in losses)
        # Only the winner's follow-up writes a record; it is written after its update answered.
        rows = await eventually(lambda: decision_rows(settings, gate.id) or None, "the winning decision record")
        assert len(rows) == 1 and rows[0].approver == wins[0].decided_by  # type: ignore[union-attr,attr-defined]
        await cancel_and_wait(handle)
