"""One patch marker per run (workflows/patches.py): a new run records BASELINE once instead of a
marker (and a TemporalChangeVersion upsert) per patch; runs recorded before it ask each patch."""

from __future__ import annotations

import ast
import base64
import json
import uuid
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from boardroom.client import data_converter
from boardroom.settings import Settings
from tests.workflows.helpers import cancel_and_wait, next_gate, start_project
from workers.worker import create_worker, workflow_runner, workflows
from workflows import patches
from workflows.patches import BASELINE, COVERED, taken

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


# The patches that existed when BASELINE was introduced: COVERED must never grow (a run that
# recorded BASELINE knew only these).
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


def test_covered_names_exactly_the_patches_of_then() -> None:
    assert COVERED == THEN
    # A patch added later gets its own constant and stays out of COVERED (see the module's
    # docstring); list it here when that happens.
    after_baseline: set[str] = set()
    constants = _patch_constants()
    assert set(constants) - after_baseline == THEN
    assert BASELINE not in constants


def test_a_run_takes_a_patch_by_its_own_marker_or_by_the_baseline() -> None:
    assert taken({"one-workflow"}, "one-workflow")
    assert taken({BASELINE}, "one-workflow")
    assert not taken({"slack-notice-per-phase"}, "one-workflow")
    # A patch from after the baseline needs its own marker.
    assert not taken({BASELINE}, "a-later-patch")
    assert taken({BASELINE, "a-later-patch"}, "a-later-patch")
    assert patches.patched.__module__ == "workflows.patches"


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
    assert len(before) >= 7 and set(before) <= COVERED and before_upserts == len(before)
    # v7: the same project, one marker, one upsert (both sets replay: tests/replay).
    after, after_upserts = _markers_and_version_upserts("v7-one-patch-marker", "project")
    assert (after, after_upserts) == ([BASELINE], 1)
    routine, _ = _markers_and_version_upserts("v7-one-patch-marker", "routine")
    assert routine == [BASELINE]


async def test_with_the_baseline_off_a_new_run_stays_replayable_by_the_code_before_it(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BOARDROOM_PATCH_BASELINE=false, the first step of a rollout that keeps a rollback open: new
    runs record a marker per patch, which the code before BASELINE replays; a run recorded with
    the baseline on it cannot (why the rollback needs that step)."""
    off = settings.model_copy(update={"patch_baseline": False})
    async with create_worker(dev_env.client, off, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue, goal=f"Sell oat bars {uuid.uuid4().hex[:6]}")
        await next_gate(handle, "interview")
        history = await handle.fetch_history()
        await cancel_and_wait(handle)
    recorded = {
        json.loads(p.data)["id"]
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
        for p in e.marker_recorded_event_attributes.details["patch-data"].payloads
    }
    assert BASELINE not in recorded and {"one-workflow", "slack-notice-per-phase"} <= recorded

    def replayer() -> Replayer:
        return Replayer(workflows=workflows(), workflow_runner=workflow_runner(), data_converter=data_converter())

    # Today's code replays it; so does the code before BASELINE (each patch asked on its own).
    assert (await replayer().replay_workflow(history)).replay_failure is None
    monkeypatch.setattr(patches, "COVERED", frozenset())
    assert (await replayer().replay_workflow(history)).replay_failure is None
    ids = json.loads((HISTORIES / "v7-one-patch-marker" / "workflow-ids.json").read_text())
    with_baseline = WorkflowHistory.from_json(
        ids["project"], (HISTORIES / "v7-one-patch-marker" / "project.json").read_text()
    )
    failed = await replayer().replay_workflow(with_baseline, raise_on_replay_failure=False)
    assert isinstance(failed.replay_failure, NondeterminismError)
