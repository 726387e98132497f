"""What the Temporal UI shows for a project started through the API, on the real dev server: the
static summary and details (goal, owner, budget), a summary on each agent activity (task, round),
and current details naming the pending gates with the `decide` signal that decides one — which,
sent as the UI sends it (JSON input), decides the gate."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from boardroom.settings import Settings
from tests.api.conftest import AppClient
from tests.api.test_lifecycle import pending_gate, worker
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(180)

JSON_BLOCK = re.compile(r"```json\n(.*?)\n```", re.S)


async def current_details(handle: WorkflowHandle[Any, Any]) -> str:
    """What the UI reads for "Current details": the SDK's built-in metadata query."""
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return metadata.current_details


async def activity_summaries(client: Client, workflow_id: str, activity: str) -> list[str]:
    """The summaries of every scheduled `activity` in the workflow's history, decoded."""
    out: list[str] = []
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            continue
        if event.activity_task_scheduled_event_attributes.activity_type.name != activity:
            continue
        assert event.user_metadata.HasField("summary"), f"{activity} scheduled without a summary"
        [summary] = await client.data_converter.decode([event.user_metadata.summary], [str])
        out.append(summary)
    return out


async def test_summary_details_and_deciding_from_the_ui(
    dev_env: WorkflowEnvironment, live_settings: Settings, live_api: AppClient
) -> None:
    goal = "Sell hand-painted mugs online to cafés in Lisbon"
    async with worker(dev_env, live_settings), live_api() as http:
        created = await http.post("/projects", json={"goal": goal, "name": "Mug shop", "budget_usd": 7.5})
        assert created.status_code == 201, created.text
        pid, workflow_id = created.json()["id"], created.json()["workflow_id"]
        handle = dev_env.client.get_workflow_handle(workflow_id)

        described = await handle.describe()
        assert await described.static_summary() == "Mug shop · owner ceo · budget $7.50"
        details = await described.static_details()
        assert details is not None
        assert f"**Goal:** {goal}" in details
        assert f"- **Project:** `{pid}` (Mug shop)" in details
        assert "- **Owner:** ceo" in details and "- **Budget:** $7.50" in details
        assert "- **Auto-approve:** none" in details
        assert f"- **Console:** http://testserver/projects/{pid}/view" in details

        # The interview gate: named in the current details with the exact signal that decides it.
        interview = await pending_gate(http, pid, "interview")
        text = await eventually(
            lambda: _with(handle, interview["id"]), "the interview gate in the current details", timeout=60
        )
        assert "**Phase:** discovery · **status:** waiting_approval · **cost:** $0.00 of $7.50" in text
        assert "**1 decision waiting.**" in text and "signal name `decide`" in text
        assert f"**{interview['title']}** — interview gate" in text
        [block] = JSON_BLOCK.findall(text)
        payload = json.loads(block)
        questions = (await http.get(f"/approvals/{interview['id']}")).json()["questions"]
        assert payload == {
            "gate_id": interview["id"],
            "decision": "approve",
            "comment": "",
            "approver": "ceo",
            "answers": {q["id"]: "…your answer…" for q in questions},
        }

        # Sent as the UI sends it — signal `decide` with that JSON — it decides the gate.
        await handle.signal("decide", payload)

        async def decided() -> dict[str, Any] | None:
            gate = (await http.get(f"/approvals/{interview['id']}")).json()
            return gate if gate["status"] == "approved" else None

        gate = await eventually(decided, "the interview gate decided from the UI signal")
        assert gate["decided_by"] == "ceo"
        detail = (await http.get(f"/projects/{pid}")).json()
        assert {d["gate_id"]: d["channel"] for d in detail["decisions"]} == {interview["id"]: "temporal_ui"}
        after = await eventually(
            lambda: _without(handle, interview["id"]), "the decided gate gone from the current details"
        )
        assert interview["id"] not in after

        # Each agent call carries a summary the UI shows beside the activity.
        # (Discovery runs inside the project workflow: its activities are in the project's history.)
        assert await activity_summaries(dev_env.client, workflow_id, "interview_questions") == ["interview questions"]
        await handle.cancel()


async def _with(handle: WorkflowHandle[Any, Any], gate_id: str) -> str | None:
    text = await current_details(handle)
    return text if gate_id in text else None


async def _without(handle: WorkflowHandle[Any, Any], gate_id: str) -> str | None:
    text = await current_details(handle)
    return text if text and gate_id not in text else None


async def test_agent_activities_are_summarised_with_task_and_round(
    dev_env: WorkflowEnvironment, live_settings: Settings, live_api: AppClient
) -> None:
    async with worker(dev_env, live_settings), live_api() as http:
        created = await http.post("/projects", json={"goal": "A newsletter about tea", "auto_approve": "all"})
        assert created.status_code == 201, created.text
        pid = created.json()["id"]

        async def a_finished_task() -> dict[str, Any] | None:
            tasks = (await http.get(f"/projects/{pid}")).json()["tasks"]
            return next((t for t in tasks if t["status"] == "passed"), None)

        task = await eventually(a_finished_task, "a task through Producer+QA", timeout=120)
        # Every task runs inside the project workflow: its calls are those whose summary names it.
        title = task["title"]
        mine = f"· task {task['id']} '{title}' ·"
        produced = [s for s in await activity_summaries(dev_env.client, f"project-{pid}", "produce") if mine in s]
        reviewed = [s for s in await activity_summaries(dev_env.client, f"project-{pid}", "review") if mine in s]
        assert produced[0] == f"produce · task {task['id']} '{title}' · round 1"
        assert reviewed[0] == f"review · task {task['id']} '{title}' · round 1"
        assert len(produced) == len(reviewed) == task["rounds"]
        await dev_env.client.get_workflow_handle(f"project-{pid}").cancel()
