"""Phase notices: at each phase change the project posts a short Slack message with the link to
its page, through the `notify_slack` activity — against the fake Slack Web API (slack-sdk runs
unmodified), on a real worker. Without Slack the notice is recorded as skipped; a Slack that
refuses never stops the project."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from boardroom.settings import Settings
from domain.enums import AutoApprove, Phase, Status
from domain.launch import IntegrationResult
from domain.project import Policy, ProjectState
from tests.fakes.slack_server import FakeSlack
from tests.workflows.helpers import WAIT_S, approve_until, cancel_and_wait, decide, next_gate, start_project, wait_for
from workers.worker import create_worker
from workflows.patches import BASELINE, taken
from workflows.project import PATCH_PHASE_NOTICE, ProjectWorkflow

Handle = WorkflowHandle[ProjectWorkflow, ProjectState]

PUBLIC_URL = "https://boardroom.example.com"
CHANNEL = "#launches"
NOTICE = re.compile(r"^\*(discovery|execution|launch|operations|completed)\* · ")
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def slack_settings(settings: Settings, fake_slack: FakeSlack) -> Settings:
    return settings.model_copy(
        update={
            "slack_bot_token": fake_slack.token,
            "slack_api_url": fake_slack.api_url,
            "slack_channel": CHANNEL,
            "public_url": PUBLIC_URL + "/",
        }
    )


def notices(fake_slack: FakeSlack) -> list[dict[str, Any]]:
    """The phase notices among everything posted (gate messages and the launch announcement too)."""
    return [m for m in fake_slack.messages if NOTICE.match(str(m.get("text", "")))]


def phase_of(message: dict[str, Any]) -> str:
    match = NOTICE.match(str(message["text"]))
    assert match is not None
    return match.group(1)


async def wait_notices(fake_slack: FakeSlack, count: int, timeout: float = WAIT_S) -> list[dict[str, Any]]:
    """The notices are posted in the background: poll for them with a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(notices(fake_slack)) < count:
        assert loop.time() < deadline, f"expected {count} phase notices; got {notices(fake_slack)}"
        await asyncio.sleep(0.05)
    return notices(fake_slack)


async def notice_activities(handle: Handle, converter: DataConverter) -> tuple[list[IntegrationResult], int, set[str]]:
    """From the project's history: the notify_slack results, its failures, and the patch markers."""
    history = await handle.fetch_history()
    scheduled: dict[int, str] = {}
    results: list[IntegrationResult] = []
    failed = 0
    patches: set[str] = set()
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            attrs = event.activity_task_completed_event_attributes
            if scheduled.get(attrs.scheduled_event_id) == "notify_slack":
                [result] = await converter.decode(attrs.result.payloads, [IntegrationResult])
                results.append(result)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            if scheduled.get(event.activity_task_failed_event_attributes.scheduled_event_id) == "notify_slack":
                failed += 1
        elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            details = event.marker_recorded_event_attributes.details
            if "patch-data" in details:
                [data] = await converter.decode(details["patch-data"].payloads, [dict])
                patches.add(data["id"])
    return results, failed, patches


async def test_each_phase_change_posts_a_notice_with_the_project_link(
    dev_env: WorkflowEnvironment, slack_settings: Settings, fake_slack: FakeSlack, task_queue: str
) -> None:
    async with create_worker(dev_env.client, slack_settings, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue, policy=Policy(auto_approve=AutoApprove.all))
        state = await wait_for(handle, lambda s: s.phase == Phase.operations, what="operations")
        posted = await wait_notices(fake_slack, 4)
        assert [phase_of(m) for m in posted] == ["discovery", "execution", "launch", "operations"]
        link = f"{PUBLIC_URL}/projects/{state.project_id}/view"
        for message in posted:
            assert message["channel"] == CHANNEL
            text = str(message["text"])
            assert text.startswith(f"*{phase_of(message)}* · Test project: ")
            assert text.endswith(f"\n<{link}>")
            assert len(text) < 400, "a short message"
        planned = len(state.plan.tasks) if state.plan else 0
        assert f"({planned} tasks)" in posted[1]["text"]
        # The launch announcement is its own message, not a phase notice.
        assert any(str(m["text"]).startswith(":rocket:") for m in fake_slack.messages)
        await cancel_and_wait(handle)
        # One notice per phase change: cancelling is not one, and nothing was posted twice.
        assert len(notices(fake_slack)) == 4


async def test_the_last_notice_is_posted_before_the_project_ends(
    dev_env: WorkflowEnvironment, slack_settings: Settings, fake_slack: FakeSlack, task_queue: str
) -> None:
    async with create_worker(dev_env.client, slack_settings, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue, policy=Policy(auto_approve=AutoApprove.medium))
        await approve_until(handle, Phase.launch)
        await decide(handle, await next_gate(handle, "go_live"), "reject")
        final = await asyncio.wait_for(handle.result(), timeout=WAIT_S)
        assert (final.phase, final.status) == (Phase.completed, Status.completed)
        # The project drains its background work before it ends: no polling needed here.
        posted = notices(fake_slack)
        assert [phase_of(m) for m in posted] == ["discovery", "execution", "launch", "completed"]
        assert "the project is complete: go-live was not approved" in posted[-1]["text"]


async def test_without_slack_each_notice_is_recorded_as_skipped(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    assert settings.slack_bot_token is None
    async with create_worker(dev_env.client, settings, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue, policy=Policy(auto_approve=AutoApprove.all))
        await wait_for(handle, lambda s: s.phase == Phase.operations, what="operations")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        results, failed, patches = await notice_activities(handle, dev_env.client.data_converter)
        while len(results) < 4:
            assert loop.time() < deadline, f"four notice results in the history; got {results}"
            await asyncio.sleep(0.1)
            results, failed, patches = await notice_activities(handle, dev_env.client.data_converter)
        assert failed == 0
        assert [(r.name, r.status, r.reason) for r in results] == [
            ("slack", "skipped", "SLACK_BOT_TOKEN is not set")
        ] * 4
        # The patched path, under the one marker a new run records (workflows/patches.py).
        assert patches == {BASELINE} and taken(patches, PATCH_PHASE_NOTICE)
        await cancel_and_wait(handle)


async def test_a_refusing_slack_never_stops_the_project(
    dev_env: WorkflowEnvironment, slack_settings: Settings, fake_slack: FakeSlack, task_queue: str
) -> None:
    wrong = slack_settings.model_copy(update={"slack_bot_token": "xoxb-revoked"})
    async with create_worker(dev_env.client, wrong, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue)
        # invalid_auth is not retried: the discovery notice fails at once, the project asks on.
        await decide(handle, await next_gate(handle, "interview"))
        await decide(handle, await next_gate(handle, "plan"))
        await wait_for(handle, lambda s: s.phase == Phase.execution, what="execution")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        _, failed, _ = await notice_activities(handle, dev_env.client.data_converter)
        while failed < 2:
            assert loop.time() < deadline, f"two failed notices in the history; got {failed}"
            await asyncio.sleep(0.1)
            _, failed, _ = await notice_activities(handle, dev_env.client.data_converter)
        assert fake_slack.messages == []
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        state = await wait_for(handle, lambda s: s.phase == Phase.execution, what="execution")
        assert state.status in (Status.running, Status.waiting_approval) and state.error is None
        await cancel_and_wait(handle)
