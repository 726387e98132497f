"""The smoke workflow runs on the real dev server and on the time-skipping server."""

from __future__ import annotations

import uuid

from temporalio.testing import WorkflowEnvironment

from activities.health import PingInput, PingOutput
from boardroom.settings import Settings
from workers.worker import create_worker
from workflows.smoke import SmokeWorkflow


async def _run(env: WorkflowEnvironment, settings: Settings, task_queue: str) -> PingOutput:
    async with create_worker(env.client, settings, task_queue=task_queue):
        return await env.client.execute_workflow(
            SmokeWorkflow.run,
            PingInput(message="hello"),
            id=f"smoke-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue,
        )


async def test_smoke_on_dev_server(dev_env: WorkflowEnvironment, settings: Settings, task_queue: str) -> None:
    out = await _run(dev_env, settings, task_queue)
    assert out.message == "hello"
    assert out.worker_host


async def test_smoke_on_time_skipping_server(
    time_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    out = await _run(time_env, settings, task_queue)
    assert out.message == "hello"


async def test_dev_server_registers_search_attributes(dev_env: WorkflowEnvironment, devstack) -> None:
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

    resp = await dev_env.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=devstack.namespace)
    )
    assert set(devstack.search_attributes) <= set(resp.custom_attributes)
