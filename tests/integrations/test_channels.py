"""Email and webhook gate notices: the activities against a real local SMTP server (aiosmtpd) and a
local receiver that verifies the signature; which channels a gate goes to; bad configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.channels import ChannelActivities
from activities.notify import GateNotifier
from activities.store import StoreActivities
from approvals.tokens import verify
from approvals.webhook_signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookSignatureError,
    sign_webhook,
    signature,
    verify_webhook,
)
from boardroom.logs import secret_values
from boardroom.settings import Settings, load_settings
from domain.enums import GateKind, Risk
from domain.errors import ConfigError
from domain.records import GateRecord
from domain.work import Question
from store.db import session_scope
from store.tables import Gate
from tests.fakes.slack_server import FakeSlack
from tests.fakes.smtp_server import FakeSMTP, free_port
from tests.fakes.webhook_receiver import FakeReceiver
from tests.integrations.test_gate_notifier import PROJECT, add_project, plan_gate, record
from workflows.notices import GateChannels, NotifyChannel

pytestmark = pytest.mark.timeout(60)
WEBHOOK_SECRET = "whsec-notify-test"
SMTP_PASSWORD = "smtp-pass-9f2c"
PUBLIC = "https://boardroom.example.com"


@pytest.fixture
def smtp() -> Iterator[FakeSMTP]:
    yield from FakeSMTP.running()


@pytest.fixture
def receiver() -> Iterator[FakeReceiver]:
    yield from FakeReceiver.running(secret=WEBHOOK_SECRET)


def wire(
    settings: Settings, smtp: FakeSMTP | None = None, receiver: FakeReceiver | None = None, **more: object
) -> Settings:
    update: dict[str, object] = {"public_url": PUBLIC}
    if smtp is not None:
        update |= {
            "smtp_host": smtp.host,
            "smtp_port": smtp.port,
            "smtp_starttls": False,
            "email_from": "Boardroom <boardroom@example.com>",
            "email_to": "ceo@example.com, deputy@example.com",
        }
    if receiver is not None:
        update |= {"notify_webhook_url": receiver.url, "notify_webhook_secret": WEBHOOK_SECRET}
    return settings.model_copy(update=update | more)


async def run(activity: object, arg: object) -> object:
    return await ActivityEnvironment().run(activity, arg)  # type: ignore[arg-type]


def store_gate(settings: Settings, rec: GateRecord) -> None:
    """The gate row as open_gate stores it (without notifying anyone)."""
    StoreActivities(settings)._open_gate(rec)


def signed_link(text: str) -> str:
    start = text.index(f"{PUBLIC}/a/v1.")
    return text[start:].split()[0].rstrip(".,)")


# --- email ------------------------------------------------------------------------------------


async def test_a_gate_email_reaches_the_smtp_server_with_the_signed_link(
    settings: Settings, smtp: FakeSMTP, db_url: str
) -> None:
    add_project(db_url)
    wired = wire(settings, smtp=smtp, smtp_password=SMTP_PASSWORD)
    gate = plan_gate(seq=1, kind=GateKind.interview, risk=Risk.low, questions=[Question(id="q1", text="Who buys?")])
    rec = record(gate)
    store_gate(wired, rec)
    await run(ChannelActivities(wired).notify_email, rec)

    [got] = smtp.messages
    assert got.mail_from == "boardroom@example.com"
    assert got.rcpt_tos == ["ceo@example.com", "deputy@example.com"]
    msg = got.message
    assert msg["Subject"] == f"Decision needed: {gate.title} (Mugs & <Co>)"
    assert msg["To"] == "ceo@example.com, deputy@example.com"
    assert msg["Message-ID"] == f"<{gate.id}.opened@boardroom.example.com>"
    assert msg["X-Boardroom-Event"] == "gate.opened"
    text, body_html = got.part("plain"), got.part("html")
    assert "A decision is waiting for you." in text and "Project: Mugs & <Co>" in text
    assert "Risk: low" in text and "- Who buys?" in text and gate.summary in text
    url = signed_link(text)
    claims = verify(wired.secret_key, url.rsplit("/", 1)[1], datetime(2030, 1, 3, tzinfo=UTC), gate.id)
    assert claims.approver == "ceo"
    # the HTML part escapes what people and agents wrote, and links the same signed URL
    assert "Mugs &amp; &lt;Co&gt;" in body_html and "<Co>" not in body_html
    assert f'href="{url}"' in body_html
    # nothing secret travels: no signing key, no SMTP password, no webhook secret
    raw = got.raw.decode()
    for secret in (wired.secret_key, SMTP_PASSWORD, WEBHOOK_SECRET):
        assert secret not in raw


async def test_a_reminder_email_says_so_and_keeps_the_link(settings: Settings, smtp: FakeSMTP, db_url: str) -> None:
    add_project(db_url)
    wired = wire(settings, smtp=smtp)
    gate = plan_gate()
    store_gate(wired, record(gate))
    await run(ChannelActivities(wired).notify_email, record(gate))
    await run(ChannelActivities(wired).notify_email, record(gate.model_copy(update={"reminders": 1}), reminder=True))
    first, second = smtp.messages
    assert second.message["Subject"] == f"Reminder: decision needed: {gate.title} (Mugs & <Co>)"
    assert second.message["Message-ID"] == f"<{gate.id}.reminder-1@boardroom.example.com>"
    assert second.part("plain").startswith("Reminder: a decision is still waiting for you.")
    assert signed_link(second.part("plain")) == signed_link(first.part("plain"))


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_smtp_login_uses_the_configured_credentials(settings: Settings, db_url: str) -> None:
    add_project(db_url)
    gate = plan_gate()
    with FakeSMTP(username="boardroom", password=SMTP_PASSWORD) as server:
        store_gate(settings, record(gate))
        wrong = wire(settings, smtp=server, smtp_username="boardroom", smtp_password="wrong")
        with pytest.raises(ApplicationError) as refused:
            await run(ChannelActivities(wrong).notify_email, record(gate))
        assert refused.value.type == "NotificationRejected" and refused.value.non_retryable
        assert "535" in refused.value.message and "wrong" not in refused.value.message
        assert server.messages == []

        right = wire(settings, smtp=server, smtp_username="boardroom", smtp_password=SMTP_PASSWORD)
        await run(ChannelActivities(right).notify_email, record(gate))
        [got] = server.messages
        assert got.login == "boardroom"


async def test_smtp_failures_are_retryable_or_not_as_they_should_be(
    settings: Settings, smtp: FakeSMTP, db_url: str
) -> None:
    add_project(db_url)
    gate = plan_gate()
    store_gate(settings, record(gate))
    wired = wire(settings, smtp=smtp)
    activities = ChannelActivities(wired)

    smtp.fail_next("451 4.3.0 mailbox busy, try again later")
    with pytest.raises(ApplicationError) as busy:
        await run(activities.notify_email, record(gate))
    assert busy.value.type == "NotificationUnavailable" and not busy.value.non_retryable

    smtp.fail_next("554 5.7.1 message refused")
    with pytest.raises(ApplicationError) as refused:
        await run(activities.notify_email, record(gate))
    assert refused.value.type == "NotificationRejected" and refused.value.non_retryable
    assert smtp.messages == [] and smtp.data_attempts == 2

    # nobody listens: worth a retry later
    closed = wire(settings, smtp=smtp, smtp_port=free_port())
    with pytest.raises(ApplicationError) as away:
        await run(ChannelActivities(closed).notify_email, record(gate))
    assert away.value.type == "NotificationUnavailable" and "ConnectionRefusedError" in away.value.message

    # STARTTLS asked for (the default) but not offered: never sent in the clear, not retried
    plain = wire(settings, smtp=smtp, smtp_starttls=True)
    with pytest.raises(ApplicationError) as no_tls:
        await run(ChannelActivities(plain).notify_email, record(gate))
    assert no_tls.value.non_retryable and "does not offer STARTTLS" in no_tls.value.message
    assert smtp.messages == []


async def test_a_gate_decided_meanwhile_is_not_sent(
    settings: Settings, smtp: FakeSMTP, receiver: FakeReceiver, db_url: str
) -> None:
    add_project(db_url)
    gate = plan_gate()
    wired = wire(settings, smtp=smtp, receiver=receiver)
    store_gate(wired, record(gate))
    with session_scope(db_url) as s:
        row = s.get(Gate, gate.id)
        assert row is not None
        row.status = "approved"
        s.add(row)
        s.commit()
    activities = ChannelActivities(wired)
    await run(activities.notify_email, record(gate, reminder=True))
    await run(activities.notify_webhook, record(gate, reminder=True))
    assert smtp.data_attempts == 0 and receiver.requests == []


# --- webhook ----------------------------------------------------------------------------------


async def test_the_webhook_is_signed_and_carries_the_link(
    settings: Settings, receiver: FakeReceiver, db_url: str
) -> None:
    add_project(db_url)
    wired = wire(settings, receiver=receiver)
    gate = plan_gate(risk=Risk.high)
    store_gate(wired, record(gate))
    await run(ChannelActivities(wired).notify_webhook, record(gate))

    assert receiver.refused == []
    [req] = receiver.accepted
    assert req.header("Content-Type") == "application/json"
    assert req.header("X-Boardroom-Event") == "gate.opened"
    assert req.header("X-Boardroom-Delivery") == f"{gate.id}.opened"
    timestamp = req.header(TIMESTAMP_HEADER)
    assert timestamp is not None and abs(int(timestamp) - datetime.now(UTC).timestamp()) < 60
    assert req.header(SIGNATURE_HEADER) == signature(WEBHOOK_SECRET, timestamp, req.body)
    body = req.json()
    assert body["event"] == "gate.opened" and body["delivery_id"] == f"{gate.id}.opened"
    assert body["project"] == {"id": PROJECT, "name": "Mugs & <Co>"}
    assert body["gate"]["id"] == gate.id and body["gate"]["risk"] == "high" and body["gate"]["kind"] == "plan"
    assert body["gate"]["title"] == gate.title and body["gate"]["summary"] == gate.summary
    claims = verify(wired.secret_key, body["approve_url"].rsplit("/", 1)[1], datetime(2030, 1, 3, tzinfo=UTC), gate.id)
    assert claims.gate_id == gate.id
    assert body["approve_url_expires_at"] == "2030-01-09T03:04:05+00:00"
    raw = req.body.decode()
    assert wired.secret_key not in raw and WEBHOOK_SECRET not in raw


async def test_webhook_answers_decide_whether_temporal_retries(
    settings: Settings, receiver: FakeReceiver, db_url: str
) -> None:
    add_project(db_url)
    gate = plan_gate()
    wired = wire(settings, receiver=receiver)
    store_gate(wired, record(gate))
    activities = ChannelActivities(wired)

    for status in (500, 503, 408):
        receiver.fail_next(status)
        with pytest.raises(ApplicationError) as err:
            await run(activities.notify_webhook, record(gate))
        assert err.value.type == "NotificationUnavailable" and not err.value.non_retryable, status
        assert f"HTTP {status}" in err.value.message

    receiver.fail_next(429)
    receiver._failures[-1][2].headers["Retry-After"] = "7"
    with pytest.raises(ApplicationError) as busy:
        await run(activities.notify_webhook, record(gate))
    assert not busy.value.non_retryable and busy.value.next_retry_delay == timedelta(seconds=7)

    for status in (400, 404, 410):
        receiver.fail_next(status)
        with pytest.raises(ApplicationError) as err:
            await run(activities.notify_webhook, record(gate))
        assert err.value.type == "NotificationRejected" and err.value.non_retryable, status
    assert receiver.accepted == []

    # a receiver with another secret refuses (401, not retried); the error never names the URL's path
    other = wire(settings, receiver=receiver, notify_webhook_secret="not-the-receivers-secret")
    with pytest.raises(ApplicationError) as forged:
        await run(ChannelActivities(other).notify_webhook, record(gate))
    assert forged.value.non_retryable and "HTTP 401" in forged.value.message
    assert "/hooks/" not in forged.value.message
    assert receiver.refused[-1][1] == "signature mismatch"

    away = wire(settings, receiver=receiver, notify_webhook_url=f"http://127.0.0.1:{free_port()}/hook")
    with pytest.raises(ApplicationError) as gone:
        await run(ChannelActivities(away).notify_webhook, record(gate))
    assert gone.value.type == "NotificationUnavailable" and "ConnectError" in gone.value.message


def test_verify_webhook_refuses_tampering_replays_and_missing_headers() -> None:
    body = b'{"event":"gate.opened"}'
    now = 1_900_000_000
    headers = sign_webhook("s3cret", body, now=now)
    ts, sig = headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]
    assert ts == str(now) and sig.startswith("sha256=") and len(sig) == len("sha256=") + 64
    verify_webhook("s3cret", body, ts, sig, now=now + 10)  # genuine

    cases = [
        (("s3cret", body + b" ", ts, sig), "signature mismatch"),
        (("other", body, ts, sig), "signature mismatch"),
        (("s3cret", body, str(now + 1), sig), "signature mismatch"),  # timestamp is signed too
        (("s3cret", body, ts, sig.replace("sha256=", "sha1=")), "signature mismatch"),
        (("s3cret", body, ts, None), "missing"),
        (("s3cret", body, "soon", sig), "not a number"),
    ]
    for args, expected in cases:
        with pytest.raises(WebhookSignatureError, match=expected):
            verify_webhook(*args, now=now)
    with pytest.raises(WebhookSignatureError, match="more than 300 s"):
        verify_webhook("s3cret", body, ts, sig, now=now + 301)
    with pytest.raises(ValueError, match="secret is required"):
        sign_webhook("", body)


# --- which channels a gate goes to -------------------------------------------------------------


async def test_open_gate_answers_the_channels_for_the_gates_risk(
    settings: Settings, smtp: FakeSMTP, receiver: FakeReceiver, fake_slack: FakeSlack, db_url: str
) -> None:
    add_project(db_url)
    wired = wire(
        settings,
        smtp=smtp,
        receiver=receiver,
        slack_bot_token=fake_slack.token,
        slack_api_url=fake_slack.api_url,
        slack_channel="#launches",
        notify_channels=json.dumps({"low": ["email"], "medium": [], "high": ["slack", "email", "webhook"]}),
    )
    store = StoreActivities(wired, notifier=GateNotifier(wired))

    async def channels(seq: int, risk: Risk, **kw: bool) -> tuple[list[NotifyChannel], int]:
        before = len(fake_slack.messages)
        answer = await run(store.open_gate, record(plan_gate(seq=seq, risk=risk)).model_copy(update=kw))
        assert isinstance(answer, GateChannels)
        return answer.channels, len(fake_slack.messages) - before

    # Slack is one of the channels: left out for low risk, posted for high
    assert await channels(1, Risk.low) == ([NotifyChannel.email], 0)
    assert await channels(2, Risk.medium) == ([], 0)
    assert await channels(3, Risk.high) == ([NotifyChannel.email, NotifyChannel.webhook], 1)
    # the policy approves it at once: nobody is asked
    assert await channels(4, Risk.high, auto_approved=True) == ([], 0)
    # the gates are stored whatever the channels
    with session_scope(db_url) as s:
        assert all(s.get(Gate, plan_gate(seq=n).id) is not None for n in (1, 2, 3, 4))

    # without BOARDROOM_NOTIFY_CHANNELS: every configured channel, for every risk
    everywhere = wired.model_copy(update={"notify_channels": ""})
    answer = await run(StoreActivities(everywhere).open_gate, record(plan_gate(seq=5, risk=Risk.low)))
    assert answer == GateChannels(channels=[NotifyChannel.email, NotifyChannel.webhook])
    # nothing configured: nothing beside Slack, so the workflow schedules nothing
    answer = await run(StoreActivities(settings).open_gate, record(plan_gate(seq=6, risk=Risk.high)))
    assert answer == GateChannels(channels=[])


def test_channel_settings_and_their_errors(smtp: FakeSMTP) -> None:
    base = {"smtp_host": smtp.host, "email_to": "ceo@example.com", "notify_webhook_url": "https://hooks.example.com/b"}
    s = load_settings(**base, notify_webhook_secret="x", notify_channels='{"low": ["email"], "digest": ["webhook"]}')
    assert s.configured_channels == ["email", "webhook"]
    assert s.channels_for("low") == ["email"]
    assert s.channels_for("high") == ["email", "webhook"]  # a risk left out: every configured channel
    assert s.channels_for("digest") == ["webhook"]

    bad = [
        ({"notify_channels": "{high: email}"}, "BOARDROOM_NOTIFY_CHANNELS is not valid JSON"),
        ({"notify_channels": '["email"]'}, "must be a JSON object"),
        ({"notify_channels": '{"urgent": ["email"]}'}, "unknown key 'urgent'"),
        ({"notify_channels": '{"high": ["sms"]}'}, "unknown channel 'sms' (known: slack, email, webhook)"),
        ({"notify_channels": '{"high": "email"}'}, "'high' must be a list"),
        (
            {"notify_channels": '{"high": ["slack"]}'},
            "'high' names 'slack', which is not configured (set SLACK_BOT_TOKEN)",
        ),
        ({"notify_webhook_url": "https://h.example.com"}, "BOARDROOM_NOTIFY_WEBHOOK_SECRET must be set"),
        ({"notify_webhook_url": "ftp://h.example.com", "notify_webhook_secret": "x"}, "not an http(s) URL"),
        ({"smtp_host": "mail.example.com"}, "BOARDROOM_EMAIL_TO must name at least one recipient"),
        ({"email_to": "ceo@example.com, not-an-address"}, "not an email address: 'not-an-address'"),
        ({"email_from": "Boardroom <b@example.com>\r\nBcc: x@example.com"}, "BOARDROOM_EMAIL_FROM"),
        ({"digest_cron": "every morning"}, "not a five-field cron expression"),
        ({"digest_timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
    ]
    for overrides, expected in bad:
        with pytest.raises(ConfigError) as err:
            load_settings(**overrides)
        message = str(err.value)
        assert "\n" not in message and message.startswith("configuration: BOARDROOM_"), message
        assert expected in message, message
    assert load_settings(digest_cron="off").digest_cron == ""


def test_a_bad_channel_setting_stops_the_worker_with_one_line(tmp_path: object) -> None:
    env = {
        **os.environ,
        "BOARDROOM_NOTIFY_CHANNELS": '{"high": ["pager"]}',
        "DATABASE_URL": f"sqlite:///{tmp_path}/b.db",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "boardroom.cli", "worker"], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [
        "boardroom: configuration: BOARDROOM_NOTIFY_CHANNELS: unknown channel 'pager' (known: slack, email, webhook)"
    ]


def test_notification_secrets_are_hidden_and_redacted_from_logs() -> None:
    s = load_settings(
        smtp_host="mail.example.com",
        email_to="ceo@example.com",
        smtp_password=SMTP_PASSWORD,
        notify_webhook_url="https://hooks.example.com/b",
        notify_webhook_secret=WEBHOOK_SECRET,
    )
    assert SMTP_PASSWORD not in repr(s) and WEBHOOK_SECRET not in repr(s)
    assert {SMTP_PASSWORD, WEBHOOK_SECRET} <= set(secret_values(s))  # what the log redactor replaces
