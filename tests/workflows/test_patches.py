"""One patch marker per run (workflows/patches.py): a new run records the newest baseline once
instead of a marker (and a TemporalChangeVersion upsert) per patch; runs recorded under an older
baseline find theirs, and runs recorded before any ask each patch."""

from __future__ import annotations

import ast
import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker
from temporalio.workflow import NondeterminismError

from boardroom.client import data_converter
from boardroom.settings import Settings
from domain.records import DecisionRecord, GateRecord
from tests.waiting import eventually
from tests.workflows.helpers import cancel_and_wait, decide, next_gate, scheduled_activities, start_project
from workers.worker import activities, create_worker, workflow_runner, workflows
from workflows import patches
from workflows.patches import BASELINE, BASELINES, COVERED, NEW, taken

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "workflows"
HISTORIES = ROOT / "tests" / "histories"


def _patch_constants() -> dict[str, str]:
    """PATCH_* = "id" at the top of every workflow module: {id: module}."""
    found: dict[str, str] = {}
    for path in sorted(WORKFLOWS.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id.startswith("PATCH_")
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                found[node.value.value] = path.name
    return found


def test_workflow_code_asks_every_patch_through_the_one_helper() -> None:
    """A direct `workflow.patched` beside the helper could answer a covered patch False after
    BASELINE answered True in the same run (or the other way round)."""
    direct = []
    for path in sorted(WORKFLOWS.glob("*.py")):
        if path.name == "patches.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("patched", "deprecate_patch")
                and isinstance(node.value, ast.Name)
                and node.value.id == "workflow"
            ):
                direct.append(f"{path.name}:{node.lineno}")
    assert direct == []


# The patches each baseline answers, as runs recorded them: a baseline's set never changes once a
# run has recorded it (that run knew only these); a later patch comes with a new baseline.
THEN = frozenset(
    {
        "budget-refusal-typed",
        "plan-visible-before-approval",
        "related-documents",
        "plan-approve-with-edits",
        "launch-site-before-publish",
        "compliance-before-go-live",
        "compliance-before-improvement-publish",
        "improvement-compliance-failure-noted",
        "deliverable-approve-with-edits",
        "decide-answers-before-follow-up",
        "cancel-in-activity-ends-cleanly",
        "decide-signal-refuses-internal-channels",
        "gate-notify-channels",
        "end-syncs-after-follow-ups",
        "slack-notice-per-phase",
        "auto-approve-yields-to-decision",
        "approve-with-edits",
        "gate-quorum-votes",
        "quorum-edits-stored-in-turn",
        "execution-role-budgets",
        "one-workflow",
        "role-budgets",
        "role-gate-decided-now",
        "routine-role-budgets",
    }
)
RECORDED = {
    "patches-2026-12": THEN,
    "patches-2026-12-06": THEN | {"store-writes-carry-sync", "research-finds-related"},
}
# The baseline a new run records, and the one before it (tests/histories/v7-one-patch-marker).
EARLIER = "patches-2026-12"


def test_each_baseline_answers_exactly_the_patches_of_its_day() -> None:
    assert dict(BASELINES) == RECORDED
    assert BASELINE == "patches-2026-12-06" and COVERED == RECORDED[BASELINE]
    assert NEW == {"store-writes-carry-sync", "research-finds-related"}
    # Every patch the workflow modules ask is covered by the newest baseline; none is a baseline.
    constants = _patch_constants()
    assert set(constants) == COVERED
    assert not set(constants) & set(RECORDED)


def test_a_run_takes_a_patch_by_its_own_marker_or_by_a_baseline_that_covers_it() -> None:
    assert taken({"one-workflow"}, "one-workflow")
    assert taken({BASELINE}, "one-workflow")
    assert taken({EARLIER}, "one-workflow")
    assert not taken({"slack-notice-per-phase"}, "one-workflow")
    # A patch from after a baseline needs its own marker in the runs recorded under it.
    assert taken({BASELINE}, "store-writes-carry-sync")
    assert not taken({EARLIER}, "store-writes-carry-sync")
    assert taken({EARLIER, "store-writes-carry-sync"}, "store-writes-carry-sync")
    assert not taken({BASELINE}, "a-later-patch")
    assert patches.patched.__module__ == "workflows.patches"


def _recorded_patches(history: WorkflowHistory) -> set[str]:
    """The patch ids a history recorded markers for."""
    return {
        json.loads(p.data)["id"]
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
        for p in e.marker_recorded_event_attributes.details["patch-data"].payloads
    }


async def _after_the_gate(handle: WorkflowHandle[Any, Any]) -> WorkflowHistory:
    """The history once the activity after the first `open_gate` is scheduled: the gate shows in
    the state before its write (and the sync after it) are."""

    async def probe() -> WorkflowHistory | None:
        history = await handle.fetch_history()
        names = scheduled_activities(history)
        return history if "open_gate" in names and names.index("open_gate") + 1 < len(names) else None

    found: WorkflowHistory = await eventually(probe, "the activity after open_gate")
    return found


def _markers_and_version_upserts(history_set: str, name: str) -> tuple[list[str], int]:
    events = json.loads((HISTORIES / history_set / f"{name}.json").read_text())["events"]
    markers = [
        json.loads(
            base64.b64decode(e["markerRecordedEventAttributes"]["details"]["patch-data"]["payloads"][0]["data"])
        )["id"]
        for e in events
        if "patch-data" in e.get("markerRecordedEventAttributes", {}).get("details", {})
    ]
    upserts = sum(
        1
        for e in events
        if "TemporalChangeVersion"
        in e.get("upsertWorkflowSearchAttributesEventAttributes", {})
        .get("searchAttributes", {})
        .get("indexedFields", {})
    )
    return markers, upserts


def test_a_recorded_run_holds_one_marker_where_it_held_one_per_patch() -> None:
    # v6: every patch the project met, a marker and a TemporalChangeVersion upsert each.
    before, before_upserts = _markers_and_version_upserts("v6-projection", "project")
    assert len(before) >= 7 and set(before) <= THEN and before_upserts == len(before)
    # v7: the same project, one marker, one upsert; v8: the newer baseline, still one (every set
    # replays: tests/replay).
    for history_set, baseline in (("v7-one-patch-marker", EARLIER), ("v8-store-syncs", BASELINE)):
        after, after_upserts = _markers_and_version_upserts(history_set, "project")
        assert (after, after_upserts) == ([baseline], 1)
        routine, _ = _markers_and_version_upserts(history_set, "routine")
        assert routine == [baseline]


async def test_a_new_run_syncs_the_read_model_with_the_gate_and_the_decision(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    """PATCH_STORE_SYNCS: the sync due when a gate opens travels with `open_gate`, the one due when
    it is decided with `record_decision`; no sync_project of their own follows either."""
    async with create_worker(dev_env.client, settings, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue, goal=f"Sell oat bars {uuid.uuid4().hex[:6]}")
        gate = await next_gate(handle, "interview")
        await decide(handle, gate)
        await next_gate(handle, "plan")
        history = await handle.fetch_history()
        await cancel_and_wait(handle)
    scheduled = [
        (e.activity_task_scheduled_event_attributes.activity_type.name, e.activity_task_scheduled_event_attributes)
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    names = [name for name, _ in scheduled]
    assert "related_documents" not in names and "research" in names, "research looks the documents up itself"
    for name, kind in (("open_gate", GateRecord), ("record_decision", DecisionRecord)):
        at = names.index(name)
        (record,) = await dev_env.client.data_converter.decode(list(scheduled[at][1].input.payloads), [kind])
        assert record.sync is not None and record.sync.pending_gates == (1 if name == "open_gate" else 0)
        assert names[at + 1] != "sync_project", names


async def test_with_the_baseline_off_a_new_run_stays_replayable_by_the_code_before_it(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BOARDROOM_PATCH_BASELINE=false, the first step of a rollout that keeps a rollback open: new
    runs record no baseline but a marker per patch, and leave out the patches the newest baseline
    brought — which the code before it replays (as does the code before any baseline); a run
    recorded with the baseline on cannot be replayed by the code before it (why the rollback
    needs that step)."""
    off = settings.model_copy(update={"patch_baseline": False})
    async with create_worker(dev_env.client, off, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue, goal=f"Sell oat bars {uuid.uuid4().hex[:6]}")
        await next_gate(handle, "interview")
        history = await _after_the_gate(handle)
        await cancel_and_wait(handle)
    recorded = _recorded_patches(history)
    assert not recorded & set(RECORDED) and {"one-workflow", "slack-notice-per-phase"} <= recorded
    assert not recorded & NEW
    # The path of before: the gate written, then the read model synced by an activity of its own.
    names = scheduled_activities(history)
    assert names[names.index("open_gate") + 1] == "sync_project", names

    def replayer() -> Replayer:
        return Replayer(workflows=workflows(), workflow_runner=workflow_runner(), data_converter=data_converter())

    def history_of(history_set: str) -> WorkflowHistory:
        ids = json.loads((HISTORIES / history_set / "workflow-ids.json").read_text())
        return WorkflowHistory.from_json(ids["project"], (HISTORIES / history_set / "project.json").read_text())

    # Today's code replays it; so does the code before BASELINE (the earlier baseline only, which
    # does not know the newer patches) and the code before any baseline (each patch on its own).
    assert (await replayer().replay_workflow(history)).replay_failure is None
    monkeypatch.setattr(patches, "BASELINES", BASELINES[1:])
    assert (await replayer().replay_workflow(history)).replay_failure is None
    assert (await replayer().replay_workflow(history_of("v7-one-patch-marker"))).replay_failure is None
    # A run recorded with today's baseline on: the code before it cannot replay it.
    failed = await replayer().replay_workflow(history_of("v8-store-syncs"), raise_on_replay_failure=False)
    assert isinstance(failed.replay_failure, NondeterminismError)
    monkeypatch.setattr(patches, "BASELINES", ())
    assert (await replayer().replay_workflow(history)).replay_failure is None
    failed = await replayer().replay_workflow(history_of("v7-one-patch-marker"), raise_on_replay_failure=False)
    assert isinstance(failed.replay_failure, NondeterminismError)


async def test_a_run_from_before_the_newest_baseline_goes_on_under_todays_worker(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run started on the code before `patches-2026-12-06` (it recorded `patches-2026-12` and took
    the old paths) is decided on today's worker: the patches its baseline did not know are asked
    on their own from then on, and the whole history replays."""
    monkeypatch.setattr(patches, "BASELINES", BASELINES[1:])
    before = Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=workflows(),
        activities=activities(settings),
        workflow_runner=workflow_runner(),
        patch_activation_callback=lambda ask: ask.patch_id not in NEW,
    )
    async with before:
        handle = await start_project(dev_env.client, task_queue, goal=f"Sell rye crackers {uuid.uuid4().hex[:6]}")
        interview = await next_gate(handle, "interview")
        await _after_the_gate(handle)
    monkeypatch.undo()
    async with create_worker(dev_env.client, settings, task_queue=task_queue):
        await decide(handle, interview)
        await next_gate(handle, "plan")
        history = await handle.fetch_history()
        await cancel_and_wait(handle)
    recorded = _recorded_patches(history)
    assert EARLIER in recorded and BASELINE not in recorded
    # The sync patch was asked when the interview gate opened, on the code before (False, kept for
    # the run): the decision keeps that path. Research's was first asked today: taken.
    assert "store-writes-carry-sync" not in recorded and "research-finds-related" in recorded
    names = scheduled_activities(history)
    assert names[names.index("open_gate") + 1] == "sync_project", names
    assert names[names.index("record_decision") + 1] == "sync_project", names
    assert "related_documents" not in names, "research looked the documents up itself"
    replayer = Replayer(workflows=workflows(), workflow_runner=workflow_runner(), data_converter=data_converter())
    assert (await replayer.replay_workflow(history)).replay_failure is None
