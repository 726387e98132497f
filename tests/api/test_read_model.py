"""Reads from the read model: project list and detail (snapshot / created), approvals, gate detail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api import links
from boardroom.settings import Settings
from domain.enums import GateKind, Phase, Status, TaskStatus
from domain.gates import GateView
from domain.project import Cost, PhaseMark, ProjectState, TaskView
from domain.work import Kpis
from tests.api.conftest import AppClient, Seed, now


async def test_list_projects_paginates_and_filters(offline_api: AppClient, seed: Seed) -> None:
    base = now()
    for i in range(5):
        seed.project(
            f"p-list0000000{i}",
            phase="execution" if i % 2 else "discovery",
            created_at=base + timedelta(seconds=i),
        )
    async with offline_api() as http:
        page = (await http.get("/projects", params={"limit": 2})).json()
        assert page["total"] == 5 and page["limit"] == 2
        assert [p["id"] for p in page["items"]] == ["p-list00000004", "p-list00000003"]
        page2 = (await http.get("/projects", params={"limit": 2, "offset": 4})).json()
        assert [p["id"] for p in page2["items"]] == ["p-list00000000"]
        execution = (await http.get("/projects", params={"phase": "execution"})).json()
        assert {p["id"] for p in execution["items"]} == {"p-list00000001", "p-list00000003"}
        running = (await http.get("/projects", params={"status": "completed"})).json()
        assert running["items"] == [] and running["total"] == 0
    item = page["items"][0]
    assert item["status_url"] == "http://testserver/projects/p-list00000004"
    assert item["temporal_ui_url"].endswith("/namespaces/default/workflows/project-p-list00000004")
    assert set(item) >= {"id", "name", "phase", "status", "pending_gates", "cost_usd", "created_at"}


async def test_project_detail_from_the_stored_snapshot(offline_api: AppClient, seed: Seed) -> None:
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    state = ProjectState(
        project_id="p-snap00000001",
        name="Mug shop",
        goal="Sell mugs",
        phase=Phase.operations,
        status=Status.completed,
        timeline=[PhaseMark(phase=Phase.discovery, at=t0), PhaseMark(phase=Phase.operations, at=t0)],
        tasks=[
            TaskView(id="t1", title="Landing page", role="writer", status=TaskStatus.passed, qa_score=8.0, rounds=2)
        ],
        gates=[GateView(id="p-snap00000001-g1", kind=GateKind.plan, title="Plan", created_at=t0)],
        kpis=Kpis(revenue_usd=58.0, orders=2),
        cost=Cost(usd=1.25, tokens_in=100, tokens_out=50, budget_usd=20),
    )
    seed.project("p-snap00000001", status="completed", state=state.model_dump(mode="json"))
    async with offline_api() as http:
        detail = (await http.get("/projects/p-snap00000001")).json()
    assert detail["source"] == "snapshot"
    assert detail["phase"] == "operations" and detail["status"] == "completed"
    assert detail["tasks"][0].items() >= {"id": "t1", "qa_score": 8.0, "rounds": 2, "status": "passed"}.items()
    assert detail["kpis"]["revenue_usd"] == 58.0 and detail["kpis"]["orders"] == 2
    assert detail["cost"].items() >= {"usd": 1.25, "budget_usd": 20.0, "tokens_in": 100}.items()
    gate = detail["gates"][0]
    assert gate["status"] == "pending" and gate["approve_url"].startswith("http://testserver/a/v1.")
    assert detail["temporal_ui_url"].endswith("/workflows/project-p-snap00000001")


async def test_project_detail_before_the_workflow_reports(offline_api: AppClient, seed: Seed) -> None:
    seed.project("p-new000000001", budget_usd=12.5)
    seed.gate("p-new000000001", 1, risk="low")
    async with offline_api() as http:
        detail = (await http.get("/projects/p-new000000001")).json()
    assert detail["source"] == "created"
    assert detail["phase"] == "discovery" and detail["status"] == "running"
    assert detail["cost"]["budget_usd"] == 12.5
    assert [g["id"] for g in detail["gates"]] == ["p-new000000001-g1"]
    assert detail["gates"][0]["approve_url"]


async def test_approvals_list_and_detail(offline_api: AppClient, seed: Seed) -> None:
    seed.project()
    doc = seed.document()
    review = seed.review(doc.id or 0)
    seed.gate(seq=1, task_id="t1", deliverable_id=doc.id)
    seed.gate(seq=2, kind="interview", risk="low", questions=[{"id": "q1", "text": "Who buys?"}])
    decided = seed.gate(seq=3)
    seed.decide_row(decided.id, "approved", "alice", now())
    async with offline_api() as http:
        pending = (await http.get("/approvals", params={"status": "pending"})).json()["items"]
        everything = (await http.get("/approvals")).json()["items"]
        one = (await http.get(f"/approvals/{pending[0]['id']}")).json()
        interview = (await http.get(f"/approvals/{pending[1]['id']}")).json()
    assert [g["id"] for g in pending] == ["p-seed00000001-g1", "p-seed00000001-g2"]
    assert len(everything) == 3
    item = pending[0]
    assert set(item) >= {"id", "project_id", "kind", "title", "summary", "risk", "status", "created_at", "approve_url"}
    assert item["approve_url"].startswith("http://testserver/a/")
    assert next(g for g in everything if g["id"] == decided.id)["approve_url"] is None
    assert one["deliverable"]["id"] == doc.id and "Mugs" in one["deliverable"]["content"]
    assert one["qa_report"]["id"] == review.id and one["qa_report"]["score"] == 8.5
    assert one["project_name"] == "Seeded shop"
    assert interview["questions"] == [{"id": "q1", "text": "Who buys?"}]
    assert interview["deliverable"] is None and interview["qa_report"] is None


async def test_deciding_a_decided_gate_is_409(offline_api: AppClient, seed: Seed) -> None:
    seed.project()
    gate = seed.gate()
    seed.decide_row(gate.id, "approved", "alice", datetime(2030, 1, 2, 3, 4, tzinfo=UTC))
    async with offline_api() as http:
        resp = await http.post(f"/approvals/{gate.id}/decision", json={"decision": "reject"})
    assert resp.status_code == 409
    assert resp.json()["detail"] == f"gate {gate.id} was already approved by alice at 2030-01-02 03:04 UTC"


async def test_steer_and_cancel_a_finished_project_are_409(offline_api: AppClient, seed: Seed) -> None:
    seed.project(status="completed")
    async with offline_api() as http:
        steer = await http.post("/projects/p-seed00000001/steer", json={"instruction": "more blue"})
        cancel = await http.post("/projects/p-seed00000001/cancel")
    assert steer.status_code == 409 and cancel.status_code == 409
    assert "completed" in cancel.json()["detail"]


async def test_gates_of_ended_projects_wait_for_nothing(
    offline_api: AppClient, offline_settings: Settings, seed: Seed
) -> None:
    seed.project("p-ended0000001", status="cancelled")
    gate = seed.gate("p-ended0000001")  # the row still says pending
    async with offline_api() as http:
        pending = (await http.get("/approvals", params={"status": "pending"})).json()["items"]
        decide = await http.post(f"/approvals/{gate.id}/decision", json={"decision": "approve"})
        page = await http.get(links.approve_url(offline_settings, gate.id, gate.approver, gate.created_at))
    assert pending == []
    assert decide.status_code == 409 and "cancelled" in decide.json()["detail"]
    assert page.status_code == 410 and "no longer needed" in page.text
