"""Gate notices beside Slack: email and the signed webhook, each its own activity.

`open_gate` (which posts to Slack itself) answers which other channels a gate goes to, from
BOARDROOM_NOTIFY_CHANNELS and the gate's risk; the project workflow then runs `send_gate_notices`
in the background. A channel that fails after its bounded retries is logged and given up on:
a dead mail server or receiver never fails, or holds up, the project. The signed approval link
is minted inside the activities, so it never enters the workflow's history.
"""

# The declarations' arguments are their input; the bodies never run.
# ruff: noqa: ARG001

from __future__ import annotations

import asyncio
from enum import StrEnum

from pydantic import Field
from temporalio import activity, workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.base import Model
    from domain.records import GateRecord
    from workflows.activity_defs import declared_only
    from workflows.options import EMAIL, WEBHOOK


class NotifyChannel(StrEnum):
    """The names BOARDROOM_NOTIFY_CHANNELS uses (boardroom.settings.CHANNELS)."""

    slack = "slack"
    email = "email"
    webhook = "webhook"


class GateChannels(Model):
    """`open_gate`'s answer: the channels beside Slack this gate (or reminder) goes to."""

    channels: list[NotifyChannel] = Field(default=[], max_length=3)
    # The read model's sync the record carried was applied (workers from before answered no such thing).
    synced: bool = False


# Declared here beside the types they use (workflows/activity_defs.py says why); the bodies are
# activities/store.py (open_gate) and activities/channels.py (the notices).


@activity.defn(name="open_gate")
async def open_gate(record: GateRecord) -> GateChannels | None:  # older workers answered None
    declared_only("open_gate")


@activity.defn(name="notify_email")
async def notify_email(record: GateRecord) -> None:
    declared_only("notify_email")


@activity.defn(name="notify_webhook")
async def notify_webhook(record: GateRecord) -> None:
    declared_only("notify_webhook")


# The activity and its options per channel; Slack is posted by `open_gate` itself.
GATE_ACTIVITIES = {
    NotifyChannel.email: (notify_email, EMAIL),
    NotifyChannel.webhook: (notify_webhook, WEBHOOK),
}


async def send_gate_notices(record: GateRecord, channels: list[NotifyChannel]) -> None:
    """Sends the gate's message on every channel at once; a channel that fails for good is logged."""

    async def one(channel: NotifyChannel) -> None:
        notify, options = GATE_ACTIVITIES[channel]
        try:
            what = f"reminder {record.gate.reminders}" if record.reminder else "new decision"
            summary = f"{what} {record.gate.id} by {channel.value}"
            await workflow.execute_activity(notify, record, summary=summary, **options)
        except ActivityError as err:
            workflow.logger.warning(
                "gate %s: %s notification gave up: %s", record.gate.id, channel.value, err.cause or err
            )

    await asyncio.gather(*(one(c) for c in channels if c in GATE_ACTIVITIES))
