"""The bench's bare shape of a project that ran as one workflow, from its single history, and the
bare single workflow that runs it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.worker import Worker

from bench.bare_workflows import (
    BareExecutionInput,
    BareLeafInput,
    BareProjectInput,
    BareSingleWorkflow,
    BareTask,
    noop,
)
from bench.histories import Actions, RunInfo, Scheduled, summarise, task_id_of
from bench.throughput import bare_shape
from domain.project import ProjectState
from domain.work import Plan, TaskSpec

AT = datetime(2026, 1, 1, tzinfo=UTC)


def _run(activities: list[Scheduled]) -> RunInfo:
    return RunInfo(
        workflow_id="project-p1",
        workflow_type="project",
        events=0,
        started_at=AT,
        closed_at=None,
        actions=Actions(),
        activity_batches=[],
        activity_batches_by_children_done={},
        activities=activities,
    )


def test_task_id_is_read_from_a_json_input_only() -> None:
    data = json.dumps({"project_id": "p1", "task": {"id": "pricing", "title": "Pricing"}}).encode()
    assert task_id_of([Payload(metadata={"encoding": b"json/plain"}, data=data)]) == "pricing"
    assert task_id_of([Payload(metadata={"encoding": b"binary/encrypted"}, data=data)]) is None
    assert task_id_of([Payload(metadata={"encoding": b"json/plain"}, data=b'{"task": null}')]) is None


def test_single_history_is_split_into_phases_tasks_and_project_slots() -> None:
    s = Scheduled
    activities = [
        s("sync_project", 4),
        s("interview_questions", 4),
        s("open_gate", 9),
        s("research", 12),
        s("related_documents", 12),
        s("plan", 15),
        s("sync_project", 18),  # after discovery: the project's own, before execution
        s("produce", 18, "a"),
        s("produce", 18, "b"),
        s("review", 21, "a"),
        s("set_budget", 21),
        s("review", 24, "b"),
        s("produce", 27, "c"),
        s("review", 30, "c"),
        s("sync_project", 33),
        s("compliance_review", 33),
        s("finalize_site", 36),
        s("publish_github", 36),
        s("sync_project", 40),
        s("notify_slack", 40),
    ]
    plan = Plan(
        tasks=[
            TaskSpec(id="a", title="A", role="r"),
            TaskSpec(id="b", title="B", role="r"),
            TaskSpec(id="c", title="C", role="r", depends_on=["a", "b"]),
        ]
    )
    shape = bare_shape([_run(activities)], ProjectState(project_id="p1", name="n", goal="g", plan=plan))
    assert shape.slots == [[1, 1], [1, 1], [1], [2]]
    assert shape.discovery.batches == [1, 2, 1]
    assert shape.execution.batches == []
    assert [(t.id, t.depends_on, t.batches) for t in shape.execution.tasks] == [
        ("a", [], [1, 1]),
        ("b", [], [1, 1]),
        ("c", ["a", "b"], [1, 1]),
    ]
    assert shape.launch.batches == [1, 2]
    total = sum(map(sum, shape.slots)) + sum(shape.discovery.batches) + sum(shape.launch.batches)
    assert total + sum(sum(t.batches) for t in shape.execution.tasks) == len(activities)


async def test_bare_single_workflow_runs_the_shape_in_one_history(dev_client: Client, task_queue: str) -> None:
    shape = BareProjectInput(
        slots=[[1], [2], [1], [1]],
        discovery=BareLeafInput(batches=[1, 1]),
        execution=BareExecutionInput(
            tasks=[BareTask(id="a", batches=[1, 1]), BareTask(id="b", depends_on=["a"], batches=[2])]
        ),
        launch=BareLeafInput(batches=[3]),
    )
    async with Worker(dev_client, task_queue=task_queue, workflows=[BareSingleWorkflow], activities=[noop]):
        handle = await dev_client.start_workflow(
            BareSingleWorkflow.run, shape, id=f"bare-single-{task_queue}", task_queue=task_queue
        )
        out = await handle.result()
    run = summarise(handle.id, await handle.fetch_history())
    assert run.children == []
    assert run.actions.activities_scheduled == 14  # 5 in slots, 2 + 4 + 3 in the phases
    assert out.phase_at["discovery"] <= out.phase_at["execution"] <= out.phase_at["launch"] <= out.done_at
