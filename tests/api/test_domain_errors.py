"""The one mapping from domain errors (domain.errors) to HTTP: every kind answers its status
with `{"detail": message}` through the real app's handler, the workflow's rejection types come
back as their domain errors, and the service's refusals reach callers unchanged."""

from __future__ import annotations

import pytest

from boardroom.settings import Settings
from domain.errors import (
    AlreadyDecided,
    AlreadyVoted,
    ApproverNotAllowed,
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    InvalidDecision,
    NotFound,
    Unavailable,
    UnknownGate,
    rejection,
)
from tests.api.conftest import AppClient, Seed, running_app

EXPECTED: list[tuple[type[DomainError], int]] = [
    (NotFound, 404),
    (Conflict, 409),
    (Forbidden, 403),
    (Invalid, 422),
    (Unavailable, 503),
    (UnknownGate, 404),
    (AlreadyDecided, 409),
    (AlreadyVoted, 409),
    (ApproverNotAllowed, 403),
    (InvalidDecision, 422),
    (DomainError, 400),
]


@pytest.mark.parametrize(("cls", "code"), EXPECTED, ids=[cls.__name__ for cls, _ in EXPECTED])
async def test_each_domain_error_answers_its_status_and_message(
    offline_settings: Settings, cls: type[DomainError], code: int
) -> None:
    message = f"{cls.__name__}: the reason — «quoted»"
    async with running_app(offline_settings) as (app, http):

        async def refuse() -> None:
            raise cls(message)

        app.add_api_route("/test-domain-error", refuse, methods=["GET"])
        resp = await http.get("/test-domain-error")
        page = await http.get("/test-domain-error", headers={"Accept": "text/html"})
    assert resp.status_code == code, resp.text
    assert resp.json() == {"detail": message}
    assert resp.headers["content-type"] == "application/json"
    # A route's refusal stays JSON for a browser too (only an address with no route gets a page).
    assert (page.status_code, page.json()) == (code, {"detail": message})


@pytest.mark.parametrize(
    ("type_name", "cls"),
    [
        ("UnknownGate", UnknownGate),
        ("AlreadyDecided", AlreadyDecided),
        ("AlreadyVoted", AlreadyVoted),
        ("ApproverNotAllowed", ApproverNotAllowed),
        ("InvalidDecision", InvalidDecision),
    ],
)
def test_update_rejections_map_by_type_name(type_name: str, cls: type[DomainError]) -> None:
    refused = rejection(type_name, "why")
    assert type(refused) is cls
    assert refused is not None and refused.message == "why" and str(refused) == "why"


@pytest.mark.parametrize("type_name", [None, "", "SomethingElse", "DomainError", "NotFound"])
def test_other_application_error_types_are_no_rejection(type_name: str | None) -> None:
    assert rejection(type_name, "why") is None


async def test_service_refusals_keep_their_status_and_detail(offline_api: AppClient, seed: Seed) -> None:
    seed.project(status="completed")
    async with offline_api() as http:
        unknown = await http.get("/projects/p-nosuchproject")
        finished = await http.post("/projects/p-seed00000001/cancel")
        gate = await http.post("/approvals/not-a-gate/decision", json={"decision": "approve"})
        offline = await http.post("/projects", json={"goal": "Sell mugs"})
        page = await http.get("/projects/p-nosuchproject/view", headers={"Accept": "text/html"})
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "unknown project p-nosuchproject"})
    assert (finished.status_code, finished.json()) == (409, {"detail": "project p-seed00000001 is completed"})
    assert (gate.status_code, gate.json()) == (404, {"detail": "unknown gate not-a-gate"})
    assert (offline.status_code, offline.json()) == (
        503,
        {"detail": "Temporal is not reachable yet; the API keeps retrying"},
    )
    # A page still renders its own error page with the refusal's status.
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    assert "unknown project p-nosuchproject" in page.text
