"""Approve with edits and quorum votes, through the JSON API against the real dev server and a real
worker: a plan approved with an edited task list runs exactly those tasks; a deliverable approved
with edited text gets a new version by the approver; a high-risk gate of a 2-of-3 quorum resolves
at the second approval or the first rejection; bad edits and non-approvers change nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from api.forms import form_token
from api.service import project_input
from boardroom.settings import Settings
from domain.gates import GateDecision, PlanEdits, TaskEdit
from store.db import session_scope
from store.tables import Project
from tests.api.conftest import AppClient
from tests.api.test_lifecycle import pending_gate, worker
from tests.waiting import eventually
from workflows.project import ProjectWorkflow

pytestmark = pytest.mark.timeout(240)

FINISHED = {"passed", "accepted", "dropped", "cancelled"}


async def answer_interview(http: httpx.AsyncClient, pid: str, headers: dict[str, str] | None = None) -> None:
    interview = await pending_gate(http, pid, "interview")
    full = (await http.get(f"/approvals/{interview['id']}", headers=headers)).json()
    answers = {q["id"]: "Gift shops in Lisbon" for q in full["questions"]}
    done = await http.post(
        f"/approvals/{interview['id']}/decision", json={"decision": "approve", "answers": answers}, headers=headers
    )
    assert done.status_code == 200, done.text


async def planned_tasks(
    http: httpx.AsyncClient, pid: str, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]] | None:
        tasks = (await http.get(f"/projects/{pid}", headers=headers)).json()["tasks"]
        return tasks or None

    return await eventually(probe, "the plan's tasks on the board")


async def test_plan_and_deliverable_approved_with_edits(
    dev_env: WorkflowEnvironment, live_settings: Settings, live_api: AppClient
) -> None:
    async with worker(dev_env, live_settings), live_api() as http:
        created = await http.post("/projects", json={"goal": "Sell hand-painted mugs online", "budget_usd": 20})
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        await answer_interview(http, pid)
        plan_gate = await pending_gate(http, pid, "plan")
        tasks = await planned_tasks(http, pid)
        assert len(tasks) >= 4, tasks
        ids = [t["id"] for t in tasks]
        high = next((t["id"] for t in tasks if t["risk"] == "high"), ids[0])
        others = [i for i in ids if i != high]
        kept_others = others[:2]
        dropped = [i for i in ids if i != high and i not in kept_others]
        # reordered: the high-risk task last; the first kept task renamed; risks changed
        edits = {
            "tasks": [
                {"id": kept_others[1], "risk": "low", "acceptance_criteria": ["Names three gift shops"]},
                {"id": kept_others[0], "title": "CEO-renamed task", "risk": "low"},
                {"id": high, "risk": "high"},
            ]
        }
        url = f"/approvals/{plan_gate['id']}/decision"

        # bad edits: a clear 422 each, and the gate stays pending with the plan unchanged
        bad = [
            ({"decision": "approve", "plan_edits": {"tasks": [{"id": "no-such-task"}]}}, "unknown task ids"),
            ({"decision": "approve", "plan_edits": {"tasks": []}}, "at least 1"),
            ({"decision": "approve", "plan_edits": {"tasks": [{"id": ids[0], "title": "x" * 201}]}}, "at most 200"),
            ({"decision": "approve", "plan_edits": {"tasks": [{"id": i} for i in ids] * 20}}, "at most 50"),
            ({"decision": "approve", "plan_edits": {"tasks": [{"id": ids[0]}, {"id": ids[0]}]}}, "once"),
            ({"decision": "revise", "comment": "x", "plan_edits": edits}, "edits come with an approval"),
            ({"decision": "approve", "deliverable_text": "# mine"}, "deliverable"),
        ]
        for body, says in bad:
            refused = await http.post(url, json=body)
            assert refused.status_code == 422, (body, refused.text)
            assert says in str(refused.json()["detail"]), (says, refused.json())
        # the same bad edits as a `decide` signal (Temporal UI) are ignored by the workflow
        handle = dev_env.client.get_workflow_handle(f"project-{pid}")
        await handle.signal(
            "decide",
            GateDecision(
                gate_id=plan_gate["id"],
                decision="approve",
                approver="ceo",
                plan_edits=PlanEdits(tasks=[TaskEdit(id="no-such-task")]),
            ),
        )
        await handle.query(ProjectWorkflow.get_state)  # the signal has been handled before the query answers
        still = (await http.get(f"/projects/{pid}")).json()

        assert [t["id"] for t in still["tasks"]] == ids
        assert next(g for g in still["gates"] if g["id"] == plan_gate["id"])["status"] == "pending"

        approved = await http.post(url, json={"decision": "approve", "comment": "leaner", "plan_edits": edits})
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved"

        # the edited plan is what the project shows and what execution runs
        expected = [kept_others[1], kept_others[0], high]

        async def executing() -> dict[str, Any] | None:
            d = (await http.get(f"/projects/{pid}")).json()
            return d if d["phase"] != "discovery" else None

        detail = await eventually(executing, "execution")
        board = [t for t in detail["tasks"] if t["id"] in ids]
        assert [t["id"] for t in board] == expected
        by_id = {t["id"]: t for t in board}
        assert by_id[kept_others[0]]["title"] == "CEO-renamed task"
        assert [by_id[i]["risk"] for i in expected] == ["low", "low", "high"]
        assert all(d not in t["depends_on"] for t in board for d in dropped)

        # the high-risk task's deliverable: approved with the CEO's text → a new version by the CEO
        gate = await pending_gate(http, pid, "deliverable")
        full = (await http.get(f"/approvals/{gate['id']}")).json()
        assert full["task_id"] == high
        shown = full["deliverable"]
        text = "# Edited by the CEO\n\nShorter, warmer copy.\n"
        too_long = await http.post(
            f"/approvals/{gate['id']}/decision", json={"decision": "approve", "deliverable_text": "x" * 50_001}
        )
        assert too_long.status_code == 422
        took = await http.post(
            f"/approvals/{gate['id']}/decision",
            json={"decision": "approve", "deliverable_text": text, "comment": "Keep the price copy under 50 words."},
        )
        assert took.status_code == 200 and took.json()["status"] == "approved", took.text

        last: list[dict[str, Any]] = []

        async def done() -> dict[str, Any] | None:
            d = (await http.get(f"/projects/{pid}")).json()
            last[:] = [d]
            for g in d["gates"]:
                if g["kind"] == "escalation" and g["status"] == "pending":
                    # the offline reviewer holds the CEO's new criteria against the draft: accept it
                    await http.post(f"/approvals/{g['id']}/decision", json={"decision": "approve"})
            planned = [t for t in d["tasks"] if t["id"] in ids]
            return d if all(t["status"] in FINISHED for t in planned) and len(d["decisions"]) >= 3 else None

        try:
            detail = await eventually(done, "the edited plan's tasks to finish", timeout=60)
        except AssertionError:
            d = last[0]
            raise AssertionError(
                f"{d['phase']} {d['status']} {d['error']} tasks={[(t['id'], t['status']) for t in d['tasks']]} "
                f"gates={[(g['kind'], g['status'], g['task_id']) for g in d['gates']]} decisions={d['decisions']}"
            ) from None
        assert sorted(t["id"] for t in detail["tasks"] if t["id"] in ids) == sorted(expected)
        made = (await http.get(f"/projects/{pid}/deliverables")).json()["items"]
        assert sorted({m["task_id"] for m in made}) == sorted(expected), "dropped tasks are never produced"
        edited = next(t for t in detail["tasks"] if t["id"] == high)
        deliverable = (await http.get(f"/deliverables/{shown['id']}")).json()
        latest = deliverable["versions"][-1]
        assert latest["author"] == "ceo:ceo" and latest["provider"] == "ceo"
        assert latest["version"] == shown["version"] + 1
        assert deliverable["content"] == text
        assert edited["deliverable_id"] == latest["document_id"], "the task finished with the CEO's version"
        audit = {d["gate_id"]: d for d in detail["decisions"]}
        plan_audit = audit[plan_gate["id"]]["edits"]
        assert plan_audit.startswith("plan edited: dropped " + ", ".join(dropped))
        assert "renamed" in plan_audit and "order" in plan_audit
        assert audit[gate["id"]]["edits"] == (
            f"deliverable edited: a new version by ceo (document {latest['document_id']})"
        )
        # the comment that came with the edit is a lesson of the owner, from that version
        lessons = (await http.get("/lessons")).json()["items"]
        learned = [x for x in lessons if x["source_kind"] == "edit"]
        assert [x["source_id"] for x in learned] == [str(latest["document_id"])], lessons
        assert "50 words" in learned[0]["text"]
        assert (await http.post(f"/projects/{pid}/cancel")).status_code == 202


ALICE, BOB, CAROL, MALLORY = "k-alice-0123456789", "k-bob-0123456789", "k-carol-0123456789", "k-mallory-012345678"
KEYS = f"alice:{ALICE},bob:{BOB},carol:{CAROL},mallory:{MALLORY}"


def as_(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_quorum_two_of_three(dev_env: WorkflowEnvironment, live_settings: Settings, live_api: AppClient) -> None:
    async with worker(dev_env, live_settings), live_api(api_keys=KEYS) as http:
        body = {"goal": "Sell hand-painted mugs online", "approvers": ["alice", "bob", "carol"], "quorum": 2}
        too_many = await http.post("/projects", json={**body, "quorum": 4}, headers=as_(ALICE))
        assert too_many.status_code == 422 and "distinct approvers" in too_many.text
        created = await http.post("/projects", json=body, headers=as_(ALICE))
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        http.headers.update(as_(ALICE))
        await answer_interview(http, pid)  # low risk: one approval is enough
        plan = await pending_gate(http, pid, "plan")
        assert plan["risk"] == "high"
        url = f"/approvals/{plan['id']}/decision"

        # a non-approver: 403 JSON and nothing changes
        refused = await http.post(url, json={"decision": "approve"}, headers=as_(MALLORY))
        assert refused.status_code == 403, refused.text
        assert "may not decide" in refused.json()["detail"]
        # ... and from the inbox form: a 403 page, nothing recorded
        token = form_token(live_settings, f"decide:{plan['id']}")
        page = await http.post(
            f"/inbox/{plan['id']}/decide",
            data={"decision": "approve", "form_token": token},
            headers=as_(MALLORY),
        )
        assert page.status_code == 403 and "text/html" in page.headers["content-type"]
        assert "may not decide" in page.text
        gates = (await http.get(f"/projects/{pid}")).json()["gates"]
        assert next(g for g in gates if g["id"] == plan["id"])["votes"] == []
        # the first approval leaves the gate pending with one vote
        first = await http.post(url, json={"decision": "approve", "comment": "fine by me"}, headers=as_(ALICE))
        assert first.status_code == 200, first.text
        assert first.json() | {"decided_at": None} == {
            "gate_id": plan["id"],
            "status": "pending",
            "decided_by": "alice",
            "decided_at": None,
            "channel": "api",
            "approvals": 1,
            "approvals_needed": 2,
        }
        again = await http.post(url, json={"decision": "approve"}, headers=as_(ALICE))
        assert again.status_code == 409 and "already voted" in again.json()["detail"]
        live = next(g for g in (await http.get(f"/projects/{pid}")).json()["gates"] if g["id"] == plan["id"])
        assert live["status"] == "pending" and live["approvals_needed"] == 2
        assert [(v["approver"], v["decision"]) for v in live["votes"]] == [("alice", "approve")]

        async def vote_recorded() -> dict[str, Any] | None:
            found = (await http.get(f"/approvals/{plan['id']}")).json()
            return found if found["votes"] else None

        one = await eventually(vote_recorded, "alice's vote in the read model")
        assert one["status"] == "pending" and one["approvals_needed"] == 2
        assert [(v["approver"], v["decision"], v["comment"]) for v in one["votes"]] == [
            ("alice", "approve", "fine by me")
        ]

        async def inbox_shows_the_vote() -> str | None:
            text = (await http.get("/inbox")).text
            return text if "1 of 2 approvals" in text else None

        inbox = await eventually(inbox_shows_the_vote, "the vote in the inbox")
        assert "Votes: alice approve" in inbox
        # the second approval resolves it
        second = await http.post(url, json={"decision": "approve"}, headers=as_(BOB))
        assert second.status_code == 200 and second.json()["status"] == "approved", second.text
        assert second.json()["approvals"] == 2
        late = await http.post(url, json={"decision": "reject"}, headers=as_(CAROL))
        assert late.status_code == 409

        # a high-risk deliverable: alice approves with her edited text, bob's approval resolves it
        # with alice's version
        first_deliverable = await pending_gate(http, pid, "deliverable")
        durl = f"/approvals/{first_deliverable['id']}/decision"
        text = "# Alice's version\n\nWarmer copy.\n"
        vote = await http.post(durl, json={"decision": "approve", "deliverable_text": text}, headers=as_(ALICE))
        assert vote.status_code == 200 and vote.json()["status"] == "pending", vote.text
        resolved = await http.post(durl, json={"decision": "approve"}, headers=as_(BOB))
        assert resolved.status_code == 200 and resolved.json()["status"] == "approved", resolved.text
        doc = (await http.get(f"/approvals/{first_deliverable['id']}")).json()["deliverable"]

        async def alices_version() -> list[dict[str, Any]] | None:
            found = (await http.get(f"/deliverables/{doc['id']}")).json()["versions"]
            return found if found[-1]["author"] == "ceo:alice" else None

        versions = await eventually(alices_version, "alice's version of the deliverable")

        # the next high-risk deliverable: the first rejection resolves it at once, whatever the approvals
        async def another() -> dict[str, Any] | None:
            items = (await http.get("/approvals", params={"status": "pending", "project_id": pid})).json()["items"]
            return next((g for g in items if g["kind"] == "deliverable" and g["id"] != first_deliverable["id"]), None)

        deliverable = await eventually(another, "a second high-risk deliverable")
        # alice approves it from the inbox form: the page says her vote waits for the others
        voted = await http.post(
            f"/inbox/{deliverable['id']}/decide",
            data={"decision": "approve", "form_token": form_token(live_settings, f"decide:{deliverable['id']}")},
            headers=as_(ALICE),
        )
        assert voted.status_code == 303, voted.text
        page = await http.get(voted.headers["location"], headers=as_(ALICE))
        assert f"Your approval of {deliverable['id']} is recorded (1 of 2 approvals)" in page.text
        no = await http.post(
            f"/approvals/{deliverable['id']}/decision",
            json={"decision": "reject", "comment": "off brand"},
            headers=as_(CAROL),
        )
        assert no.status_code == 200 and no.json()["status"] == "rejected", no.text
        assert no.json()["approvals"] == 1 and no.json()["approvals_needed"] == 2

        async def audited() -> dict[str, Any] | None:
            d = (await http.get(f"/projects/{pid}")).json()
            gates = {x["gate_id"]: x for x in d["decisions"]}
            wanted = (plan["id"], first_deliverable["id"], deliverable["id"])
            return d if all(g in gates for g in wanted) else None

        detail = await eventually(audited, "both decisions in the audit log")
        audit = {d["gate_id"]: d for d in detail["decisions"]}
        assert audit[plan["id"]]["approver"] == "bob"
        assert audit[plan["id"]]["edits"] == "votes: alice approve, bob approve"
        assert audit[deliverable["id"]]["edits"] == "votes: alice approve, carol reject"
        assert audit[first_deliverable["id"]]["edits"] == (
            f"deliverable edited: a new version by alice (document {versions[-1]['document_id']}); "
            "votes: alice approve, bob approve"
        )
        assert (await http.post(f"/projects/{pid}/cancel")).status_code == 202


async def test_new_project_form_sets_approvers_and_quorum(live_settings: Settings, live_api: AppClient) -> None:
    async with live_api() as http:
        token = form_token(live_settings, "new-project")
        form = {"goal": "Sell mugs", "approvers": "alice, bob", "form_token": token}
        too_many = await http.post("/new", data={**form, "quorum": "3"})
        assert too_many.status_code == 422 and "quorum 3 needs at least 3 distinct approvers" in too_many.text
        not_a_number = await http.post("/new", data={**form, "quorum": "two"})
        assert not_a_number.status_code == 422 and "whole number" in not_a_number.text
        with session_scope(live_settings.database_url) as session:
            before = len(session.exec(select(Project)).all())
        for odd in ("²", "٣" * 7, "1" * 5000):
            refused = await http.post("/new", data={**form, "quorum": odd})
            assert refused.status_code == 422 and "whole number" in refused.text, (odd[:10], refused.status_code)
        with session_scope(live_settings.database_url) as session:
            assert len(session.exec(select(Project)).all()) == before, "a refused form creates nothing"
        created = await http.post("/new", data={**form, "quorum": "2"})
        assert created.status_code == 303, created.text
        pid = created.headers["location"].removeprefix("/projects/").removesuffix("/view")
        with session_scope(live_settings.database_url) as session:
            row = session.get(Project, pid)
            assert row is not None and row.approvers == ["alice", "bob"] and row.quorum == 2
            policy = project_input(row).policy
        assert policy.approvers == ["alice", "bob"] and policy.quorum == 2
