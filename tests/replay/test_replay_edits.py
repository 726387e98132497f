"""Approve with edits and quorum votes replay: a project with a 2-of-3 quorum whose plan was approved
with an edited task list and whose high-risk deliverable was approved with edited text (recorded
by tests/replay/record_edits.py), its discovery and that task's produce-review. The older sets
(v1–v3) prove the unpatched side."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from boardroom.client import data_converter
from workers.worker import workflows
from workflows.discovery import PATCH_PLAN_EDITS
from workflows.patches import taken
from workflows.produce_review import PATCH_EDITED_DELIVERABLE
from workflows.project import PATCH_APPROVE_WITH_EDITS, PATCH_QUORUM

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
FOLDER = HISTORIES / "edits"
PATCHES = {
    "project": {PATCH_APPROVE_WITH_EDITS, PATCH_QUORUM},
    "discovery": {PATCH_PLAN_EDITS},
    "produce-review": {PATCH_EDITED_DELIVERABLE},
}


def load(name: str) -> WorkflowHistory:
    ids = json.loads((FOLDER / "workflow-ids.json").read_text())
    return WorkflowHistory.from_json(ids[name], (FOLDER / f"{name}.json").read_text())


def events(folder: Path, name: str) -> list[dict[str, object]]:
    return list(json.loads((folder / f"{name}.json").read_text())["events"])


def patches(folder: Path, name: str) -> set[str]:
    found: set[str] = set()
    for event in events(folder, name):
        details = event.get("markerRecordedEventAttributes", {}).get("details", {})  # type: ignore[attr-defined]
        for payload in details.get("patch-data", {}).get("payloads", []):
            found.add(json.loads(base64.b64decode(payload["data"]))["id"])
    return found


@pytest.mark.parametrize("name", sorted(PATCHES))
async def test_edits_history_replays(name: str) -> None:
    started = events(FOLDER, name)[0]["workflowExecutionStartedEventAttributes"]
    assert started["workflowType"]["name"] == name  # type: ignore[index]
    result = await Replayer(workflows=workflows(), data_converter=data_converter()).replay_workflow(load(name))
    assert result.replay_failure is None


def test_the_recorded_runs_took_the_patched_paths() -> None:
    for name, wanted in PATCHES.items():
        # Re-recorded today, a run holds one marker for them all (workflows/patches.py).
        assert all(taken(patches(FOLDER, name), w) for w in wanted), name
        # The sets recorded before these patches (v5 on were recorded after them).
        for older in sorted(p for p in HISTORIES.iterdir() if p.is_dir() and "v" <= p.name < "v5"):
            assert not wanted & patches(older, name), (older.name, name)
    scheduled = [
        e["activityTaskScheduledEventAttributes"]["activityType"]["name"]  # type: ignore[index]
        for e in events(FOLDER, "project")
        if "activityTaskScheduledEventAttributes" in e
    ]
    # two votes on the plan gate, two on the deliverable gate; one edited version
    assert scheduled.count("record_vote") == 4
    assert scheduled.count("record_deliverable_edit") == 1
