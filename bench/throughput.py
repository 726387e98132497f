"""Sections 1 and 2: 50 autonomous projects from goal to operations, their Temporal actions and
history sizes; then a bare workflow tree of the same shape at the same concurrency."""

from __future__ import annotations

import asyncio
import statistics
from datetime import datetime
from typing import Any

from temporalio.client import Client

from bench.bare_workflows import (
    BareExecutionInput,
    BareLeafInput,
    BareProjectInput,
    BareProjectOutput,
    BareProjectWorkflow,
    BareTask,
)
from bench.common import percentile, rnd, start_projects, utc, wait_count
from bench.histories import Actions, RunInfo, fetch_trees, tree_actions
from workflows.models import AutoApprove, Phase, Policy, ProjectState
from workflows.project import ProjectWorkflow


def _by_type(tree: list[RunInfo], workflow_type: str) -> list[RunInfo]:
    return [r for r in tree if r.workflow_type == workflow_type]


def bare_shape(tree: list[RunInfo], state: ProjectState) -> BareProjectInput:
    """The same activities and children as one measured Boardroom project, in the same shape."""
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
    }


def _phases(trees: list[list[RunInfo]]) -> dict[str, float]:
    """p50 wall time of each phase child (start → close): where the time per project goes."""
    out: dict[str, float] = {}
    for phase in ("discovery", "execution", "launch"):
        durations = [
            (r.closed_at - r.started_at).total_seconds()
            for tree in trees
            for r in tree
            if r.workflow_id == f"{tree[0].workflow_id}/{phase}" and r.closed_at is not None
        ]
        if durations:
            out[phase] = rnd(percentile(durations, 50), 2)
    return out


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


async def run_boardroom(client: Client, task_queue: str, count: int, timeout: float) -> tuple[dict[str, Any], Any]:
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
        "phase_p50_s": _phases(trees),
        **_actions_summary(trees, queries_per_tree=1),
    }
    # The bare baseline copies the shape of the project with the median number of activities.
    ranked = sorted(range(count), key=lambda i: tree_actions(trees[i]).activities_scheduled)
    median = ranked[count // 2]
    shape = bare_shape(trees[median], states[median])
    result["shape"] = {
        "activities": tree_actions(trees[median]).activities_scheduled,
        "child_workflows": tree_actions(trees[median]).child_workflow_starts,
        "tasks": [{"id": t.id, "depends_on": t.depends_on, "batches": t.batches} for t in shape.execution.tasks],
    }
    return result, shape


async def run_bare(
    client: Client, task_queue: str, count: int, shape: BareProjectInput, timeout: float
) -> dict[str, Any]:
    """The bare tree, `count` at once; timed like Boardroom (start → end of launch)."""
    handles = await asyncio.gather(
        *(
            client.start_workflow(BareProjectWorkflow.run, shape, id=f"bench-bare-{i:04d}", task_queue=task_queue)
            for i in range(count)
        )
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
        "phase_p50_s": _phases(trees),
        **_actions_summary(trees, queries_per_tree=0),
    }
