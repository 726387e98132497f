"""The Temporal UI texts are bounded and show outside text as written (Markdown escaped)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from domain.enums import GateKind, Risk
from domain.gates import GateView
from domain.project import Policy, ProjectInput, ProjectState
from domain.work import ProduceInput, Question, TaskSpec
from workflows.describe import (
    DETAILED_GATES,
    GOAL_CHARS,
    SUMMARY_CHARS,
    agent_summary,
    current_details,
    start_details,
    start_summary,
)

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def test_outside_text_cannot_link_or_format() -> None:
    data = ProjectInput(
        project_id="p-1", name="Shop [click](https://evil.example) **now**", goal="<img src=x> # big", owner="ceo"
    )
    summary = start_summary(data)
    assert summary == r"Shop \[click\](https://evil.example) \*\*now\*\* · owner ceo · budget $50.00"
    details = start_details(data)
    assert r"**Goal:** \<img src=x\> \# big" in details
    assert "](https://evil" not in details.replace(r"\]", "")


def test_every_text_is_bounded() -> None:
    data = ProjectInput(project_id="p-1", name="n" * 200, goal="g " * 2000, owner="o" * 200)
    assert len(start_summary(data)) <= SUMMARY_CHARS
    assert len(start_details(data)) < GOAL_CHARS + 3 * SUMMARY_CHARS + 300
    gates = [
        GateView(id=f"p-1-g{i}", kind=GateKind.deliverable, title="t" * 500, summary="s" * 5000, created_at=T0)
        for i in range(12)
    ]
    state = ProjectState(project_id="p-1", name="n", goal="g", gates=gates)
    text = current_details(state, [])
    assert "**12 decisions waiting.**" in text and f"and {12 - DETAILED_GATES} more" in text
    assert text.count("```json") == DETAILED_GATES and len(text) < 6000
    task = TaskSpec(id="t" * 40, title="x" * 300, role="writer", description="d")
    assert len(agent_summary("produce", ProduceInput(project_id="p", task=task, round=3, goal="g"))) <= SUMMARY_CHARS


def test_the_decide_example_is_the_signal_input_for_that_gate() -> None:
    interview = GateView(
        id="p-1-g1",
        kind=GateKind.interview,
        title="Questions",
        risk=Risk.low,
        questions=[Question(id="q1", text="Who buys?"), Question(id="q2", text="Price?")],
        created_at=T0,
    )
    state = ProjectState(project_id="p-1", name="n", goal="g", owner="alice", gates=[interview])
    [block] = current_details(state, Policy(approvers=["alice"]).approvers).split("```json\n")[1:]
    payload = json.loads(block.split("\n```")[0])
    assert payload == {
        "gate_id": "p-1-g1",
        "decision": "approve",
        "comment": "",
        "approver": "alice",
        "answers": {"q1": "…your answer…", "q2": "…your answer…"},
    }
    assert current_details(ProjectState(project_id="p-1", name="n", goal="g"), []).endswith("No decision is waiting.")
