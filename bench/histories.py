"""Temporal actions and history sizes, counted from the histories of a workflow and all of its
child workflows (recursively), and the shape of that tree for the bare comparison."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory

E = EventType

# How many histories the bench fetches at once (the server shares two cores with everything).
FETCH_CONCURRENCY = 8

# Activities whose input names the task they work on ({"task": {"id": ...}}).
TASK_ACTIVITIES = frozenset({"produce", "review"})


@dataclass
class Scheduled:
    """One activity a run scheduled: its type, the workflow task that scheduled it, for the
    activities of a task (produce, review) the task's id; its place among the run's activities and
    its input as recorded (a bare run can make the same call)."""

    name: str
    workflow_task: int
    task_id: str | None = None
    index: int = -1
    payloads: list[Payload] = field(default_factory=list)
    # Its result as recorded, when it completed.
    result: list[Payload] = field(default_factory=list)
    # Event ids: the start of the workflow task that scheduled it, and its completion. Every
    # activity completed before that workflow task started could have led to it.
    workflow_task_started: int = 0
    completed_event: int | None = None
    completed_at: datetime | None = None
    # Its options as scheduled: start-to-close and heartbeat timeouts (s), attempts, summary.
    options: dict[str, Any] = field(default_factory=dict)


def task_id_of(payloads: list[Payload]) -> str | None:
    """The task id in a (JSON) activity input, None when there is none or it is not plain JSON."""
    if not payloads or payloads[0].metadata.get("encoding") != b"json/plain":
        return None
    try:
        data = json.loads(payloads[0].data)
    except ValueError:
        return None
    task = data.get("task") if isinstance(data, dict) else None
    found = task.get("id") if isinstance(task, dict) else None
    return found if isinstance(found, str) else None


def _options(ev: HistoryEvent) -> dict[str, Any]:
    """What a bare run needs to schedule the same activity the same way."""
    attrs = ev.activity_task_scheduled_event_attributes
    out: dict[str, Any] = {
        "start_to_close_s": attrs.start_to_close_timeout.ToTimedelta().total_seconds() or None,
        "heartbeat_s": attrs.heartbeat_timeout.ToTimedelta().total_seconds() or None,
        "attempts": attrs.retry_policy.maximum_attempts or None,
    }
    summary = ev.user_metadata.summary
    if summary.metadata.get("encoding") == b"json/plain":
        try:
            out["summary"] = json.loads(summary.data)
        except ValueError:
            pass
    return out


@dataclass
class Actions:
    """What one workflow tree did, by the kinds of Temporal actions it is billed and bounded by."""

    workflow_starts: int = 0
    child_workflow_starts: int = 0
    activities_scheduled: int = 0
    activity_retries: int = 0
    timers_started: int = 0
    signals_received: int = 0
    signals_sent: int = 0
    updates: int = 0
    queries: int = 0
    search_attribute_upserts: int = 0
    continue_as_new: int = 0
    # Not billed actions, but what the server and the worker actually process.
    workflow_tasks: int = 0
    runs: int = 0

    @property
    def total(self) -> int:
        """Billable actions: signals are counted once (when received) — a workflow's signal to
        another workflow is one action, not two."""
        return (
            self.workflow_starts
            + self.child_workflow_starts
            + self.activities_scheduled
            + self.activity_retries
            + self.timers_started
            + self.signals_received
            + self.updates
            + self.queries
            + self.search_attribute_upserts
            + self.continue_as_new
        )

    def add(self, other: Actions) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        out = {name: int(getattr(self, name)) for name in self.__dataclass_fields__}
        out["total"] = self.total
        return out


@dataclass
class RunInfo:
    """One run's history, summarised."""

    workflow_id: str
    workflow_type: str
    events: int
    started_at: datetime
    closed_at: datetime | None
    actions: Actions
    # Sizes of the batches of activities scheduled together (one workflow task each), in order.
    activity_batches: list[int]
    # Activity batches of this run grouped by how many of its children had completed before them.
    activity_batches_by_children_done: dict[int, list[int]]
    children: list[str] = field(default_factory=list)
    # Every activity scheduled, in history order (a single-workflow project is classified from these).
    activities: list[Scheduled] = field(default_factory=list)
    # The history's size (its events as stored), and what the read-model syncs' inputs take of it.
    history_bytes: int = 0
    sync_bytes: int = 0


def summarise(workflow_id: str, history: WorkflowHistory) -> RunInfo:
    events: list[HistoryEvent] = list(history.events)
    first = events[0]
    assert first.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    workflow_type = first.workflow_execution_started_event_attributes.workflow_type.name
    a = Actions(
        workflow_starts=0
        if first.workflow_execution_started_event_attributes.parent_workflow_execution.workflow_id
        else 1,
        runs=1,
    )
    batches: dict[int, int] = {}
    by_done: dict[int, dict[int, int]] = {}
    children: list[str] = []
    scheduled: list[Scheduled] = []
    by_event: dict[int, Scheduled] = {}
    wft_started: dict[int, int] = {}
    children_done = 0
    closed_at: datetime | None = None
    sync_bytes = 0
    for ev in events:
        t = ev.event_type
        if t == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            a.activities_scheduled += 1
            attrs = ev.activity_task_scheduled_event_attributes
            wft = attrs.workflow_task_completed_event_id
            name = attrs.activity_type.name
            if name == "sync_project":
                sync_bytes += attrs.input.ByteSize()
            task_id = task_id_of(list(attrs.input.payloads)) if name in TASK_ACTIVITIES else None
            scheduled.append(
                Scheduled(
                    name=name,
                    workflow_task=wft,
                    task_id=task_id,
                    index=len(scheduled),
                    payloads=list(attrs.input.payloads),
                    workflow_task_started=wft_started.get(wft, 0),
                    options=_options(ev),
                )
            )
            by_event[ev.event_id] = scheduled[-1]
            batches[wft] = batches.get(wft, 0) + 1
            slot = by_done.setdefault(children_done, {})
            slot[wft] = slot.get(wft, 0) + 1
        elif t == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            attrs_done = ev.activity_task_completed_event_attributes
            done = by_event.get(attrs_done.scheduled_event_id)
            if done is not None:
                done.result = list(attrs_done.result.payloads)
                done.completed_event = ev.event_id
                done.completed_at = ev.event_time.ToDatetime()
        elif t == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            if ev.activity_task_started_event_attributes.attempt > 1:
                a.activity_retries += 1
        elif t == E.EVENT_TYPE_TIMER_STARTED:
            a.timers_started += 1
        elif t == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            a.child_workflow_starts += 1
            children.append(ev.start_child_workflow_execution_initiated_event_attributes.workflow_id)
        elif t in (
            E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
            E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
            E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
            E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
            E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
        ):
            children_done += 1
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            a.signals_received += 1
        elif t == E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
            a.signals_sent += 1
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            a.updates += 1
        elif t == E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            a.search_attribute_upserts += 1
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            a.continue_as_new += 1
            closed_at = ev.event_time.ToDatetime()
        elif t == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            a.workflow_tasks += 1
            wft_started[ev.event_id] = ev.workflow_task_completed_event_attributes.started_event_id
        elif t in (
            E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
        ):
            closed_at = ev.event_time.ToDatetime()
    return RunInfo(
        workflow_id=workflow_id,
        workflow_type=workflow_type,
        events=len(events),
        started_at=first.event_time.ToDatetime(),
        closed_at=closed_at,
        actions=a,
        activity_batches=[batches[k] for k in sorted(batches)],
        activity_batches_by_children_done={
            done: [slot[k] for k in sorted(slot)] for done, slot in sorted(by_done.items())
        },
        children=children,
        activities=scheduled,
        history_bytes=sum(ev.ByteSize() for ev in events),
        sync_bytes=sync_bytes,
    )


async def _decode_task_inputs(client: Client, history: WorkflowHistory) -> None:
    """With a payload codec (encryption), decode the inputs of task activities in place."""
    codec = client.data_converter.payload_codec
    if codec is None:
        return
    for ev in history.events:
        if ev.event_type != E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            continue
        attrs = ev.activity_task_scheduled_event_attributes
        if attrs.activity_type.name in TASK_ACTIVITIES:
            decoded = await codec.decode(list(attrs.input.payloads))
            del attrs.input.payloads[:]
            attrs.input.payloads.extend(decoded)


async def fetch_tree(client: Client, workflow_id: str, sem: asyncio.Semaphore) -> list[RunInfo]:
    """The latest run of `workflow_id` and, recursively, the runs of every child it started."""
    async with sem:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
    await _decode_task_inputs(client, history)
    info = summarise(workflow_id, history)
    subtrees = await asyncio.gather(*(fetch_tree(client, child, sem) for child in info.children))
    return [info] + [run for tree in subtrees for run in tree]


async def fetch_trees(client: Client, workflow_ids: list[str]) -> list[list[RunInfo]]:
    sem = asyncio.Semaphore(FETCH_CONCURRENCY)
    return list(await asyncio.gather(*(fetch_tree(client, wid, sem) for wid in workflow_ids)))


def tree_actions(tree: list[RunInfo], queries: int = 0) -> Actions:
    total = Actions(queries=queries)
    for run in tree:
        total.add(run.actions)
    return total
