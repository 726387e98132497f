"""Recorded histories of every workflow type replay against today's code (same data converter),
and a deliberately changed workflow is caught as non-deterministic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from boardroom.client import data_converter
from tests.replay.changed_workflows import ReorderedProduceReview
from workers.worker import workflows

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
WORKFLOW_TYPES = {"project", "discovery", "execution", "produce-review", "launch", "operations-review", "smoke"}


def load(name: str) -> WorkflowHistory:
    ids = json.loads((HISTORIES / "workflow-ids.json").read_text())
    return WorkflowHistory.from_json(ids[name], (HISTORIES / f"{name}.json").read_text())


def test_every_workflow_type_has_a_recorded_history() -> None:
    recorded = {p.stem for p in HISTORIES.glob("*.json")} - {"workflow-ids"}
    assert WORKFLOW_TYPES <= recorded
    for name in WORKFLOW_TYPES:
        events = json.loads((HISTORIES / f"{name}.json").read_text())["events"]
        assert events[0]["workflowExecutionStartedEventAttributes"]["workflowType"]["name"] == name


@pytest.mark.parametrize("name", sorted(WORKFLOW_TYPES))
async def test_recorded_history_replays(name: str) -> None:
    replayer = Replayer(workflows=workflows(), data_converter=data_converter())
    result = await replayer.replay_workflow(load(name))
    assert result.replay_failure is None


async def test_a_changed_workflow_fails_replay_with_nondeterminism() -> None:
    replayer = Replayer(workflows=[ReorderedProduceReview], data_converter=data_converter())
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(load("produce-review"))
