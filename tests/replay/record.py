"""Records histories of every workflow type from a real run on a dev server.

    HISTORY_SET=current .venv/bin/python -m tests.replay.record

Writes tests/histories/<set>/<workflow-type>.json (one history each) and workflow-ids.json. Re-record after an
intentional, patched change; the replay test then guards against accidental ones.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import uuid
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from activities.health import PingInput
from boardroom.client import data_converter
from boardroom.devstack import load_devstack
from boardroom.settings import load_settings
from domain.enums import Phase
from domain.project import BusinessEvent, Policy
from store.db import migrate
from tests.conftest import binary, search_attribute_keys
from tests.workflows.helpers import approve_until, decide, next_gate, start_project, wait_for
from workers.worker import create_worker
from workflows.project import ProjectWorkflow
from workflows.routine import RoutineInput, RoutineWorkflow
from workflows.smoke import SmokeWorkflow

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
# Each recording is kept in its own folder: older ones prove that patched changes still replay.
OUT = HISTORIES / os.environ.get("HISTORY_SET", "current")


async def main() -> None:
    dev = load_devstack()
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/record.db"
        migrate(db)
        settings = load_settings(environment="test", database_url=db, agent_provider="offline")
        env = await WorkflowEnvironment.start_local(
            namespace=dev.namespace,
            data_converter=data_converter(),
            dev_server_existing_path=binary("temporal"),
            search_attributes=search_attribute_keys(dev),
            dev_server_extra_args=dev.dynamic_config_args(),
        )
        try:
            tq = f"record-{uuid.uuid4().hex[:6]}"
            async with create_worker(env.client, settings, task_queue=tq):
                await env.client.execute_workflow(
                    SmokeWorkflow.run, PingInput(message="record"), id="smoke-record", task_queue=tq
                )
                # Monthly budgets for the plan's roles (free offline calls never reach them): every
                # task waits for the project's role budget answer, so those signals are recorded too.
                roles = ["market-researcher", "product-manager", "pricing-strategist", "legal-counsel"]
                roles += ["web-developer", "copywriter", "customer-success-manager", "growth-marketer"]
                policy = Policy(review_interval_s=5, max_rounds=2, role_budgets_usd=dict.fromkeys(roles, 100.0))
                handle = await start_project(env.client, tq, policy=policy)
                await decide(handle, await next_gate(handle, "interview"))
                await decide(handle, await next_gate(handle, "plan"), "revise", comment="Add a gift box option")
                await approve_until(handle, Phase.operations, use_update=True)
                await handle.signal(
                    ProjectWorkflow.business_event, BusinessEvent(id="e1", kind="payment", amount_usd=30)
                )
                await wait_for(handle, lambda s: s.reviews_done >= 1, what="one review")
                # One run of a routine (what its Temporal Schedule starts) on the operating project.
                await env.client.execute_workflow(
                    RoutineWorkflow.run,
                    RoutineInput(
                        project_id=handle.id.removeprefix("project-"),
                        project_workflow_id=handle.id,
                        routine_id=f"routine-{handle.id.removeprefix('project-')}-1",
                        number=1,
                        title="Weekly newsletter to customers",
                        role="copywriter",
                        goal="Sell handmade ceramic mugs online",
                        policy=policy,
                    ),
                    id=f"{handle.id}/routine-1-record",
                    task_queue=tq,
                )
                await handle.cancel()
                await asyncio.sleep(1)
            wanted = {
                "project",
                "discovery",
                "execution",
                "produce-review",
                "launch",
                "operations-review",
                "smoke",
                "routine",
            }
            OUT.mkdir(parents=True, exist_ok=True)
            ids: dict[str, str] = {}
            async for wf in env.client.list_workflows():
                if wf.workflow_type in wanted:
                    history = await env.client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
                    (OUT / f"{wf.workflow_type}.json").write_text(history.to_json())
                    ids[wf.workflow_type] = wf.id
                    wanted.discard(wf.workflow_type)
            # Replay needs the original workflow ids: child ids are derived from them.
            (OUT / "workflow-ids.json").write_text(json.dumps(ids, indent=2, sort_keys=True) + "\n")
            # Since the one-workflow shape a project starts no phase or task workflows of its own
            # (a routine's task is still a produce-review child): those types are only in older sets.
            missing = wanted - {"discovery", "execution", "launch", "operations-review"}
            if missing:
                raise SystemExit(f"no history recorded for: {sorted(missing)}")
        finally:
            await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
