"""Records the histories of the notification changes from a real run on a dev server:

    .venv/bin/python -m tests.replay.record_notify

Writes tests/histories/notify/: `digest.json` (a digest run that lists two gates and sends them
by email and webhook) and `project.json` (a project whose interview gate and its reminder go out
by email and webhook, behind the `gate-notify-channels` patch; decided, then cancelled at the plan
gate), with workflow-ids.json. tests/replay/test_replay_notify.py replays them.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import uuid
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from boardroom.client import data_converter
from boardroom.devstack import load_devstack
from boardroom.settings import load_settings
from domain.project import Policy
from store.db import migrate
from tests.conftest import binary, search_attribute_keys
from tests.fakes.smtp_server import FakeSMTP
from tests.fakes.webhook_receiver import FakeReceiver
from tests.workflows.helpers import decide, next_gate, start_project
from workers.schedules import ensure_digest_schedule, run_digest_now
from workers.worker import create_worker

OUT = Path(__file__).resolve().parent.parent / "histories" / "notify"


async def main() -> None:
    dev = load_devstack()
    with tempfile.TemporaryDirectory() as tmp, FakeSMTP() as smtp, FakeReceiver(secret="record-secret") as receiver:
        db = f"sqlite:///{tmp}/record.db"
        migrate(db)
        settings = load_settings(
            environment="test",
            database_url=db,
            agent_provider="offline",
            secret_key="record-secret-key",
            smtp_host=smtp.host,
            smtp_port=smtp.port,
            smtp_starttls=False,
            email_to="ceo@example.com",
            notify_webhook_url=receiver.url,
            notify_webhook_secret="record-secret",
        )
        env = await WorkflowEnvironment.start_local(
            namespace=dev.namespace,
            data_converter=data_converter(),
            dev_server_existing_path=binary("temporal"),
            search_attributes=search_attribute_keys(dev),
            dev_server_extra_args=dev.dynamic_config_args(),
        )
        try:
            tq = f"record-{uuid.uuid4().hex[:6]}"
            ids: dict[str, str] = {}
            async with create_worker(env.client, settings, task_queue=tq):
                handle = await start_project(env.client, tq, policy=Policy(gate_reminder_s=1.0, gate_expiry_s=600.0))
                gate = await next_gate(handle, "interview")
                while len(receiver.accepted) < 2 or len(smtp.messages) < 2:  # the gate and its reminder
                    await asyncio.sleep(0.1)
                await decide(handle, gate)
                await next_gate(handle, "plan")
                while len(receiver.accepted) < 3:
                    await asyncio.sleep(0.1)
                await ensure_digest_schedule(env.client, settings, tq)
                result = await run_digest_now(env.client, settings, tq)
                assert result.pending == 1 and len(result.sent) == 2, result
                await handle.cancel()
                await asyncio.sleep(2)
                ids["project"] = handle.id
                OUT.mkdir(parents=True, exist_ok=True)
                (OUT / "project.json").write_text((await handle.fetch_history()).to_json())
                async for wf in env.client.list_workflows("WorkflowType = 'digest'"):
                    history = await env.client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
                    (OUT / "digest.json").write_text(history.to_json())
                    ids["digest"] = wf.id
            (OUT / "workflow-ids.json").write_text(json.dumps(ids, indent=2, sort_keys=True) + "\n")
        finally:
            await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
