"""The daily digest: one message listing every decision that waits for the CEO.

Started by the `<task queue>-digest` Temporal Schedule (workers/schedules.py; BOARDROOM_DIGEST_CRON,
daily 08:00 UTC by default) or at once by `boardroom digest --now`. It reads the pending gates
from the store, then sends one message per digest channel (email, webhook, Slack), each its own
activity with bounded retries; a channel that fails for good is reported in the result and the
others still go out. With nothing pending it sends nothing. The signed links are minted by the
sending activity, so they never enter the history.
"""

# The declarations' arguments are their input; the bodies never run.
# ruff: noqa: ARG001

from __future__ import annotations

import asyncio
from datetime import datetime

from pydantic import Field
from temporalio import activity, workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.base import Model
    from domain.enums import GateKind, Risk
    from workflows.activity_defs import declared_only
    from workflows.notices import NotifyChannel
    from workflows.options import EMAIL, STORE, WEBHOOK

MAX_LISTED = 200

# Slack has its own bounded in-process retries (activities/notify.py); the email policy bounds the rest.
SEND_OPTIONS = {NotifyChannel.email: EMAIL, NotifyChannel.webhook: WEBHOOK, NotifyChannel.slack: EMAIL}


class DigestInput(Model):
    """What the schedule hands each run; the list is capped, the total is always counted."""

    max_gates: int = Field(default=50, ge=1, le=MAX_LISTED)


class DigestGate(Model):
    """One pending decision as the digest lists it (no link: the sender mints it)."""

    id: str = Field(max_length=100)
    project_id: str = Field(max_length=64)
    project_name: str = Field(max_length=200)
    kind: GateKind
    title: str = Field(max_length=300)
    risk: Risk
    approver: str = Field(max_length=200)
    created_at: datetime
    reminders: int = 0


class DigestBatch(Model):
    """`collect_digest`'s answer: the oldest pending gates, how many there are, where to send."""

    gates: list[DigestGate] = Field(default=[], max_length=MAX_LISTED)
    total: int = 0
    channels: list[NotifyChannel] = Field(default=[], max_length=3)


class DigestSend(Model):
    """`send_digest`'s input: one channel, the listed gates and the total."""

    channel: NotifyChannel
    gates: list[DigestGate] = Field(max_length=MAX_LISTED)
    total: int


class DigestResult(Model):
    pending: int = 0
    listed: int = 0
    sent: list[NotifyChannel] = []
    failed: list[NotifyChannel] = []


# Declared here beside their types (workflows/activity_defs.py says why); the bodies are in
# activities/channels.py.


@activity.defn(name="collect_digest")
async def collect_digest(data: DigestInput) -> DigestBatch:
    declared_only("collect_digest")


@activity.defn(name="send_digest")
async def send_digest(data: DigestSend) -> None:
    declared_only("send_digest")


@workflow.defn(name="digest")
class DigestWorkflow:
    """Collect the pending gates; when there are any, send one digest per channel. Safe to re-run
    (a re-run sends again; the webhook's delivery id is per run)."""

    @workflow.run
    async def run(self, data: DigestInput) -> DigestResult:
        batch = await workflow.execute_activity(collect_digest, data, **STORE)
        result = DigestResult(pending=batch.total, listed=len(batch.gates))
        if not batch.gates:
            return result

        async def send(channel: NotifyChannel) -> None:
            try:
                await workflow.execute_activity(
                    send_digest,
                    DigestSend(channel=channel, gates=batch.gates, total=batch.total),
                    summary=f"digest of {batch.total} pending decision(s) by {channel.value}",
                    **SEND_OPTIONS[channel],
                )
                result.sent.append(channel)
            except ActivityError as err:
                workflow.logger.warning("digest: %s gave up: %s", channel.value, err.cause or err)
                result.failed.append(channel)

        await asyncio.gather(*(send(c) for c in batch.channels))
        # In channel order, whatever order they finished in.
        result.sent.sort(key=list(NotifyChannel).index)
        result.failed.sort(key=list(NotifyChannel).index)
        return result
