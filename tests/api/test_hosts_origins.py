"""Allowed hosts and the Origin of state-changing requests, against the real app (and the real
workflow for the approval form): a DNS-rebinding page (any Host but ours) gets 400 and no data,
a cross-site form post gets 403 and decides nothing."""

from __future__ import annotations

import base64
import os

import pytest
from temporalio.testing import WorkflowEnvironment

from boardroom.settings import Settings
from domain.enums import GateStatus
from domain.project import ProjectState
from tests.api.conftest import AppClient, Seed
from tests.api.test_lifecycle import pending_gate, worker
from workflows.project import ProjectWorkflow

pytestmark = pytest.mark.timeout(180)

KEY = "k1:" + base64.b64encode(os.urandom(32)).decode()
SEALED_SOURCE = {
    "payloads": [
        {
            "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
            "data": base64.b64encode(b'{"goal": "secret plan"}').decode(),
        }
    ]
}


async def test_other_hosts_get_400_and_no_data(offline_api: AppClient) -> None:
    async with offline_api(encryption_keys=KEY) as http:
        sealed = (await http.post("/codec/encode", json=SEALED_SOURCE)).json()
        rebound = {"Host": "evil.example"}
        listing = await http.get("/projects", headers=rebound)
        decoded = await http.post("/codec/decode", json=sealed, headers=rebound)
        page = await http.get("/", headers=rebound)
        with_port = await http.get("/projects", headers={"Host": "evil.example:8000"})
        empty = await http.get("/projects", headers={"Host": ""})
        probe = await http.get("/healthz", headers={"Host": "10.1.2.3:8000"})
        ok = [await http.get("/projects", headers={"Host": h}) for h in ("localhost:8000", "127.0.0.1", "[::1]:8000")]
        public = await http.get("/projects")  # Host: testserver, the host of BOARDROOM_PUBLIC_URL here
    for resp in (listing, decoded, page, with_port, empty):
        assert resp.status_code == 400, resp.text
        assert "is not served here" in resp.json()["detail"]
        assert "secret plan" not in resp.text
    assert "'evil.example'" in listing.json()["detail"]
    assert probe.status_code == 200  # probes call with the pod's address
    assert [r.status_code for r in ok] == [200, 200, 200]
    assert public.status_code == 200


async def test_allowed_hosts_setting(offline_api: AppClient) -> None:
    async with offline_api(allowed_hosts="api.example.com, *.corp.example") as http:
        named = await http.get("/projects", headers={"Host": "API.example.com"})
        wildcard = await http.get("/projects", headers={"Host": "boardroom.corp.example:443"})
        other = await http.get("/projects", headers={"Host": "corp.example.evil"})
    assert (named.status_code, wildcard.status_code, other.status_code) == (200, 200, 400)
    async with offline_api(allowed_hosts="*") as http:
        assert (await http.get("/projects", headers={"Host": "anything.example"})).status_code == 200


async def test_cross_site_posts_are_403_and_change_nothing(offline_api: AppClient, seed: Seed) -> None:
    seed.project()
    async with offline_api(encryption_keys=KEY) as http:
        cases = [
            {"Origin": "https://evil.example"},
            {"Origin": "http://testserver.evil.example"},
            {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
            {"Origin": "null"},
            {"Sec-Fetch-Site": "same-site"},
        ]
        for headers in cases:
            cancel = await http.post("/projects/p-seed00000001/cancel", headers=headers)
            created = await http.post("/projects", json={"goal": "x"}, headers=headers)
            assert (cancel.status_code, created.status_code) == (403, 403), headers
            assert cancel.json()["detail"] == "cross-site request refused (Origin is not this site)"
        # the Temporal UI's origin may call the codec (CORS), and nothing else
        ui = {"Origin": "http://localhost:8233"}
        codec = await http.post("/codec/encode", json=SEALED_SOURCE, headers=ui)
        steer = await http.post("/projects/p-seed00000001/steer", json={"instruction": "go"}, headers=ui)
        listed = (await http.get("/projects")).json()["items"]
    assert codec.status_code == 200 and codec.headers["access-control-allow-origin"] == "http://localhost:8233"
    assert steer.status_code == 403
    assert [p["id"] for p in listed] == ["p-seed00000001"]  # nothing created


async def test_the_approval_form_refuses_other_sites_and_takes_its_own(
    dev_env: WorkflowEnvironment, live_settings: Settings, live_api: AppClient
) -> None:
    async with worker(dev_env, live_settings), live_api() as http:
        pid = (await http.post("/projects", json={"goal": "Sell tide tables"})).json()["id"]
        gate = await pending_gate(http, pid, "interview")
        handle = dev_env.client.get_workflow_handle(f"project-{pid}", result_type=ProjectState)
        path = "/" + gate["approve_url"].split("/", 3)[3]
        form = {"decision": "approve", "comment": "from a forged page"}
        forged = await http.post(path, data=form, headers={"Origin": "https://evil.example"})
        blind = await http.post(path, data=form, headers={"Origin": "null", "Sec-Fetch-Site": "cross-site"})
        assert (forged.status_code, blind.status_code) == (403, 403)
        state = await handle.query(ProjectWorkflow.get_state)
        assert next(g for g in state.gates if g.id == gate["id"]).status == GateStatus.pending
        # a browser's own post from our page: Origin null (no-referrer) and same-origin fetch metadata
        own = await http.post(
            path, data={"decision": "approve"}, headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"}
        )
        assert own.status_code == 200, own.text
        assert "Decision recorded" in own.text
        state = await handle.query(ProjectWorkflow.get_state)
        decided = next(g for g in state.gates if g.id == gate["id"])
        assert (decided.status, decided.channel, decided.comment) == (GateStatus.approved, "web", "")
        await http.post(f"/projects/{pid}/cancel")
