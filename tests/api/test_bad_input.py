"""Input that used to be a 500: non-finite numbers, lone surrogates, deeply nested JSON — now a
4xx with a reason and nothing changed. And the bounds on everything that reaches a workflow:
counts and lengths at the edge, and no single payload into a workflow past its limit (413)."""

from __future__ import annotations

import pytest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from api.service import project_id_for
from boardroom.settings import Settings
from domain.enums import GateStatus
from domain.project import ProjectState
from tests.api.conftest import AppClient, Seed
from tests.api.test_lifecycle import pending_gate, worker
from tests.api.test_slack import signed
from workflows.project import ProjectWorkflow

pytestmark = pytest.mark.timeout(180)

JSON = {"Content-Type": "application/json"}
NON_FINITE = ["1e309", "-1e309", "NaN", "Infinity", "-Infinity"]


@pytest.mark.parametrize("number", NON_FINITE)
async def test_non_finite_budgets_are_422(offline_api: AppClient, seed: Seed, number: str) -> None:
    seed.project()
    seed.gate(kind="budget")
    async with offline_api() as http:
        created = await http.post("/projects", content=f'{{"goal": "ok", "budget_usd": {number}}}', headers=JSON)
        decided = await http.post(
            "/approvals/p-seed00000001-g1/decision",
            content=f'{{"decision": "approve", "budget_increase_usd": {number}}}',
            headers=JSON,
        )
        listed = (await http.get("/projects")).json()["items"]
    for resp in (created, decided):
        assert resp.status_code == 422, resp.text
        (error,) = resp.json()["detail"]
        assert error["type"] in ("finite_number", "greater_than", "less_than_equal"), error
        assert isinstance(error["input"], str)  # echoed as text: inf and nan are not JSON
    assert [p["id"] for p in listed] == ["p-seed00000001"]


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/projects", '{"goal": "%s"}'),
        ("/projects", '{"goal": "ok", "name": "%s"}'),
        ("/projects", '{"goal": "ok", "idempotency_key": "%s"}'),
        ("/projects/p-seed00000001/steer", '{"instruction": "%s"}'),
        ("/approvals/p-seed00000001-g1/decision", '{"decision": "approve", "comment": "%s"}'),
        ("/approvals/p-seed00000001-g1/decision", '{"decision": "approve", "answers": {"q1": "%s"}}'),
        ("/approvals/p-seed00000001-g1/decision", '{"decision": "approve", "answers": {"%s": "x"}}'),
    ],
)
async def test_lone_surrogates_are_422(offline_api: AppClient, seed: Seed, path: str, template: str) -> None:
    seed.project()
    seed.gate()
    body = template % "Mugs \\ud800 online"
    async with offline_api() as http:
        resp = await http.post(path, content=body, headers=JSON)
        listed = (await http.get("/projects")).json()["items"]
    assert resp.status_code == 422, resp.text
    (error,) = resp.json()["detail"]
    assert error["type"] == "string_unicode" and error["input"] == "Mugs \\ud800 online"  # escaped, not raw
    assert [p["id"] for p in listed] == ["p-seed00000001"]


async def test_deep_json_is_a_4xx(offline_api: AppClient) -> None:
    nested = "[" * 100_000 + "]" * 100_000
    async with offline_api() as http:
        created = await http.post("/projects", content='{"goal": ' + nested + "}", headers=JSON)
        slack_form = ("payload=" + '{"type": "block_actions", "actions": ' + "[" * 50_000 + "]" * 50_000 + "}").encode()
        slack = await http.post("/slack/interactions", content=slack_form, headers=signed(slack_form))
    assert created.status_code in (400, 422), created.text
    assert "detail" in created.json()
    assert slack.status_code == 422
    assert slack.json() == {"detail": "the form has no valid JSON `payload`"}


@pytest.mark.parametrize(
    "body",
    [
        {"decision": "approve", "answers": {f"q{i}": "x" for i in range(13)}},
        {"decision": "approve", "answers": {"q1": "a" * 4001}},
        {"decision": "approve", "answers": {"q" * 101: "a"}},
        {"decision": "approve", "comment": "c" * 4001},
        {"decision": "approve", "approver": "a" * 201},
    ],
)
async def test_free_text_into_a_decision_is_bounded(offline_api: AppClient, seed: Seed, body: dict) -> None:  # type: ignore[type-arg]
    seed.project()
    seed.gate()
    async with offline_api() as http:
        resp = await http.post("/approvals/p-seed00000001-g1/decision", json=body)
    assert resp.status_code == 422, resp.text


async def test_no_payload_into_a_workflow_passes_its_limit(
    dev_env: WorkflowEnvironment, live_settings: Settings, live_api: AppClient
) -> None:
    assert live_settings.max_workflow_payload_bytes == 64 * 1024  # the default; lowered here to reach it
    async with worker(dev_env, live_settings), live_api(max_workflow_payload_bytes=4096) as http:
        pid = (await http.post("/projects", json={"goal": "Sell oars"})).json()["id"]
        gate = await pending_gate(http, pid, "interview")
        handle = dev_env.client.get_workflow_handle(f"project-{pid}", result_type=ProjectState)
        questions = [q["id"] for q in (await http.get(f"/approvals/{gate['id']}")).json()["questions"]]
        # every field within its own bound (4,000 characters), their sum past the limit
        big = {"decision": "approve", "comment": "c" * 3000, "answers": dict.fromkeys(questions, "a" * 3000)}
        refused = await http.post(f"/approvals/{gate['id']}/decision", json=big)
        assert refused.status_code == 413, refused.text
        assert "a workflow accepts at most 4096 bytes per payload" in refused.json()["detail"]
        steer = await http.post(f"/projects/{pid}/steer", json={"instruction": "short"})
        assert steer.status_code == 202
        state = await handle.query(ProjectWorkflow.get_state)
        assert next(g for g in state.gates if g.id == gate["id"]).status == GateStatus.pending
        assert state.answers == {}
        await http.post(f"/projects/{pid}/cancel")

    async with live_api(max_workflow_payload_bytes=2048) as http:
        created = await http.post("/projects", json={"goal": "g" * 3000, "idempotency_key": "too-big"})
        listed = (await http.get("/projects")).json()["items"]
    assert created.status_code == 413, created.text
    assert "the input of workflow project" in created.json()["detail"]
    assert [p["id"] for p in listed] == [pid]  # no orphan row for the refused one
    with pytest.raises(RPCError) as missing:
        await dev_env.client.get_workflow_handle(f"project-{project_id_for('too-big')}").describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND
