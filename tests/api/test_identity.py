"""Decisions are bound to who is authenticated, against the real app, worker and workflow:
named API keys decide as their name (a claimed name is refused), a bare key as `ceo`; a signal or
update from outside can never claim the workflow's own `policy` / `expiry` channels; Slack users
decide only through the id → approver map, unknown users are told so and nothing changes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from boardroom.settings import Settings, load_settings
from domain.enums import Channel, GateStatus
from domain.errors import ConfigError
from domain.gates import GateDecision, GateView
from domain.project import ProjectState
from tests.api.conftest import AppClient
from tests.api.test_lifecycle import eventually, pending_gate, worker
from tests.api.test_slack import block_action, form, signed
from tests.fakes.server import Reply
from tests.fakes.slack_server import FakeSlack
from workflows.patches import BASELINE, taken
from workflows.project import PATCH_EXTERNAL_DECISIONS, ProjectWorkflow

pytestmark = pytest.mark.timeout(180)

ALICE, BOB, LEGACY = "key-alice-0123456789", "key-bob-9876543210", "legacy-key-55555"
KEYS = f"alice:{ALICE}, bob:{BOB},{LEGACY}"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def project_handle(dev_env: WorkflowEnvironment, pid: str) -> WorkflowHandle[Any, ProjectState]:
    return dev_env.client.get_workflow_handle(f"project-{pid}", result_type=ProjectState)


async def gate_now(handle: WorkflowHandle[Any, ProjectState], gate_id: str) -> GateView:
    state = await handle.query(ProjectWorkflow.get_state)
    return next(g for g in state.gates if g.id == gate_id)


async def test_named_keys_decide_as_their_name(
    dev_env: WorkflowEnvironment, live_settings: Settings, live_api: AppClient
) -> None:
    async with worker(dev_env, live_settings), live_api(api_keys=KEYS) as http:
        created = await http.post("/projects", json={"goal": "Sell sea-glass jewellery"}, headers=bearer(ALICE))
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        assert (await http.get(f"/projects/{pid}", headers=bearer(ALICE))).json()["owner"] == "alice"
        gate = await pending_gate_with(http, pid, "interview", ALICE)
        handle = project_handle(dev_env, pid)
        path = f"/approvals/{gate['id']}/decision"

        # bob holds a key, but the gate is alice's: refused by the workflow's validator
        as_bob = await http.post(path, json={"decision": "approve"}, headers=bearer(BOB))
        # bob claiming to be alice: refused before anything is sent
        claimed = await http.post(path, json={"decision": "approve", "approver": "alice"}, headers=bearer(BOB))
        # the legacy bare key is `ceo`, not alice
        legacy = await http.post(path, json={"decision": "approve"}, headers=bearer(LEGACY))
        # steering in someone else's name
        steer_as = await http.post(
            f"/projects/{pid}/steer", json={"instruction": "Pivot", "by": "bob"}, headers=bearer(ALICE)
        )
        assert (as_bob.status_code, claimed.status_code, legacy.status_code, steer_as.status_code) == (403,) * 4
        assert "'bob' may not decide" in as_bob.json()["detail"]
        assert claimed.json()["detail"] == "authenticated as 'bob': an action cannot be taken in the name of 'alice'"
        assert "'ceo' may not decide" in legacy.json()["detail"]
        assert (await gate_now(handle, gate["id"])).status == GateStatus.pending
        assert "Pivot" not in (await handle.query(ProjectWorkflow.get_state)).steering

        # alice's own claim, however written, is alice
        ok = await http.post(path, json={"decision": "approve", "approver": " @ALICE "}, headers=bearer(ALICE))
        assert ok.status_code == 200, ok.text
        assert ok.json()["decided_by"] == "alice"
        decided = await gate_now(handle, gate["id"])
        assert (decided.status, decided.decided_by, decided.channel) == (GateStatus.approved, "alice", Channel.api)
        await http.post(f"/projects/{pid}/cancel", headers=bearer(ALICE))


async def pending_gate_with(http: Any, pid: str, kind: str, key: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        resp = await http.get("/approvals", params={"status": "pending", "project_id": pid}, headers=bearer(key))
        return next((g for g in resp.json()["items"] if g["kind"] == kind), None)

    return await eventually(probe, f"a pending {kind} gate")


async def test_a_bare_key_and_the_local_owner_decide_as_the_owner(
    dev_env: WorkflowEnvironment, live_settings: Settings, live_api: AppClient
) -> None:
    async with worker(dev_env, live_settings), live_api(api_keys=LEGACY) as http:
        pid = (await http.post("/projects", json={"goal": "Rent kayaks"}, headers=bearer(LEGACY))).json()["id"]
        gate = await pending_gate_with(http, pid, "interview", LEGACY)
        ok = await http.post(f"/approvals/{gate['id']}/decision", json={"decision": "approve"}, headers=bearer(LEGACY))
        assert (ok.status_code, ok.json()["decided_by"]) == (200, "ceo")
        await http.post(f"/projects/{pid}/cancel", headers=bearer(LEGACY))
    async with worker(dev_env, live_settings), live_api() as http:
        # no keys, loopback: the owner, deciding as the gate's approver (alice here)
        pid = (await http.post("/projects", json={"goal": "Rent canoes", "approver": "alice"})).json()["id"]
        gate = await pending_gate(http, pid, "interview")
        as_other = await http.post(
            f"/approvals/{gate['id']}/decision", json={"decision": "approve", "approver": "mallory"}
        )
        assert as_other.status_code == 403
        ok = await http.post(f"/approvals/{gate['id']}/decision", json={"decision": "approve"})
        assert (ok.status_code, ok.json()["decided_by"]) == (200, "alice")
        await http.post(f"/projects/{pid}/cancel")


async def test_outside_signals_and_updates_cannot_claim_internal_channels(
    dev_env: WorkflowEnvironment, live_settings: Settings, live_api: AppClient
) -> None:
    async with worker(dev_env, live_settings), live_api() as http:
        pid = (await http.post("/projects", json={"goal": "Sell tide clocks", "approver": "alice"})).json()["id"]
        gate = await pending_gate(http, pid, "interview")
        handle = project_handle(dev_env, pid)
        questions = [q["id"] for q in (await http.get(f"/approvals/{gate['id']}")).json()["questions"]]
        forged = [
            GateDecision(gate_id=gate["id"], decision="approve", approver="mallory", channel=Channel.policy),
            GateDecision(gate_id=gate["id"], decision="reject", approver="alice", channel=Channel.expiry),
            GateDecision(gate_id=gate["id"], decision="approve", approver="alice", answers={"q-not-asked": "x"}),
            GateDecision(gate_id=gate["id"], decision="approve", approver="alice", comment="c" * 4001),
        ]
        for decision in forged:
            await handle.signal(ProjectWorkflow.decide_signal, decision)
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await handle.execute_update(ProjectWorkflow.decide, decision)  # type: ignore[arg-type,unused-coroutine]
            cause = refused.value.cause
            assert isinstance(cause, ApplicationError) and cause.type == "InvalidDecision", cause
        # the signals were handled (the workflow got past them) and ignored
        history = await handle.fetch_history()
        patches = {
            json.loads(p.data)["id"]
            for e in history.events
            for p in e.marker_recorded_event_attributes.details["patch-data"].payloads
        }
        assert patches == {BASELINE} and taken(patches, PATCH_EXTERNAL_DECISIONS), "the ignoring branch is patched"
        still = await gate_now(handle, gate["id"])
        assert (still.status, still.decided_by) == (GateStatus.pending, None)

        # a proper Temporal UI signal by the allowed approver is applied
        answers = {questions[0]: "Families on holiday"}
        await handle.signal(
            ProjectWorkflow.decide_signal,
            GateDecision(gate_id=gate["id"], decision="approve", approver="alice", answers=answers),
        )

        async def decided() -> GateView | None:
            view = await gate_now(handle, gate["id"])
            return view if view.status != GateStatus.pending else None

        view = await eventually(decided, "the Temporal UI decision")
        assert (view.decided_by, view.channel) == ("alice", Channel.temporal_ui)
        await http.post(f"/projects/{pid}/cancel")


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    yield from FakeSlack.running(token="xoxb-test", channels=("#boardroom",))


async def test_slack_decides_only_through_the_user_id_map(
    dev_env: WorkflowEnvironment, live_settings: Settings, live_api: AppClient, slack: FakeSlack
) -> None:
    slack.route("POST", r"/actions/.*", lambda _rec, _m: Reply(200, None))
    async with (
        worker(dev_env, live_settings),
        live_api(slack_approvers="U42:alice,U7:bob", slack_bot_token="xoxb-test", slack_api_url=slack.api_url) as http,
    ):
        pid = (await http.post("/projects", json={"goal": "Sell kites", "approver": "alice"})).json()["id"]
        gate = await pending_gate(http, pid, "interview")
        handle = project_handle(dev_env, pid)
        reply = f"{slack.base_url}/actions/T1/1/abc"
        # an unknown user who set their Slack username to "alice"
        spoof = block_action(gate["id"], response_url=reply, user={"id": "U999", "username": "alice", "name": "alice"})
        # a mapped user who is not this gate's approver
        bob = block_action(gate["id"], response_url=reply, user={"id": "U7", "username": "alice"})
        for payload in (spoof, bob):
            body = form(payload)
            resp = await http.post("/slack/interactions", content=body, headers=signed(body))
            assert resp.status_code == 200
        notes = [c.json()["text"] for c in slack.calls("POST", r"/actions/.*")]
        assert len(notes) == 2
        assert notes[0].startswith("Your Slack user (U999) is not a Boardroom approver, so nothing was decided.")
        assert "'bob' may not decide" in notes[1]
        assert (await gate_now(handle, gate["id"])).status == GateStatus.pending

        body = form(block_action(gate["id"], response_url=reply))  # U42, mapped to alice
        assert (await http.post("/slack/interactions", content=body, headers=signed(body))).status_code == 200
        view = await gate_now(handle, gate["id"])
        assert (view.status, view.decided_by, view.channel) == (GateStatus.approved, "alice", Channel.slack)
        await http.post(f"/projects/{pid}/cancel")


def test_key_and_slack_settings_are_parsed_or_refused(settings: Settings) -> None:
    parsed = Settings.model_validate(settings.model_dump() | {"api_keys": KEYS, "slack_approvers": "U42:alice, U7:bob"})
    assert parsed.api_principals == [("alice", ALICE), ("bob", BOB), ("ceo", LEGACY)]
    assert parsed.api_key_list == [ALICE, BOB, LEGACY]
    assert parsed.slack_approver_map == {"U42": "alice", "U7": "bob"}
    for bad in ({"api_keys": "alice:"}, {"api_keys": f"a:{ALICE},b:{ALICE}"}, {"slack_approvers": "U42"}):
        with pytest.raises(ConfigError):
            load_settings(**bad)
