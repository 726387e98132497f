"""Bad input is a 422 (never a 500), unknown ids are 404, errors are JSON {"detail": ...},
and a Temporal that does not answer is a 503 with a reason."""

from __future__ import annotations

import pytest

from api.app import create_app
from boardroom.settings import Settings
from tests.api.conftest import AppClient

BAD_PROJECTS = [
    {},
    {"goal": ""},
    {"goal": "   "},
    {"goal": "x" * 4001},
    {"goal": 42},
    {"goal": "ok", "budget_usd": 0},
    {"goal": "ok", "budget_usd": -5},
    {"goal": "ok", "budget_usd": True},
    {"goal": "ok", "budget_usd": "10"},
    {"goal": "ok", "auto_approve": "sometimes"},
    {"goal": "ok", "name": ""},
    {"goal": "ok", "unknown": 1},
]


@pytest.mark.parametrize("body", BAD_PROJECTS)
async def test_create_project_rejects_bad_input(offline_api: AppClient, body: dict) -> None:  # type: ignore[type-arg]
    async with offline_api() as http:
        resp = await http.post("/projects", json=body)
    assert resp.status_code == 422, resp.text
    assert isinstance(resp.json()["detail"], list)


async def test_malformed_json_is_422(offline_api: AppClient) -> None:
    async with offline_api() as http:
        resp = await http.post("/projects", content=b"{not json", headers={"content-type": "application/json"})
    assert resp.status_code == 422


async def test_valid_input_with_temporal_away_is_503(offline_api: AppClient) -> None:
    async with offline_api() as http:
        resp = await http.post("/projects", json={"goal": "x" * 4000, "budget_usd": 10})
        listed = await http.get("/projects")
    assert resp.status_code == 503
    assert "Temporal" in resp.json()["detail"]
    assert listed.json()["items"] == []  # no orphan row left behind


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/approvals/p-abc-g1/decision", {"decision": "maybe"}),
        ("post", "/approvals/p-abc-g1/decision", {"decision": "approve", "extra": 1}),
        ("post", "/approvals/p-abc-g1/decision", {"decision": "approve", "budget_increase_usd": True}),
        ("post", "/approvals/p-abc-g1/decision", {"decision": "approve", "comment": "c" * 4001}),
        ("post", "/approvals/p-abc-g1/decision", {"decision": "approve", "answers": {f"q{i}": "a" for i in range(13)}}),
        ("post", "/projects/p-abc/steer", {"instruction": ""}),
        ("post", "/projects/p-abc/steer", {"instruction": "go", "what": 1}),
        ("get", "/projects?limit=0", None),
        ("get", "/projects?limit=1000", None),
        ("get", "/projects?offset=-1", None),
        ("get", "/projects?phase=someday", None),
        ("get", "/approvals?status=maybe", None),
    ],
)
async def test_other_bad_input(offline_api: AppClient, method: str, path: str, body: object) -> None:
    async with offline_api() as http:
        resp = await http.request(method.upper(), path, json=body)
    assert resp.status_code == 422, resp.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/projects/p-nope", None),
        ("post", "/projects/p-nope/steer", {"instruction": "go"}),
        ("post", "/projects/p-nope/cancel", None),
        ("get", "/approvals/p-nope-g1", None),
        ("post", "/approvals/p-nope-g1/decision", {"decision": "approve"}),
        ("post", "/approvals/not-a-gate/decision", {"decision": "approve"}),
    ],
)
async def test_unknown_ids_are_404(offline_api: AppClient, method: str, path: str, body: object) -> None:
    async with offline_api() as http:
        resp = await http.request(method.upper(), path, json=body)
    assert resp.status_code == 404, resp.text
    assert "p-nope" in resp.json()["detail"] or "not-a-gate" in resp.json()["detail"]


async def test_health_and_readiness_with_temporal_away(offline_api: AppClient) -> None:
    async with offline_api() as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["temporal"] != "ok"
    assert "temporal" in body["detail"]


async def test_readiness_ok_and_database_down(live_api: AppClient) -> None:
    async with live_api() as http:
        ready = await http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready", "checks": {"temporal": "ok", "database": "ok"}, "detail": None}
    async with live_api(database_url="postgresql://nobody@127.0.0.1:1/none") as http:
        down = await http.get("/readyz")
        listed = await http.get("/projects")
    assert down.status_code == 503
    assert down.json()["checks"] == {"temporal": "ok", "database": "unavailable: OperationalError"}
    assert listed.status_code == 503
    assert "database" in listed.json()["detail"]


def test_openapi_documents_models_and_errors(settings: Settings) -> None:
    spec = create_app(settings).openapi()
    paths = spec["paths"]
    expected = {
        ("/projects", "post"): {"201", "401", "403", "409", "422"},
        ("/projects", "get"): {"200", "401", "403", "422"},
        ("/projects/{project_id}", "get"): {"200", "401", "403", "404"},
        ("/projects/{project_id}/steer", "post"): {"202", "404", "409", "422"},
        ("/projects/{project_id}/cancel", "post"): {"202", "404", "409"},
        ("/approvals", "get"): {"200", "401", "403"},
        ("/approvals/{gate_id}", "get"): {"200", "404"},
        ("/approvals/{gate_id}/decision", "post"): {"200", "401", "403", "404", "409", "422"},
        ("/slack/interactions", "post"): {"200", "401"},
        ("/codec/decode", "post"): {"200", "404"},
        ("/readyz", "get"): {"200", "503"},
    }
    for (path, method), codes in expected.items():
        responses = paths[path][method]["responses"]
        assert codes <= set(responses), (path, method, set(responses))
        for code, resp in responses.items():
            assert "application/json" in resp.get("content", {}), (path, method, code)
    assert "/a/{token}" not in paths and "/" not in paths  # HTML pages stay out of the JSON API
