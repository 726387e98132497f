"""Through the API against the real dev server and a real worker: start a project, read its live
state, decide gates through the JSON API, the signed web page and Slack, steer and cancel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from boardroom.settings import Settings
from tests.api.conftest import AppClient
from tests.api.test_slack import block_action, form, signed
from tests.waiting import eventually
from workers.worker import create_worker

pytestmark = pytest.mark.timeout(180)


@asynccontextmanager
async def worker(dev_env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[None]:
    async with create_worker(dev_env.client, settings, task_queue=settings.task_queue):
        yield


async def pending_gate(http: httpx.AsyncClient, project_id: str, kind: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        items = (await http.get("/approvals", params={"status": "pending", "project_id": project_id})).json()["items"]
        return next((g for g in items if g["kind"] == kind), None)

    return await eventually(probe, f"a pending {kind} gate")


async def test_start_decide_advance_steer_cancel(
    dev_env: WorkflowEnvironment, live_settings: Settings, live_api: AppClient
) -> None:
    async with worker(dev_env, live_settings), live_api() as http:
        body = {"goal": "Sell hand-painted mugs online", "budget_usd": 5, "idempotency_key": "mugs-1"}
        created = await http.post("/projects", json=body)
        assert created.status_code == 201, created.text
        project = created.json()
        pid = project["id"]
        assert project["workflow_id"] == f"project-{pid}"
        assert project["status_url"] == f"http://testserver/projects/{pid}"
        assert project["temporal_ui_url"].endswith(f"/namespaces/default/workflows/project-{pid}")
        # the same key → the same project; another goal under that key → 409
        again = await http.post("/projects", json=body)
        assert again.status_code == 201 and again.json() == project
        clash = await http.post("/projects", json={**body, "goal": "Something else"})
        assert clash.status_code == 409

        # 1. the interview, answered through the JSON API
        interview = await pending_gate(http, pid, "interview")
        detail = (await http.get(f"/projects/{pid}")).json()
        assert detail["source"] == "live" and detail["phase"] == "discovery"
        assert detail["status"] == "waiting_approval"
        assert detail["cost"]["budget_usd"] == 5.0
        live_gate = next(g for g in detail["gates"] if g["id"] == interview["id"])
        assert live_gate["approve_url"] == interview["approve_url"]  # one link, whoever asks
        full = (await http.get(f"/approvals/{interview['id']}")).json()
        answers = {q["id"]: f"answer to {q['text']}" for q in full["questions"]}
        decided = await http.post(
            f"/approvals/{interview['id']}/decision", json={"decision": "approve", "answers": answers}
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["status"] == "approved" and decided.json()["decided_by"] == "ceo"
        twice = await http.post(f"/approvals/{interview['id']}/decision", json={"decision": "reject"})
        assert twice.status_code == 409
        assert "already" in twice.json()["detail"] and "ceo" in twice.json()["detail"]

        # 2. the plan, approved on the signed web page; the link is then spent
        plan = await pending_gate(http, pid, "plan")
        link = plan["approve_url"].removeprefix("http://testserver")
        page = await http.get(link)
        assert page.status_code == 200 and plan["title"] in page.text
        done = await http.post(link, data={"decision": "approve", "comment": "looks right"})
        assert done.status_code == 200, done.text
        assert "Decision recorded" in done.text and "approved" in done.text
        assert (await http.get(link)).status_code == 410
        assert (await http.post(link, data={"decision": "reject"})).status_code == 410

        # the project advances to execution; the audit log shows both decisions and their channels
        async def in_execution() -> dict[str, Any] | None:
            d = (await http.get(f"/projects/{pid}")).json()
            return d if d["phase"] != "discovery" and len(d["decisions"]) >= 2 else None

        detail = await eventually(in_execution, "execution")
        assert detail["tasks"], "the plan's tasks are on the board"
        channels = {d["gate_id"]: d["channel"] for d in detail["decisions"]}
        assert channels == {interview["id"]: "api", plan["id"]: "web"}
        listed = (await http.get("/projects")).json()["items"]
        assert [p["id"] for p in listed] == [pid]

        # steer, then cancel: the project ends cancelled
        steer = await http.post(f"/projects/{pid}/steer", json={"instruction": "Focus on corporate gifts"})
        assert steer.status_code == 202 and steer.json() == {"status": "accepted", "project_id": pid}
        cancel = await http.post(f"/projects/{pid}/cancel")
        assert cancel.status_code == 202

        async def cancelled() -> dict[str, Any] | None:
            d = (await http.get(f"/projects/{pid}")).json()
            assert d["status"] not in ("failed", "completed"), f"ended {d['status']} ({d['error']}), not cancelled"
            return d if d["status"] == "cancelled" else None

        final = await eventually(cancelled, "cancellation")
        assert "Focus on corporate gifts" in final["steering"]
        assert (await http.post(f"/projects/{pid}/cancel")).status_code == 409


async def test_slack_decision_and_approver_policy(
    dev_env: WorkflowEnvironment, live_settings: Settings, live_api: AppClient
) -> None:
    async with worker(dev_env, live_settings), live_api(slack_approvers="U42:alice") as http:
        created = await http.post("/projects", json={"goal": "A newsletter about tea", "approver": "alice"})
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        interview = await pending_gate(http, pid, "interview")
        # only alice may decide: someone else is refused by the workflow's validator
        refused = await http.post(
            f"/approvals/{interview['id']}/decision", json={"decision": "approve", "approver": "mallory"}
        )
        assert refused.status_code == 403, refused.text
        assert "mallory" in refused.json()["detail"]
        # no approver given → the gate's approver (alice) decides
        ok = await http.post(f"/approvals/{interview['id']}/decision", json={"decision": "approve"})
        assert ok.status_code == 200 and ok.json()["decided_by"] == "alice"

        # the plan, approved from Slack by the Slack user alice
        plan = await pending_gate(http, pid, "plan")
        body = form(block_action(plan["id"]))
        pressed = await http.post("/slack/interactions", content=body, headers=signed(body))
        assert pressed.status_code == 200

        async def decided() -> dict[str, Any] | None:
            gate = (await http.get(f"/approvals/{plan['id']}")).json()
            return gate if gate["status"] != "pending" else None

        gate = await eventually(decided, "the Slack decision")
        assert gate["status"] == "approved" and gate["decided_by"] == "alice" and gate["channel"] == "slack"
        await http.post(f"/projects/{pid}/cancel")


async def test_unknown_gate_of_a_running_project_is_404(
    dev_env: WorkflowEnvironment, live_settings: Settings, live_api: AppClient
) -> None:
    async with worker(dev_env, live_settings), live_api() as http:
        pid = (await http.post("/projects", json={"goal": "Bike repair kits"})).json()["id"]
        await pending_gate(http, pid, "interview")
        resp = await http.post(f"/approvals/{pid}-g99/decision", json={"decision": "approve"})
        assert resp.status_code == 404
        assert "g99" in resp.json()["detail"]
        await http.post(f"/projects/{pid}/cancel")
