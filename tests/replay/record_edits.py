"""Records the histories of approve-with-edits and quorum votes from a real run on a dev server:

    .venv/bin/python -m tests.replay.record_edits

Writes tests/histories/edits/: a project with a 2-of-3 quorum (`project.json`) whose plan gate
gets alice's approval with an edited task list (a vote) and bob's approval (resolving it), whose
first high-risk deliverable gate gets alice's approval with edited text and bob's approval; its
`discovery.json` (the edited plan taken) and the `produce-review.json` of that deliverable's task
(finished with the CEO's version); with workflow-ids.json. tests/replay/test_replay_edits.py
replays them.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import uuid
from pathlib import Path

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from boardroom.client import data_converter
from boardroom.devstack import load_devstack
from boardroom.settings import load_settings
from domain.enums import Channel, GateStatus, Risk
from domain.gates import GateDecision, PlanEdits, TaskEdit
from domain.project import Policy, ProjectState
from store.db import migrate
from tests.conftest import binary, search_attribute_keys
from tests.workflows.helpers import next_gate, start_project, wait_for
from workers.worker import create_worker
from workflows.project import ProjectWorkflow

OUT = Path(__file__).resolve().parent.parent / "histories" / "edits"


async def vote(handle: WorkflowHandle[ProjectWorkflow, ProjectState], decision: GateDecision) -> None:
    await handle.execute_update(ProjectWorkflow.decide, decision)  # type: ignore[unused-coroutine]


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
                policy = Policy(approvers=["alice", "bob", "carol"], quorum=2, max_rounds=2)
                handle = await start_project(env.client, tq, policy=policy)
                interview = await next_gate(handle, "interview")
                answers = {q.id: "Cafés in Porto" for q in interview.questions}
                await vote(handle, GateDecision(gate_id=interview.id, decision="approve", approver="alice",
                                                answers=answers, channel=Channel.api))  # fmt: skip
                plan_gate = await next_gate(handle, "plan")
                state = await handle.query(ProjectWorkflow.get_state)
                assert state.plan is not None
                tasks = state.plan.tasks
                high = next(t for t in tasks if t.risk == Risk.high)
                kept = [t for t in tasks if t.risk != Risk.high and not t.depends_on][:1] + [high]
                edits = PlanEdits(tasks=[TaskEdit(id=kept[0].id, title="Research (edited)"), TaskEdit(id=high.id)])
                for name in ("alice", "bob"):
                    await vote(handle, GateDecision(gate_id=plan_gate.id, decision="approve", approver=name,
                                                    plan_edits=edits if name == "alice" else None,
                                                    channel=Channel.api))  # fmt: skip
                gate = await next_gate(handle, "deliverable")
                for name in ("alice", "bob"):
                    text = "# Edited by alice\n\nShorter copy.\n" if name == "alice" else None
                    await vote(handle, GateDecision(gate_id=gate.id, decision="approve", approver=name,
                                                    deliverable_text=text, channel=Channel.api))  # fmt: skip
                kept_ids = {k.id for k in kept}
                await wait_for(
                    handle,
                    lambda s: all(t.status.value in ("passed", "accepted") for t in s.tasks if t.id in kept_ids),
                    what="the edited plan's tasks done",
                )
                done = await handle.query(ProjectWorkflow.get_state)
                assert [g.status for g in done.gates[:3]] == [GateStatus.approved] * 3, done.gates
                await handle.cancel()
                await asyncio.sleep(2)
                OUT.mkdir(parents=True, exist_ok=True)
                ids = {
                    "project": handle.id,
                    "discovery": f"{handle.id}/discovery",
                    "produce-review": gate.requester_workflow_id,
                }
                for name, wid in ids.items():
                    history = await env.client.get_workflow_handle(wid).fetch_history()
                    (OUT / f"{name}.json").write_text(history.to_json())
            (OUT / "workflow-ids.json").write_text(json.dumps(ids, indent=2, sort_keys=True) + "\n")
        finally:
            await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
