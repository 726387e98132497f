"""Split workers on the real dev server: one `workflows` worker and one `activities` worker share
a task queue and take a project through discovery (the offline agents, the store). The histories
show who did what: every workflow task ran on the workflows worker, every (remote) activity on the
activities worker (the workflows worker runs local activities only)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.health import PingInput
from boardroom.settings import Settings
from domain.enums import Phase
from store.db import session_scope
from store.tables import Project
from tests.stack import running_stack
from tests.workflows.helpers import approve_until, cancel_and_wait, start_project
from workers.worker import create_worker, registrations
from workflows.smoke import SmokeWorkflow

WORKFLOWS_ID = "boardroom-test-workflows-role"
ACTIVITIES_ID = "boardroom-test-activities-role"


async def _histories(client: Client, workflow_id: str) -> dict[str, list]:  # type: ignore[type-arg]
    """The events of a workflow and (recursively) of every child it started."""
    events = [e async for e in client.get_workflow_handle(workflow_id).fetch_history_events()]
    found = {workflow_id: events}
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
            child = event.child_workflow_execution_started_event_attributes.workflow_execution.workflow_id
            found |= await _histories(client, child)
    return found


async def test_a_workflows_worker_and_an_activities_worker_take_a_project_through_discovery(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    client = dev_env.client
    async with (
        create_worker(client, settings, task_queue=task_queue, role="workflows", identity=WORKFLOWS_ID),
        create_worker(client, settings, task_queue=task_queue, role="activities", identity=ACTIVITIES_ID),
    ):
        handle = await start_project(client, task_queue)
        state = await approve_until(handle, Phase.execution)
        assert [m.phase for m in state.timeline][:2] == [Phase.discovery, Phase.execution]
        assert state.answers, "the interview answers reached the project"
        await cancel_and_wait(handle)

    histories = await _histories(client, handle.id)
    assert len(histories) == 1, "one workflow per project: discovery runs inside it"
    workflow_task_workers: set[str] = set()
    activity_workers: dict[str, set[str]] = {}
    scheduled: dict[int, str] = {}
    for events in histories.values():
        for e in events:
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                workflow_task_workers.add(e.workflow_task_started_event_attributes.identity)
            elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                scheduled[e.event_id] = e.activity_task_scheduled_event_attributes.activity_type.name
            elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                attrs = e.activity_task_started_event_attributes
                activity_workers.setdefault(scheduled[attrs.scheduled_event_id], set()).add(attrs.identity)
        scheduled.clear()
    assert workflow_task_workers == {WORKFLOWS_ID}
    _, lean_activities = registrations(settings, "workflows")
    lean_names = {a.__temporal_activity_definition.name for a in lean_activities}  # type: ignore[attr-defined]
    assert set(activity_workers) - lean_names, f"no agent activity ran: {sorted(activity_workers)}"
    assert {name: ids for name, ids in activity_workers.items() if ids != {ACTIVITIES_ID}} == {}
    # The store writes reached the read model (as local or as ordinary activities).
    with session_scope(settings.database_url) as session:
        row = session.get(Project, state.project_id)
        assert row is not None and row.phase == Phase.execution.value, row


@pytest.mark.timeout(300)
async def test_boardroom_worker_processes_of_each_role_run_the_smoke_workflow(tmp_path: Path, task_queue: str) -> None:
    """`boardroom worker` with BOARDROOM_WORKER_ROLE, as the production manifests run it: the
    smoke workflow's `ping` runs on the activities worker (the workflows worker never polls for
    activity tasks), its workflow task on the workflows worker."""
    async with running_stack(tmp_path, task_queue, persistent=False) as stack:
        (workflows_worker,) = await stack.start_workers(1, {"BOARDROOM_WORKER_ROLE": "workflows"})
        (activities_worker,) = await stack.start_workers(1, {"BOARDROOM_WORKER_ROLE": "activities"})
        assert "workflows worker polling task queue" in workflows_worker.output()
        assert "activities worker polling task queue" in activities_worker.output()
        client = await stack.client()
        out = await client.execute_workflow(
            SmokeWorkflow.run, PingInput(message="split"), id=f"smoke-{task_queue}", task_queue=task_queue
        )
        assert out.message == "split"
        events = [e async for e in client.get_workflow_handle(f"smoke-{task_queue}").fetch_history_events()]
        activity_identities = {
            e.activity_task_started_event_attributes.identity
            for e in events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        }
        workflow_identities = {
            e.workflow_task_started_event_attributes.identity
            for e in events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
        }
        # The SDK's default identity is "<pid>@<host>".
        assert {i.split("@")[0] for i in activity_identities} == {str(activities_worker.popen.pid)}
        assert {i.split("@")[0] for i in workflow_identities} == {str(workflows_worker.popen.pid)}
        # The workflows worker never touches the database: it runs no migrations and SQLAlchemy
        # (whose compiled modules would show in the process's memory map) is never loaded.
        assert "/sqlalchemy/" in _mapped_files(activities_worker.popen.pid)
        assert "/sqlalchemy/" not in _mapped_files(workflows_worker.popen.pid)


def _mapped_files(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()
