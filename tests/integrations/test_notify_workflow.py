"""Gate notices from a real project on the dev server: email and the signed webhook go out for the
gate and for its reminder; Temporal retries a failing receiver; a dead one never fails the project;
with nothing configured the workflow schedules nothing new."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from approvals.tokens import verify
from approvals.webhook_signing import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from boardroom.settings import Settings
from domain.enums import Phase, Status
from domain.project import Policy, ProjectState
from tests.fakes.smtp_server import FakeSMTP
from tests.fakes.webhook_receiver import FakeReceiver
from tests.workflows.helpers import activity_names, cancel_and_wait, decide, next_gate, start_project, wait_for
from workers.worker import create_worker
from workflows.patches import BASELINE, taken
from workflows.project import PATCH_GATE_NOTIFY, ProjectWorkflow

pytestmark = pytest.mark.timeout(180)
SECRET = "whsec-project-test"
PUBLIC = "https://boardroom.example.com"


@pytest.fixture
def smtp() -> Iterator[FakeSMTP]:
    yield from FakeSMTP.running()


@pytest.fixture
def receiver() -> Iterator[FakeReceiver]:
    yield from FakeReceiver.running(secret=SECRET)


def wired(
    settings: Settings, smtp: FakeSMTP | None, receiver: FakeReceiver | None, channels: dict[str, list[str]]
) -> Settings:
    update: dict[str, object] = {"public_url": PUBLIC, "notify_channels": json.dumps(channels)}
    if smtp is not None:
        update |= {
            "smtp_host": smtp.host,
            "smtp_port": smtp.port,
            "smtp_starttls": False,
            "email_to": "ceo@example.com",
        }
    if receiver is not None:
        update |= {"notify_webhook_url": receiver.url, "notify_webhook_secret": SECRET}
    return settings.model_copy(update=update)


async def events(handle: WorkflowHandle[ProjectWorkflow, ProjectState]) -> list[HistoryEvent]:
    return list((await handle.fetch_history()).events)


def patches(history: list[HistoryEvent]) -> set[str]:
    found = set()
    for e in history:
        if (
            e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
            and "patch-data" in e.marker_recorded_event_attributes.details
        ):
            for payload in e.marker_recorded_event_attributes.details["patch-data"].payloads:
                found.add(json.loads(payload.data)["id"])
    return found


async def until(predicate: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def link_in(text: str) -> str:
    start = text.index(f"{PUBLIC}/a/v1.")
    return text[start:].split()[0]


async def test_a_gate_and_its_reminder_go_out_by_email_and_signed_webhook(
    dev_env: WorkflowEnvironment, settings: Settings, smtp: FakeSMTP, receiver: FakeReceiver, task_queue: str
) -> None:
    # the interview gate is low risk: email and webhook for it, Slack (not configured) left out
    config = wired(settings, smtp, receiver, {"low": ["email", "webhook"]})
    async with create_worker(dev_env.client, config, task_queue=task_queue):
        handle = await start_project(
            dev_env.client,
            task_queue,
            goal=f"Sell ceramic mugs {uuid.uuid4().hex[:6]}",
            policy=Policy(gate_reminder_s=1.0, gate_expiry_s=600.0),
        )
        try:
            gate = await next_gate(handle, "interview")
            await until(lambda: len(smtp.messages) >= 2 and len(receiver.accepted) >= 2, "the gate and its reminder")
            first, reminder = smtp.messages
            assert first.message["Subject"] == f"Decision needed: {gate.title} (Test project)"
            assert reminder.message["Subject"] == f"Reminder: decision needed: {gate.title} (Test project)"
            url = link_in(first.part("plain"))
            assert link_in(reminder.part("plain")) == url
            claims = verify(config.secret_key, url.rsplit("/", 1)[1], datetime.now(UTC), gate.id)
            assert claims.gate_id == gate.id

            assert receiver.refused == []
            assert receiver.deliveries() == [f"{gate.id}.opened", f"{gate.id}.reminder-1"]
            for req in receiver.accepted:
                ts = req.header(TIMESTAMP_HEADER)
                assert ts is not None and req.header(SIGNATURE_HEADER) == signature(SECRET, ts, req.body)
            opened, again = receiver.payloads()
            assert (opened["event"], again["event"]) == ("gate.opened", "gate.reminder")
            assert opened["approve_url"] == url and opened["project"]["name"] == "Test project"
            assert [q["id"] for q in opened["gate"]["questions"]] == [q.id for q in gate.questions]

            # recorded as its own activities, behind the patch; the link never enters the history
            history = await events(handle)
            assert patches(history) == {BASELINE} and taken(patches(history), PATCH_GATE_NOTIFY)
            assert (
                activity_names(history).count("notify_email") == 2
                and activity_names(history).count("notify_webhook") == 2
            )
            assert url.rsplit("/", 1)[1] not in (await handle.fetch_history()).to_json()

            # deciding goes on as before; the plan gate (medium or high risk) is not listed, so it
            # goes to every configured channel
            await decide(handle, gate)
            plan = await next_gate(handle, "plan")
            await until(
                lambda: any(
                    m.message["Message-ID"] == f"<{plan.id}.opened@boardroom.example.com>" for m in smtp.messages
                ),
                "the plan email",
            )
            await until(lambda: f"{plan.id}.opened" in receiver.deliveries(), "the plan webhook")
        finally:
            await cancel_and_wait(handle)


async def test_a_failing_receiver_is_retried_by_temporal_and_delivered_once(
    dev_env: WorkflowEnvironment, settings: Settings, receiver: FakeReceiver, task_queue: str
) -> None:
    config = wired(settings, None, receiver, {"low": ["webhook"]})
    receiver.fail_next(503, times=2)
    async with create_worker(dev_env.client, config, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue, goal=f"Sell teapots {uuid.uuid4().hex[:6]}")
        try:
            gate = await next_gate(handle, "interview")
            await until(lambda: len(receiver.accepted) == 1, "the delivery after two failures")
            attempts = receiver.calls("POST")
            assert len(attempts) == 3 and len(receiver.accepted) == 1
            # every attempt is the same delivery, each signed afresh
            assert {r.header(DELIVERY_HEADER) for r in attempts} == {f"{gate.id}.opened"}
            assert all(r.body == attempts[0].body for r in attempts)
            history = await events(handle)
            started = [
                e.activity_task_started_event_attributes.attempt
                for e in history
                if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
            ]
            assert 3 in started  # Temporal's third attempt delivered it
            state = await handle.query(ProjectWorkflow.get_state)
            assert state.status == Status.waiting_approval
        finally:
            await cancel_and_wait(handle)


async def test_a_receiver_that_refuses_never_fails_the_project(
    dev_env: WorkflowEnvironment, settings: Settings, receiver: FakeReceiver, task_queue: str
) -> None:
    config = wired(settings, None, receiver, {})
    receiver.fail_next(410, times=50)  # gone for good: not retried
    async with create_worker(dev_env.client, config, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue, goal=f"Sell kettles {uuid.uuid4().hex[:6]}")
        try:
            gate = await next_gate(handle, "interview")
            await until(lambda: len(receiver.calls("POST")) >= 1, "the refused delivery")
            await decide(handle, gate)
            state = await wait_for(handle, lambda s: any(g.kind.value == "plan" for g in s.gates), what="the plan gate")
            assert state.status in (Status.running, Status.waiting_approval) and state.phase == Phase.discovery
            await until(lambda: len(receiver.calls("POST")) >= 2, "the plan gate's refused delivery")
            history = await events(handle)
            failed = [e for e in history if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED]
            assert failed and all(
                e.activity_task_failed_event_attributes.failure.application_failure_info.non_retryable for e in failed
            )
            assert len(receiver.calls("POST")) == 2  # one attempt per gate, no retries
            assert receiver.accepted == []
        finally:
            await cancel_and_wait(handle)


async def test_with_no_channel_configured_the_workflow_schedules_nothing_new(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    async with create_worker(dev_env.client, settings, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue, goal=f"Sell spoons {uuid.uuid4().hex[:6]}")
        try:
            await next_gate(handle, "interview")
            history = await events(handle)
            # The gate was stored (a local activity: a store write), and nothing else was asked.
            assert "open_gate" in activity_names(history)
            assert not {"notify_email", "notify_webhook"} & set(activity_names(history))
        finally:
            await cancel_and_wait(handle)
