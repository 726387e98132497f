"""The bench's bare shape of a project that ran as one workflow, from its single history, and the
bare single workflow that runs it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.worker import Worker

from bench import bare_calls
from bench.bare_calls import learn, plain_json, rename_ids
from bench.bare_workflows import (
    BareExecutionInput,
    BareLeafInput,
    BareProjectInput,
    BareSingleWorkflow,
    BareTask,
    noop,
)
from bench.histories import Actions, RunInfo, Scheduled, summarise, task_id_of
from bench.throughput import bare_shape, measured_calls, write_same_calls
from domain.enums import Phase
from domain.project import PhaseMark, ProjectState
from domain.work import Plan, TaskSpec
from workers.worker import workflow_runner

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


def test_recorded_document_ids_are_replaced_by_the_ones_the_bare_run_got() -> None:
    ids: dict[int, int] = {}
    # research stored document 5 in the measured run and document 41 in this one; the site's id
    # comes back as digits in a details map.
    learn({"document_id": 5, "summary": "s"}, {"document_id": 41, "summary": "s"}, ids)
    learn([{"deliverable_id": 7}, {"deliverable_id": 8}], [{"deliverable_id": 70}, {"deliverable_id": 8}], ids)
    learn({"details": {"document_id": "9"}}, {"details": {"document_id": "90"}}, ids)
    # The other projects' documents research found are theirs, not this run's to learn.
    learn(
        {"document_id": 5, "related": [{"document_id": 3}]}, {"document_id": 41, "related": [{"document_id": 2}]}, ids
    )
    assert ids == {5: 41, 7: 70, 9: 90}
    assert bare_calls.holds_ids({"a": [{"deliverable_id": 1}]}) and not bare_calls.holds_ids({"round": 5, "id": 7})
    later = {
        "context": {"research_document_id": 5, "upstream": [{"deliverable_id": 7, "title": "t"}]},
        "deliverable_ids": [7, 8, 12],
        "site_document_id": 9,
        "details": {"document_id": "9"},
        # Not a document id: left alone even where the number matches.
        "round": 5,
        "task": {"id": "7"},
    }
    assert rename_ids(later, ids) == {
        "context": {"research_document_id": 41, "upstream": [{"deliverable_id": 70, "title": "t"}]},
        "deliverable_ids": [70, 8, 12],
        "site_document_id": 90,
        "details": {"document_id": "90"},
        "round": 5,
        "task": {"id": "7"},
    }


def test_calls_file_gives_each_bare_run_a_project_of_its_own(tmp_path: Path) -> None:
    json_payload = {"encoding": b"json/plain"}
    t0 = datetime(2026, 1, 1, 0, 0, 1)  # event times are naive UTC
    run = _run(
        [
            Scheduled(
                "research",
                4,
                index=0,
                payloads=[Payload(metadata=json_payload, data=b'{"project_id": "bench-tp-0003"}')],
                result=[Payload(metadata=json_payload, data=b'{"document_id": 5}')],
                workflow_task_started=3,
                completed_event=9,
                completed_at=t0,
                options={"start_to_close_s": 120.0, "heartbeat_s": 30.0, "attempts": 3, "summary": "research"},
            ),
            Scheduled(
                "notify_slack",
                4,
                index=1,
                payloads=[Payload(metadata={"encoding": b"binary/null"}, data=b"")],
                workflow_task_started=3,
                completed_event=8,
                completed_at=t0,
            ),
            # Scheduled by the workflow task that started after both had completed (event 11).
            Scheduled("plan", 12, index=2, workflow_task_started=11),
        ]
    )
    state = ProjectState(project_id="bench-tp-0003", name="n", goal="g")
    state.timeline = [
        PhaseMark(phase=Phase.discovery, at=AT),
        PhaseMark(phase=Phase.execution, at=datetime(2026, 1, 1, 0, 0, 2, tzinfo=UTC)),
    ]
    measured = measured_calls(run, state)
    assert measured.calls[0][:3] == ("research", '[{"project_id": "bench-tp-0003"}]', '[{"document_id": 5}]')
    assert measured.calls[1][:3] == ("notify_slack", "[null]", "[]")
    # What each call comes after: what had completed when its workflow task started.
    assert measured.after == [[], [], [0, 1]]
    assert measured.marks == {"discovery": [], "execution": [0, 1]}
    path = tmp_path / "calls.json"
    ids = write_same_calls(path, measured, 2)
    assert bare_calls.load(path) == 2
    first, second = (bare_calls.CALLS[wid] for wid in ids)
    assert first[0] == bare_calls.Call(
        "research",
        [{"project_id": "bench-same-0000"}],
        {"document_id": 5},
        {"start_to_close_s": 120.0, "heartbeat_s": 30.0, "attempts": 3, "summary": "research"},
        carries_ids=False,
        returns_ids=True,
    )
    assert second[0].args == [{"project_id": "bench-same-0001"}]
    assert first[1] == bare_calls.Call("notify_slack", [None], None, {}, carries_ids=False, returns_ids=False)
    with pytest.raises(bare_calls.CallsError, match="not plain JSON"):
        plain_json("produce", [Payload(metadata={"encoding": b"binary/encrypted"}, data=b"x")])


@activity.defn(name="bench-test-store")
async def _store(data: dict[str, Any]) -> dict[str, Any]:
    return {"document_id": 1000 + data["n"]}


_SEEN: list[Any] = []


@activity.defn(name="bench-test-use")
async def _use(data: dict[str, Any]) -> None:
    _SEEN.append(data)


async def test_bare_single_workflow_makes_the_measured_calls_in_their_order_with_its_own_ids(
    dev_client: Client, task_queue: str
) -> None:
    wid = f"bare-same-{task_queue}"
    bare_calls.CALLS[wid] = [
        bare_calls.Call("bench-test-store", [{"n": 1}], {"document_id": 5}, {"summary": "store one"}),
        bare_calls.Call("bench-test-store", [{"n": 2}], {"document_id": 6}),
        bare_calls.Call("bench-test-use", [{"project_id": "p", "deliverable_ids": [5, 6]}], None),
    ]
    # The third comes after the first two; "launch" begins once the first is done.
    shape = BareProjectInput(
        activity_queue=task_queue, after=[[], [], [0, 1]], marks={"launch": [0], "operations": [2]}
    )
    # As the bare worker runs it: the calls are the worker's one copy, shared with every run.
    runner = workflow_runner("bench.bare_workflows", "bench.bare_calls")
    _SEEN.clear()
    try:
        async with Worker(
            dev_client,
            task_queue=task_queue,
            workflows=[BareSingleWorkflow],
            activities=[_store, _use],
            workflow_runner=runner,
        ):
            handle = await dev_client.start_workflow(BareSingleWorkflow.run, shape, id=wid, task_queue=task_queue)
            out = await handle.result()
    finally:
        del bare_calls.CALLS[wid]
    # The third call got the ids the first two returned in this run, not the recorded 5 and 6.
    assert _SEEN == [{"project_id": "p", "deliverable_ids": [1001, 1002]}]
    assert out.phase_at["launch"] <= out.done_at
    run = summarise(handle.id, await handle.fetch_history())
    assert [a.name for a in run.activities] == ["bench-test-store", "bench-test-store", "bench-test-use"]
    # The first two were scheduled together; the third only once both had completed.
    assert run.activities[0].workflow_task == run.activities[1].workflow_task
    assert run.activities[2].workflow_task_started > max(a.completed_event or 0 for a in run.activities[:2])
    assert run.activities[0].options["summary"] == "store one"
