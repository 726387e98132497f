"""Sections 1 and 2: 50 autonomous projects from goal to operations, their Temporal actions and
history sizes; then bare workflows of the same shape at the same concurrency — one workflow per
project (the reference), and the old tree of child workflows."""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client

from bench.bare_calls import plain_json, write
from bench.bare_workflows import (
    BareExecutionInput,
    BareLeafInput,
    BareProjectInput,
    BareProjectOutput,
    BareProjectWorkflow,
    BareSingleWorkflow,
    BareTask,
)
from bench.common import percentile, rnd, start_projects, utc, wait_count
from bench.histories import Actions, RunInfo, Scheduled, fetch_trees, tree_actions
from domain.enums import AutoApprove, Phase
from domain.project import Policy, ProjectState
from workflows.project import ProjectWorkflow


def _by_type(tree: list[RunInfo], workflow_type: str) -> list[RunInfo]:
    return [r for r in tree if r.workflow_type == workflow_type]


# What a one-workflow project's activities belong to, by activity type; the rest (store writes
# such as sync_project, open_gate, record_decision, set_budget, and notices) are the project's own.
DISCOVERY_ACTIVITIES = frozenset({"interview_questions", "related_documents", "research", "plan", "assemble_team"})
TASK_ACTIVITIES = frozenset({"produce", "review"})
LAUNCH_ACTIVITIES = frozenset(
    {"compliance_review", "create_stripe_offer", "finalize_site", "publish_github", "announce_slack", "validate_launch"}
)
GROUPS = ("discovery", "execution", "launch")
# Workflow ids of the bare runs that make Boardroom's own activity calls.
SAME_PREFIX = "bench-bare-same"


def _group(activity: Scheduled) -> str | None:
    if activity.name in DISCOVERY_ACTIVITIES:
        return "discovery"
    if activity.name in TASK_ACTIVITIES:
        return "execution"
    if activity.name in LAUNCH_ACTIVITIES:
        return "launch"
    return None


def _batches(activities: list[Scheduled]) -> list[int]:
    """Sizes of the batches (activities scheduled by the same workflow task), in order."""
    sizes: dict[int, int] = {}
    for a in activities:
        sizes[a.workflow_task] = sizes.get(a.workflow_task, 0) + 1
    return [sizes[k] for k in sorted(sizes)]


def bare_shape(tree: list[RunInfo], state: ProjectState) -> BareProjectInput:
    """The same activities (and children, for a project recorded as a tree) as one measured
    Boardroom project, in the same shape."""
    if not _by_type(tree, "discovery"):
        return single_shape(tree[0], state)
    project = tree[0]
    slots = [project.activity_batches_by_children_done.get(i, []) for i in range(4)]
    extra = [b for k, v in project.activity_batches_by_children_done.items() if k >= 4 for b in v]
    slots[3] = slots[3] + extra
    discovery = _by_type(tree, "discovery")[0]
    execution = _by_type(tree, "execution")[0]
    launch = _by_type(tree, "launch")[0]
    runs = {r.workflow_id: r for r in tree}
    assert state.plan is not None
    tasks = [
        BareTask(
            id=t.id,
            depends_on=list(t.depends_on),
            batches=runs[f"{execution.workflow_id}/task-{t.id}"].activity_batches,
        )
        for t in state.plan.tasks
        if f"{execution.workflow_id}/task-{t.id}" in runs
    ]
    return BareProjectInput(
        slots=slots,
        discovery=BareLeafInput(batches=discovery.activity_batches),
        execution=BareExecutionInput(batches=execution.activity_batches, tasks=tasks),
        launch=BareLeafInput(batches=launch.activity_batches),
    )


def single_shape(project: RunInfo, state: ProjectState) -> BareProjectInput:
    """The shape of a project that ran as one workflow, from its own history: each activity
    classified by type (a task's by the task id in its input); the project's own activities go to
    the slot before the end of the phase they were scheduled in — as the tree's slots do, which
    are keyed by how many phase children had completed."""
    ends = {g: max((i for i, a in enumerate(project.activities) if _group(a) == g), default=-1) for g in GROUPS}
    # A phase without activities ends where the one before it ended.
    last = -1
    for g in GROUPS:
        last = ends[g] = max(ends[g], last)
    slots: list[list[Scheduled]] = [[], [], [], []]
    groups: dict[str, list[Scheduled]] = {g: [] for g in GROUPS}
    by_task: dict[str, list[Scheduled]] = {}
    for i, a in enumerate(project.activities):
        group = _group(a)
        if group is None:
            slots[sum(1 for g in GROUPS if i > ends[g])].append(a)
        elif group == "execution" and a.task_id is not None:
            by_task.setdefault(a.task_id, []).append(a)
        else:
            groups[group].append(a)
    assert state.plan is not None
    tasks = [
        BareTask(id=t.id, depends_on=list(t.depends_on), batches=_batches(by_task[t.id]))
        for t in state.plan.tasks
        if t.id in by_task
    ]
    return BareProjectInput(
        slots=[_batches(slot) for slot in slots],
        discovery=BareLeafInput(batches=_batches(groups["discovery"])),
        # Task activities whose task could not be told (not plain JSON) run before the tasks.
        execution=BareExecutionInput(batches=_batches(groups["execution"]), tasks=tasks),
        launch=BareLeafInput(batches=_batches(groups["launch"])),
    )


@dataclass
class MeasuredCalls:
    """One measured project's activities as calls a bare run can make again: its id (each bare
    run's inputs name a project of its own in its place); (activity name, arguments, result, each
    as JSON, and options) per activity; what each comes after; what each phase mark waits for."""

    project_id: str
    calls: list[tuple[str, str, str, dict[str, Any]]]
    after: list[list[int]]
    marks: dict[str, list[int]]


def measured_calls(project: RunInfo, state: ProjectState) -> MeasuredCalls:
    """Every activity `project` ran, with what it came after: the activities that had completed
    before the workflow task that scheduled it started (all it could have waited for — the
    recorded order, not a guess at the code's), and for each phase mark of the project's
    timeline the activities completed before it."""
    done = [a for a in project.activities if a.completed_event is not None]
    after = [
        [b.index for b in done if b.completed_event is not None and b.completed_event < a.workflow_task_started]
        for a in project.activities
    ]
    marks = {
        phase: [b.index for b in done if b.completed_at is not None and utc(b.completed_at) <= at]
        for phase, at in _timeline(state).items()
    }
    calls = [
        (a.name, plain_json(a.name, a.payloads), plain_json(a.name, a.result), a.options) for a in project.activities
    ]
    return MeasuredCalls(state.project_id, calls, after, marks)


def write_same_calls(path: Path, measured: MeasuredCalls, count: int) -> list[str]:
    """The calls file for `count` bare runs of the same activities; their workflow ids. Run i's
    project is `bench-same-<i>` where the measured project's id was."""
    ids = [f"{SAME_PREFIX}-{i:04d}" for i in range(count)]
    renames = {wid: (measured.project_id, f"bench-same-{i:04d}") for i, wid in enumerate(ids)}
    write(path, measured.calls, renames)
    return ids


def _actions_summary(trees: list[list[RunInfo]], queries_per_tree: int) -> dict[str, Any]:
    per_project = [tree_actions(tree, queries_per_tree) for tree in trees]
    mean = {
        name: rnd(statistics.mean(a.as_dict()[name] for a in per_project), 1)
        for name in Actions().as_dict()  # every counter, and the total
    }
    events = [r.events for tree in trees for r in tree]
    return {
        "actions_per_project_mean": mean,
        "actions_per_project_max": max(a.total for a in per_project),
        "runs_per_project": rnd(statistics.mean(len(t) for t in trees), 1),
        "history_events_per_run_max": max(events),
        "history_events_per_run_mean": rnd(statistics.mean(events), 1),
        "project_history_events_max": max(t[0].events for t in trees),
        "history_kib_per_project_mean": rnd(statistics.mean(sum(r.history_bytes for r in t) for t in trees) / 1024, 1),
        "sync_kib_per_project_mean": rnd(statistics.mean(sum(r.sync_bytes for r in t) for t in trees) / 1024, 1),
    }


def _phases(marks: list[dict[str, datetime]]) -> dict[str, float]:
    """p50 wall time of each phase (from when it began to when the next one did, the project's
    timeline; "operations" is the end of launch): where the time per project goes."""
    out: dict[str, float] = {}
    for phase, following in zip(GROUPS, (*GROUPS[1:], "operations"), strict=True):
        durations = [(m[following] - m[phase]).total_seconds() for m in marks if phase in m and following in m]
        if durations:
            out[phase] = rnd(percentile(durations, 50), 2)
    return out


def _timeline(state: ProjectState) -> dict[str, datetime]:
    """When the project first entered each phase."""
    marks: dict[str, datetime] = {}
    for mark in state.timeline:
        marks.setdefault(mark.phase.value, utc(mark.at))
    return marks


def _timing(starts: list[datetime], ends: list[datetime]) -> dict[str, float]:
    durations = [(e - s).total_seconds() for s, e in zip(starts, ends, strict=True)]
    makespan = (max(ends) - min(starts)).total_seconds()
    return {
        "makespan_s": rnd(makespan, 2),
        "projects_per_minute": rnd(len(durations) / makespan * 60, 1),
        "time_per_project_p50_s": rnd(percentile(durations, 50), 2),
        "time_per_project_p95_s": rnd(percentile(durations, 95), 2),
        "time_per_project_mean_s": rnd(statistics.mean(durations), 2),
    }


async def run_boardroom(
    client: Client, task_queue: str, count: int, timeout: float
) -> tuple[dict[str, Any], BareProjectInput, MeasuredCalls]:
    """Start `count` autonomous projects together; wait until all are in operations."""
    handles = await start_projects(client, task_queue, "bench-tp", count, Policy(auto_approve=AutoApprove.all))
    await wait_count(
        client,
        f"TaskQueue='{task_queue}' AND WorkflowType='project' AND (Phase='operations' OR ExecutionStatus!='Running')",
        count,
        timeout,
        f"{count} projects to reach operations",
        poll_s=0.25,
    )
    # One `state` query per project: the timeline says when it entered operations.
    states = await asyncio.gather(*(h.query(ProjectWorkflow.get_state) for h in handles))
    failed = [s.project_id for s in states if s.phase != Phase.operations]
    if failed:
        raise RuntimeError(f"{len(failed)} projects did not reach operations: {failed[:5]} ({states[0].error})")
    trees = await fetch_trees(client, [h.id for h in handles])
    starts = [utc(t[0].started_at) for t in trees]
    ends = [utc(next(m.at for m in s.timeline if m.phase == Phase.operations)) for s in states]
    result: dict[str, Any] = {
        "projects": count,
        **_timing(starts, ends),
        "phase_p50_s": _phases([_timeline(s) for s in states]),
        **_actions_summary(trees, queries_per_tree=1),
    }
    # The bare baseline copies the shape of the project with the median number of activities.
    ranked = sorted(range(count), key=lambda i: tree_actions(trees[i]).activities_scheduled)
    median = ranked[count // 2]
    shape = bare_shape(trees[median], states[median])
    calls = measured_calls(trees[median][0], states[median])
    result["shape"] = {
        "activities": tree_actions(trees[median]).activities_scheduled,
        "child_workflows": tree_actions(trees[median]).child_workflow_starts,
        "project_slots": shape.slots,
        "discovery": shape.discovery.batches,
        "launch": shape.launch.batches,
        "tasks": [{"id": t.id, "depends_on": t.depends_on, "batches": t.batches} for t in shape.execution.tasks],
    }
    return result, shape, calls


async def run_bare(
    client: Client,
    task_queue: str,
    count: int,
    shape: BareProjectInput,
    timeout: float,
    *,
    single: bool,
    same: MeasuredCalls | None = None,
) -> dict[str, Any]:
    """`count` bare projects at once — one workflow each (`single`) or the tree of child
    workflows; timed like Boardroom (start → end of launch). With `same`, single workflows that
    make the measured project's own activity calls in its recorded order (their worker loaded
    them from the file `write_same_calls` wrote) instead of no-ops of the shape."""
    run = BareSingleWorkflow.run if single else BareProjectWorkflow.run
    prefix = SAME_PREFIX if same is not None else "bench-bare-single" if single else "bench-bare-tree"
    if same is not None:
        shape = BareProjectInput(activity_queue=task_queue, after=same.after, marks=same.marks)
    handles = await asyncio.gather(
        *(client.start_workflow(run, shape, id=f"{prefix}-{i:04d}", task_queue=task_queue) for i in range(count))
    )
    outputs: list[BareProjectOutput] = await asyncio.wait_for(
        asyncio.gather(*(h.result() for h in handles)), timeout=timeout
    )
    trees = await fetch_trees(client, [h.id for h in handles])
    starts = [utc(t[0].started_at) for t in trees]
    ends = [utc(o.done_at) for o in outputs]
    return {
        "projects": count,
        **_timing(starts, ends),
        "phase_p50_s": _phases([{**o.phase_at, "operations": o.done_at} for o in outputs]),
        **_actions_summary(trees, queries_per_tree=0),
    }
