"""Recorded histories of every workflow type replay against today's code (same data converter),
and a deliberately changed workflow is caught as non-deterministic."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.workflow import NondeterminismError

from boardroom.client import data_converter
from tests.replay.changed_workflows import ProjectWithReorderedTasks, ReorderedProduceReview
from workers.worker import workflow_runner, workflows

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
WORKFLOW_TYPES = {"project", "discovery", "execution", "produce-review", "launch", "operations-review", "smoke"}


# v1: recorded before the patched changes (plan shown before approval, decide answering early);
# v2: recorded after them; v3: after this round's patched changes. All must replay against today's code.
# (tests/histories/notify/ holds single changes, replayed by test_replay_notify.py.)
# Each history replays twice: on the worker's own sandbox (the project's modules passed through,
# imported once) and on Temporal's strict default sandbox, which re-imports the workflow modules
# into every run and so still catches a non-deterministic call (datetime.now(), random, I/O) that
# the pass-through would let by.
RUNNERS: dict[str, Callable[[], WorkflowRunner]] = {"worker": workflow_runner, "strict": SandboxedWorkflowRunner}

SETS = sorted(p.name for p in HISTORIES.iterdir() if p.is_dir() and p.name.startswith("v"))


def load(name: str, history_set: str = "v1") -> WorkflowHistory:
    folder = HISTORIES / history_set
    ids = json.loads((folder / "workflow-ids.json").read_text())
    return WorkflowHistory.from_json(ids[name], (folder / f"{name}.json").read_text())


# From v5 on a project is one workflow: no discovery, execution, launch or review runs (a
# routine's task is still a produce-review workflow).
ONE_WORKFLOW_TYPES = {"project", "produce-review", "smoke", "routine"}


def types_in(history_set: str) -> set[str]:
    """The workflow types a set must hold: routines exist from v3 on, one workflow from v5."""
    if history_set >= "v5":
        return ONE_WORKFLOW_TYPES
    return WORKFLOW_TYPES | ({"routine"} if history_set >= "v3" else set())


@pytest.mark.parametrize("history_set", SETS)
def test_every_workflow_type_has_a_recorded_history(history_set: str) -> None:
    folder = HISTORIES / history_set
    recorded = {p.stem for p in folder.glob("*.json")} - {"workflow-ids"}
    assert types_in(history_set) <= recorded
    for name in types_in(history_set):
        events = json.loads((folder / f"{name}.json").read_text())["events"]
        assert events[0]["workflowExecutionStartedEventAttributes"]["workflowType"]["name"] == name


def test_both_sides_of_every_patch_are_recorded() -> None:
    from workflows.discovery import PATCH_PLAN_VISIBLE
    from workflows.project import PATCH_FAST_DECIDE

    def patches(history_set: str, name: str) -> set[str]:
        events = json.loads((HISTORIES / history_set / f"{name}.json").read_text())["events"]
        found: set[str] = set()
        for event in events:
            details = event.get("markerRecordedEventAttributes", {}).get("details", {})
            for payload in details.get("patch-data", {}).get("payloads", []):
                found.add(json.loads(base64.b64decode(payload["data"]))["id"])
        return found

    for patch, name in ((PATCH_PLAN_VISIBLE, "discovery"), (PATCH_FAST_DECIDE, "project")):
        assert patch not in patches("v1", name)
        assert patch in patches("v2", name)
    # v3: recorded after this round's changes to live workflows (site and compliance before
    # go-live, a Slack notice per phase, the final sync after the decision follow-ups).
    from workflows.launch import PATCH_COMPLIANCE, PATCH_SITE_BEFORE_PUBLISH
    from workflows.project import PATCH_END_AFTER_FOLLOW_UPS, PATCH_PHASE_NOTICE

    v3 = (
        (PATCH_SITE_BEFORE_PUBLISH, "launch"),
        (PATCH_COMPLIANCE, "launch"),
        (PATCH_PHASE_NOTICE, "project"),
        (PATCH_END_AFTER_FOLLOW_UPS, "project"),
    )
    for patch, name in v3:
        assert patch not in patches("v2", name)
        assert patch in patches("v3", name)
    # v4-learn2: role budgets, related documents in discovery, compliance before improvements are published.
    from workflows.discovery import PATCH_RELATED
    from workflows.operations import PATCH_IMPROVEMENT_COMPLIANCE
    from workflows.role_budgets import PATCH_ROLE_BUDGETS

    v4 = (
        (PATCH_ROLE_BUDGETS, "project"),
        (PATCH_RELATED, "discovery"),
        (PATCH_IMPROVEMENT_COMPLIANCE, "operations-review"),
    )
    for patch, name in v4:
        assert patch not in patches("v3", name)
        assert patch in patches("v4-learn2", name)
    # v5-one-workflow: the project runs its phases and tasks inline.
    from workflows.project import PATCH_ONE_WORKFLOW

    assert PATCH_ONE_WORKFLOW not in patches("v4-learn2", "project")
    assert PATCH_ONE_WORKFLOW in patches("v5-one-workflow", "project")
    events = json.loads((HISTORIES / "v5-one-workflow" / "project.json").read_text())["events"]
    assert not [e for e in events if "startChildWorkflowExecutionInitiatedEventAttributes" in e]


@pytest.mark.parametrize("runner", sorted(RUNNERS))
@pytest.mark.parametrize(("name", "history_set"), [(name, s) for s in SETS for name in sorted(types_in(s))])
async def test_recorded_history_replays(name: str, history_set: str, runner: str) -> None:
    sandbox: WorkflowRunner = RUNNERS[runner]()
    replayer = Replayer(workflows=workflows(), workflow_runner=sandbox, data_converter=data_converter())
    result = await replayer.replay_workflow(load(name, history_set))
    assert result.replay_failure is None


async def test_a_changed_workflow_fails_replay_with_nondeterminism() -> None:
    replayer = Replayer(
        workflows=[ReorderedProduceReview], workflow_runner=workflow_runner(), data_converter=data_converter()
    )
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(load("produce-review"))


async def test_a_changed_task_inside_the_one_workflow_fails_replay_with_nondeterminism() -> None:
    """The same refactor of a task, now a coroutine of the project workflow: replaying a project
    recorded in the one-workflow shape catches it."""
    replayer = Replayer(
        workflows=[ProjectWithReorderedTasks], workflow_runner=workflow_runner(), data_converter=data_converter()
    )
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(load("project", "v5-one-workflow"))


def sync_inputs(history_set: str) -> list[dict[str, object]]:
    """The input of every `sync_project` the recorded project scheduled, in order."""
    events = json.loads((HISTORIES / history_set / "project.json").read_text())["events"]
    return [
        json.loads(base64.b64decode(attrs["input"]["payloads"][0]["data"]))
        for e in events
        if (attrs := e.get("activityTaskScheduledEventAttributes")) and attrs["activityType"]["name"] == "sync_project"
    ]


def test_from_v6_a_project_syncs_only_what_changed() -> None:
    """v5 projects sent their whole state at every sync (and still replay, above); from
    v6-projection on, a sync carries the fields that changed since the run's last one (of gates
    and tasks, the items that changed)."""
    v5, v6 = sync_inputs("v5-one-workflow"), sync_inputs("v6-projection")
    assert v5 and all(s["state"] and s.get("changes") is None for s in v5)
    assert len(v6) >= 4 and all(s["state"] is None and isinstance(s["changes"], dict) for s in v6)
    # The last sync, once the project stopped, is the whole state again (the read model's last word).
    assert v6[-1]["status"] in ("cancelled", "completed", "failed")
    assert isinstance(v6[-1]["changes"], dict) and {"name", "goal", "gates", "tasks"} <= set(v6[-1]["changes"])
    first, *later = [s["changes"] for s in v6[:-1]]
    assert isinstance(first, dict) and {"name", "goal", "gates", "tasks", "plan"} <= set(first)
    assert not [c for c in later if isinstance(c, dict) and "goal" in c]
    # Gates go item by item once sent: the changed ones and the order.
    gates = [c["gates"] for c in later if isinstance(c, dict) and "gates" in c]
    assert gates and all(isinstance(g, dict) and set(g) == {"$items", "$order"} for g in gates)
    # What the read model's syncs weigh in the history, per sync: less than half of before.
    weight = {s: sum(len(json.dumps(x)) for x in xs) / len(xs) for s, xs in (("v5", v5), ("v6", v6))}
    assert weight["v6"] < weight["v5"] / 2, weight
