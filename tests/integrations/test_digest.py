"""The daily digest on the dev server: the Temporal Schedule exists and keeps to the settings, and
one run sends exactly one message per channel listing the pending gates with their signed links
(to a real local SMTP server, the signed-webhook receiver and the fake Slack); with nothing
pending nothing is sent; `boardroom digest --now` triggers it from the command line."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import ScheduleActionStartWorkflow, ScheduleOverlapPolicy, ScheduleRange
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from approvals.tokens import verify
from boardroom.devstack import DevStackConfig
from boardroom.settings import Settings
from domain.errors import ConfigError
from store.db import session_scope
from store.tables import Gate, Project
from tests.fakes.slack_server import FakeSlack
from tests.fakes.smtp_server import FakeSMTP
from tests.fakes.webhook_receiver import FakeReceiver
from workers.schedules import as_cron, describe_digest, digest_schedule_id, ensure_digest_schedule, run_digest_now
from workers.worker import create_worker
from workflows.digest import DigestResult
from workflows.ids import gate_id, project_workflow_id
from workflows.notices import NotifyChannel

pytestmark = pytest.mark.timeout(180)
SECRET = "whsec-digest-test"
PUBLIC = "https://boardroom.example.com"
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def smtp() -> Iterator[FakeSMTP]:
    yield from FakeSMTP.running()


@pytest.fixture
def receiver() -> Iterator[FakeReceiver]:
    yield from FakeReceiver.running(secret=SECRET)


@pytest.fixture
def config(settings: Settings, smtp: FakeSMTP, receiver: FakeReceiver, fake_slack: FakeSlack) -> Settings:
    return settings.model_copy(
        update={
            "public_url": PUBLIC,
            "smtp_host": smtp.host,
            "smtp_port": smtp.port,
            "smtp_starttls": False,
            "email_to": "ceo@example.com",
            "notify_webhook_url": receiver.url,
            "notify_webhook_secret": SECRET,
            "slack_bot_token": fake_slack.token,
            "slack_api_url": fake_slack.api_url,
            "slack_channel": "#launches",
        }
    )


def seed(db_url: str) -> list[Gate]:
    """Two projects: a running one with two pending gates and a decided one, and a cancelled one
    whose gate was left pending (not the CEO's business any more)."""
    rows: list[Gate] = []
    with session_scope(db_url) as s:
        for pid, name, status in (
            ("p-digest0001", "Mugs & <Co>", "waiting_approval"),
            ("p-digest0002", "Old", "cancelled"),
        ):
            s.add(Project(id=pid, name=name, goal="g", workflow_id=project_workflow_id(pid), status=status))
        specs = [
            ("p-digest0001", 1, "Answer a few questions", "interview", "low", "pending", 3),
            ("p-digest0001", 2, "Approve the plan", "plan", "high", "pending", 2),
            ("p-digest0001", 3, "Approve the logo", "deliverable", "medium", "approved", 1),
            ("p-digest0002", 1, "Approve the go-live", "go_live", "high", "pending", 1),
        ]
        for pid, seq, title, kind, risk, status, hours in specs:
            gate = Gate(
                id=gate_id(pid, seq),
                project_id=pid,
                workflow_id=project_workflow_id(pid),
                kind=kind,
                title=title,
                risk=risk,
                status=status,
                created_at=NOW - timedelta(hours=hours),
            )
            s.add(gate)
            rows.append(gate)
        s.commit()
    return [g for g in rows if g.project_id == "p-digest0001" and g.status == "pending"]


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


async def test_the_schedule_exists_and_one_run_sends_one_message_per_channel(
    dev_env: WorkflowEnvironment,
    config: Settings,
    smtp: FakeSMTP,
    receiver: FakeReceiver,
    fake_slack: FakeSlack,
    task_queue: str,
    db_url: str,
) -> None:
    waiting = seed(db_url)
    client = dev_env.client
    schedule_id = await ensure_digest_schedule(client, config, task_queue)
    assert schedule_id == digest_schedule_id(task_queue) == f"{task_queue}-digest"
    handle = client.get_schedule_handle(schedule_id)
    try:
        described = await handle.describe()
        # the server keeps a cron expression as a calendar: 08:00 every day
        [daily] = described.schedule.spec.calendars
        assert (daily.hour, daily.minute) == ((ScheduleRange(8),), (ScheduleRange(0),))
        assert as_cron(daily) == "0 8 * * *"
        assert described.schedule.spec.time_zone_name == "UTC"
        assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert (action.workflow, action.task_queue) == ("digest", task_queue)
        nxt = described.info.next_action_times[0]
        assert (nxt.hour, nxt.minute) == (8, 0) and nxt > datetime.now(UTC)

        # starting another worker (or the same one again) changes nothing but what the settings say,
        # and a schedule someone paused stays paused
        await handle.pause(note="holiday")
        await ensure_digest_schedule(client, config.model_copy(update={"digest_cron": "30 7 * * 1-5"}), task_queue)
        described = await handle.describe()
        assert [as_cron(c) for c in described.schedule.spec.calendars] == ["30 7 * * 1-5"]
        assert described.schedule.state.paused
        await handle.unpause()
        line = await describe_digest(client, config, task_queue)
        assert line.startswith(f"digest schedule {schedule_id}: 30 7 * * 1-5 UTC; next run ") and "not run yet" in line

        async with create_worker(client, config, task_queue=task_queue):
            result = await run_digest_now(client, config, task_queue)
        assert result == DigestResult(
            pending=2, listed=2, sent=[NotifyChannel.slack, NotifyChannel.email, NotifyChannel.webhook]
        )

        # email: exactly one message, every pending gate with its own signed link, oldest first
        [mail] = smtp.messages
        assert mail.message["Subject"] == "Boardroom digest: 2 decisions waiting for you"
        text = mail.part("plain")
        assert text.index("Answer a few questions") < text.index("Approve the plan")
        assert "Approve the logo" not in text and "Approve the go-live" not in text
        for gate in waiting:
            line = next(ln for ln in text.splitlines() if ln.startswith(f"- [{gate.risk}] {gate.title} — Mugs & <Co>"))
            url = text.splitlines()[text.splitlines().index(line) + 1].strip()
            claims = verify(config.secret_key, token_of(url), datetime.now(UTC), gate.id)
            assert claims.gate_id == gate.id
        assert config.secret_key not in mail.raw.decode() and SECRET not in mail.raw.decode()

        # webhook: one signed delivery listing the same gates
        assert receiver.refused == []
        [payload] = receiver.payloads()
        assert payload["event"] == "digest" and payload["pending"] == 2
        assert [g["gate_id"] for g in payload["gates"]] == [g.id for g in waiting]
        for item in payload["gates"]:
            assert verify(config.secret_key, token_of(item["approve_url"]), datetime.now(UTC), item["gate_id"])
        latest = (await handle.describe()).info.recent_actions[-1].action
        run = (getattr(latest, "workflow_id", None), getattr(latest, "first_execution_run_id", None))
        assert receiver.deliveries() == [f"digest.{run[0]}.{run[1]}"]
        assert str(getattr(latest, "workflow_id", "")).startswith(f"{schedule_id}-run-")

        # Slack: one message with the links, user text escaped
        [post] = fake_slack.messages
        assert post["text"].startswith(":sunrise: *Daily digest:* 2 decisions wait for you.")
        assert "Mugs &amp; &lt;Co&gt;" in post["text"] and "<Co>" not in post["text"]
        for item in payload["gates"]:
            assert f"<{item['approve_url']}|" in post["text"]

        # nothing pending: nothing sent
        with session_scope(db_url) as s:
            for gate in waiting:
                row = s.get(Gate, gate.id)
                assert row is not None
                row.status = "approved"
                s.add(row)
            s.commit()
        async with create_worker(client, config, task_queue=task_queue):
            quiet = await run_digest_now(client, config, task_queue)
        assert quiet == DigestResult(pending=0, listed=0)
        assert len(smtp.messages) == 1 and len(receiver.calls("POST")) == 1 and len(fake_slack.messages) == 1
    finally:
        await ensure_digest_schedule(client, config.model_copy(update={"digest_cron": ""}), task_queue)
    with pytest.raises(RPCError) as gone:
        await handle.describe()
    assert gone.value.status == RPCStatusCode.NOT_FOUND


async def test_a_cron_the_server_refuses_is_a_one_line_config_error(
    dev_env: WorkflowEnvironment, config: Settings, task_queue: str
) -> None:
    bad = config.model_copy(update={"digest_cron": "99 8 * * *"})  # five fields, but no minute 99
    with pytest.raises(ConfigError) as err:
        await ensure_digest_schedule(dev_env.client, bad, task_queue)
    assert str(err.value).startswith(f"the digest schedule {task_queue}-digest could not be set up: ")
    assert "\n" not in str(err.value)
    with pytest.raises(RPCError):
        await dev_env.client.get_schedule_handle(digest_schedule_id(task_queue)).describe()


async def test_a_failing_channel_is_reported_and_the_others_still_go_out(
    dev_env: WorkflowEnvironment, config: Settings, smtp: FakeSMTP, receiver: FakeReceiver, task_queue: str, db_url: str
) -> None:
    seed(db_url)
    only = config.model_copy(update={"notify_channels": '{"digest": ["email", "webhook"]}'})
    receiver.fail_next(403)  # refused: not retried
    await ensure_digest_schedule(dev_env.client, only, task_queue)
    try:
        async with create_worker(dev_env.client, only, task_queue=task_queue):
            result = await run_digest_now(dev_env.client, only, task_queue)
        assert result.sent == [NotifyChannel.email] and result.failed == [NotifyChannel.webhook]
        assert len(smtp.messages) == 1 and receiver.accepted == []
    finally:
        await ensure_digest_schedule(dev_env.client, only.model_copy(update={"digest_cron": ""}), task_queue)


async def test_boardroom_digest_now_from_the_command_line(
    dev_env: WorkflowEnvironment,
    devstack: DevStackConfig,
    config: Settings,
    smtp: FakeSMTP,
    task_queue: str,
    db_url: str,
) -> None:
    seed(db_url)
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": devstack.namespace,
        "TEMPORAL_TASK_QUEUE": task_queue,
        "DATABASE_URL": db_url,
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "boardroom.cli", "digest", *args],
            capture_output=True,
            text=True,
            timeout=90,
            env=env,
        )

    missing = await asyncio.to_thread(cli, "--now")
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        f"boardroom: there is no digest schedule {task_queue}-digest: start a worker (boardroom worker / up) first"
    )

    await ensure_digest_schedule(dev_env.client, config, task_queue)
    try:
        shown = await asyncio.to_thread(cli)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.startswith(f"digest schedule {task_queue}-digest: 0 8 * * * UTC; next run ")
        async with create_worker(dev_env.client, config, task_queue=task_queue):
            now = await asyncio.to_thread(cli, "--now")
        assert now.returncode == 0, now.stderr
        assert now.stdout.strip() == "digest: 2 pending decision(s) sent by slack, email, webhook"
        assert len(smtp.messages) == 1
    finally:
        await ensure_digest_schedule(dev_env.client, config.model_copy(update={"digest_cron": ""}), task_queue)
