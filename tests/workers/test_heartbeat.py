"""Activities heartbeat from the worker (workers/heartbeat.py): the first beat comes one interval
after the start (an activity that ends sooner costs the server nothing), then every interval, so
the server sees a long activity alive. Real worker on the dev server."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.waiting import eventually
from workers.heartbeat import HeartbeatInterceptor

INTERVAL_S = 1.0


@activity.defn(name="test_slow")
async def slow(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "done"


@workflow.defn(name="test_heartbeat")
class HeartbeatWorkflow:
    @workflow.run
    async def run(self, seconds: float) -> str:
        result: str = await workflow.execute_activity(
            slow, seconds, start_to_close_timeout=timedelta(seconds=60), heartbeat_timeout=timedelta(seconds=3)
        )
        return result


async def _first_beat_after_s(client: Client, workflow_id: str) -> float | None:
    """Seconds from the running activity's start to its last heartbeat (None before one)."""
    described = await client.get_workflow_handle(workflow_id).describe()
    pending = described.raw_description.pending_activities
    if not pending or not pending[0].HasField("last_heartbeat_time"):
        return None
    beat, started = pending[0].last_heartbeat_time.ToDatetime(), pending[0].last_started_time.ToDatetime()
    return (beat - started).total_seconds()


async def test_a_long_activity_heartbeats_from_one_interval_after_its_start(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    client = dev_env.client
    workflow_id = f"heartbeat-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[HeartbeatWorkflow],
        activities=[slow],
        interceptors=[HeartbeatInterceptor(interval_s=INTERVAL_S)],
    ):
        handle = await client.start_workflow(HeartbeatWorkflow.run, 4.0, id=workflow_id, task_queue=task_queue)
        after = await eventually(lambda: _first_beat_after_s(client, workflow_id), what="a heartbeat")
        # Server timestamps both: the first beat is not at the start but one interval later.
        assert after >= INTERVAL_S * 0.8, after
        # Four seconds outlive the three-second heartbeat timeout only because it beats.
        assert await handle.result() == "done"
