"""An activities worker from before PATCH_STORE_SYNCS and PATCH_RESEARCH_FINDS_RELATED (an upgrade
rolled out in the wrong order): it drops the read model's sync a gate or decision write carries
and ignores research's search. The workflow tells from their answers and syncs, and searches, on
its own; the read model and planning lose nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from boardroom.settings import Settings
from domain.records import DecisionRecord, GateRecord
from domain.work import ResearchInput, ResearchOutput
from store.db import session_scope
from store.tables import Project
from tests.waiting import eventually
from tests.workflows.helpers import cancel_and_wait, decide, next_gate, scheduled_activities, start_project
from workers.worker import activities, workflow_runner, workflows
from workflows.ids import project_id_from_gate_id
from workflows.notices import GateChannels


def _named(fns: list[Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    return {fn.__temporal_activity_definition.name: fn for fn in fns}  # type: ignore[attr-defined]


def _as_before(real: dict[str, Callable[..., Any]]) -> list[Callable[..., Any]]:
    """`open_gate`, `record_decision` and `research` as the activity workers before them ran."""

    @activity.defn(name="open_gate")
    async def open_gate(record: GateRecord) -> GateChannels:
        out: GateChannels = await real["open_gate"](record.model_copy(update={"sync": None}))
        return GateChannels(channels=out.channels)

    @activity.defn(name="record_decision")
    async def record_decision(record: DecisionRecord) -> None:
        await real["record_decision"](record.model_copy(update={"sync": None}))

    @activity.defn(name="research")
    async def research(data: ResearchInput) -> ResearchOutput:
        out: ResearchOutput = await real["research"](data.model_copy(update={"find_related": None}))
        return out.model_copy(update={"related": [], "searched": False})

    return [open_gate, record_decision, research]


async def test_an_activities_worker_from_before_loses_no_sync_and_no_search(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    real = _named(activities(settings))
    old = _as_before(real)
    replaced = {fn.__temporal_activity_definition.name for fn in old}  # type: ignore[attr-defined]
    worker = Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=workflows(),
        activities=[*[fn for name, fn in real.items() if name not in replaced], *old],
        workflow_runner=workflow_runner(),
    )
    async with worker:
        handle = await start_project(dev_env.client, task_queue, goal=f"Sell linen aprons {uuid.uuid4().hex[:6]}")
        interview = await next_gate(handle, "interview")
        project_id = project_id_from_gate_id(interview.id)

        def row_status() -> str | None:
            with session_scope(settings.database_url) as session:
                row = session.get(Project, project_id)
            return row.status if row is not None else None

        # The gate's sync was dropped: the workflow sent it with sync_project instead.
        await eventually(lambda: row_status() == "waiting_approval", "the read model waiting at the interview")
        await decide(handle, interview)
        await next_gate(handle, "plan")
        await eventually(lambda: row_status() == "waiting_approval", "the read model waiting at the plan")
        history = await handle.fetch_history()
        await cancel_and_wait(handle)
    names = scheduled_activities(history)
    # Each gate and decision write, then a sync of its own; research, then the search it skipped.
    for at, name in enumerate(names):
        if name in ("open_gate", "record_decision"):
            assert names[at + 1] == "sync_project", names
    assert names[names.index("research") + 1] == "related_documents", names
