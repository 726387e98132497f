"""The read model is a projection written from small events: a project's syncs carry only the state
fields that changed (never the whole state after a run's first), and the row ends equal to the
project's own state (workflows/projection.py)."""

from __future__ import annotations

import json

from temporalio.testing import WorkflowEnvironment

from boardroom.settings import Settings
from domain.enums import AutoApprove, Phase, Status
from domain.project import Policy, ProjectState
from domain.records import DecisionRecord, ReadModelUpdate
from store.db import session_scope
from store.projection import VERSIONS_KEY
from store.tables import Project
from tests.waiting import eventually
from tests.workflows.helpers import activity_inputs, cancel_and_wait, read_model_syncs, start_project, wait_for
from workers.worker import create_worker


async def test_syncs_carry_only_what_changed_and_the_row_matches_the_project(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    async with create_worker(dev_env.client, settings, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue, policy=Policy(auto_approve=AutoApprove.all))
        live = await wait_for(handle, lambda s: s.phase == Phase.operations, what="operations")
        final = await cancel_and_wait(handle)
        assert final.status == Status.cancelled

        inputs = await read_model_syncs(dev_env.client, handle.id)
        # The syncs are sync_project's and those a gate or decision write carried (PATCH_STORE_SYNCS;
        # with every gate approved by the policy at once, none is due then).
        own = await activity_inputs(dev_env.client, handle.id, "sync_project", ReadModelUpdate)
        decisions = await activity_inputs(dev_env.client, handle.id, "record_decision", DecisionRecord)
        assert decisions and len(own) + sum(1 for d, _ in decisions if d.sync is not None) == len(inputs)
        syncs, sizes = [u for u, _ in inputs], [size for _, size in inputs]
        assert len(syncs) >= 4, "a sync at each phase and at the end"
        assert all(u.state is None and u.changes is not None for u in syncs)
        # The syncs while the project ran; the last one, once it stopped, is the whole state.
        running = [(u, size) for u, size in zip(syncs, sizes, strict=True) if u.status != Status.cancelled]
        (first, _), *rest = running
        later = [u for u, _ in rest]
        assert syncs[-1].status == Status.cancelled and syncs[-1].changes is not None
        assert set(syncs[-1].changes) == set(ProjectState.model_fields)
        assert first.changes is not None and set(first.changes) == set(ProjectState.model_fields)
        # What never changes goes once; what changes goes when it does.
        assert not [u for u in later if u.changes and {"name", "goal", "owner"} & set(u.changes)]
        assert [u.changes["phase"] for u in later if u.changes and "phase" in u.changes] == [
            "execution",
            "launch",
            "operations",
        ]
        # The plan goes when there is one, once (nothing revised it), and no later sync is the whole
        # state: each is smaller than the state once in operations, and all of them together are
        # less than two whole states (every sync, one per phase change, once was one).
        assert sum(1 for u in later if u.changes and "plan" in u.changes) == 1
        whole = len(json.dumps(live.model_dump(mode="json")))
        assert max(size for _, size in rest) < whole, (sizes, whole)
        assert sum(size for _, size in running) < 2 * whole, (sizes, whole)
        # Gates and tasks go item by item once sent: only the ones that changed, with the order.
        patches = [u.changes["gates"] for u in later if u.changes and "gates" in u.changes]
        assert patches and all(set(p) == {"$items", "$order"} for p in patches)
        assert any(len(p["$items"]) < len(p["$order"]) for p in patches)
        assert [u.seq for u in syncs] == sorted(u.seq for u in syncs)

        def row_state() -> dict[str, object] | None:
            with session_scope(settings.database_url) as session:
                row = session.get(Project, final.project_id)
            if row is None or row.state is None or row.status != Status.cancelled.value:
                return None
            return {k: v for k, v in row.state.items() if k != VERSIONS_KEY}

        stored = await eventually(row_state, "the cancelled project's row")
        assert stored == final.model_dump(mode="json")
