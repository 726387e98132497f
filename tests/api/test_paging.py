"""GET /projects and GET /approvals page by key (created_at, id) with `cursor`: every row once, in
order, stable while rows are added, on the indexes made for it; a bad cursor is a 422."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from api import readmodel
from api.paging import encode_cursor
from store.db import get_engine, session_scope
from tests.api.conftest import AppClient, Seed, now


async def walk(http: httpx.AsyncClient, path: str, **params: Any) -> list[list[str]]:
    """Every page of a list, following next_cursor; the ids of each page."""
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        resp = await http.get(path, params=query)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        pages.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "the cursor never ran out"


async def test_projects_page_by_key_on_every_database(offline_api: AppClient, any_db_url: str) -> None:
    seed = Seed(any_db_url)
    base = now()
    # Two projects share a timestamp: the id breaks the tie, so neither is lost or repeated.
    stamps = [
        base,
        base + timedelta(seconds=1),
        base + timedelta(seconds=1),
        *(base + timedelta(seconds=i) for i in (2, 3, 4, 5)),
    ]
    ids = [f"p-page0000000{i}" for i in range(len(stamps))]
    for i, (pid, at) in enumerate(zip(ids, stamps, strict=True)):
        seed.project(pid, created_at=at, phase="execution" if i % 2 else "discovery")
    newest_first = sorted(ids, key=lambda pid: (stamps[ids.index(pid)], pid), reverse=True)
    async with offline_api(database_url=any_db_url) as http:
        pages = await walk(http, "/projects", limit=3)
        assert [len(p) for p in pages] == [3, 3, 1]
        assert [pid for page in pages for pid in page] == newest_first
        # The cursor pages within a filter too.
        execution = await walk(http, "/projects", limit=2, phase="execution")
        assert [pid for page in execution for pid in page] == [p for p in newest_first if ids.index(p) % 2]

        # A project started after the first page does not shift the next one (an offset would).
        first = (await http.get("/projects", params={"limit": 3})).json()
        seed.project("p-pagelate0001", created_at=base + timedelta(seconds=60))
        second = (await http.get("/projects", params={"limit": 3, "cursor": first["next_cursor"]})).json()
        assert [p["id"] for p in second["items"]] == newest_first[3:6]
        assert second["total"] == len(ids) + 1


async def test_approvals_page_by_key(offline_api: AppClient, seed: Seed) -> None:
    base = now()
    seed.project("p-pagegates01", created_at=base)
    for seq in range(1, 6):
        status = "pending" if seq % 2 else "approved"
        seed.gate("p-pagegates01", seq, created_at=base + timedelta(seconds=seq), status=status)
    async with offline_api() as http:
        pages = await walk(http, "/approvals", limit=2)
        assert pages == [
            ["p-pagegates01-g1", "p-pagegates01-g2"],
            ["p-pagegates01-g3", "p-pagegates01-g4"],
            ["p-pagegates01-g5"],
        ]
        pending = await walk(http, "/approvals", limit=2, status="pending")
        assert pending == [["p-pagegates01-g1", "p-pagegates01-g3"], ["p-pagegates01-g5"]]
        everything = (await http.get("/approvals")).json()
        assert len(everything["items"]) == 5 and everything["next_cursor"] is None


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("path", "params", "detail"),
    [
        ("/projects", {"cursor": "!!not-base64!!"}, "cursor is not valid"),
        ("/projects", {"cursor": _b64("not json")}, "cursor is not valid"),
        ("/projects", {"cursor": _b64('{"a": 1}')}, "cursor is not valid"),
        ("/projects", {"cursor": _b64('["projects", "yesterday", "p-1"]')}, "cursor is not valid"),
        ("/projects", {"cursor": _b64('["projects", "2030-01-01T00:00:00", "p-1"]')}, "cursor is not valid"),
        ("/projects", {"cursor": _b64('["projects", "2030-01-01T00:00:00+00:00", ""]')}, "cursor is not valid"),
        ("/approvals", {"cursor": _b64('["projects", "2030-01-01T00:00:00+00:00", "p-1"]')}, "another list"),
        ("/projects", {"cursor": _b64('["projects", "2030-01-01T00:00:00+00:00", "p-1"]'), "offset": 5}, "not both"),
    ],
)
async def test_a_bad_cursor_is_a_422(offline_api: AppClient, path: str, params: dict[str, Any], detail: str) -> None:
    async with offline_api() as http:
        resp = await http.get(path, params=params)
    assert resp.status_code == 422, resp.text
    assert detail in resp.json()["detail"]


async def test_an_overlong_cursor_is_refused_before_decoding(offline_api: AppClient) -> None:
    async with offline_api() as http:
        for path in ("/projects", "/approvals"):
            resp = await http.get(path, params={"cursor": "A" * 401})
            assert resp.status_code == 422
            assert resp.json()["detail"][0]["loc"] == ["query", "cursor"]


def test_a_deep_page_is_an_index_range_scan(db_url: str, seed: Seed) -> None:
    """SQLite's plan for a page after a cursor searches the (created_at, id) indexes."""
    base = now()
    for i in range(3):
        seed.project(f"p-plan0000000{i}", created_at=base + timedelta(seconds=i))
        seed.gate(f"p-plan0000000{i}", 1, created_at=base + timedelta(seconds=i))
    engine = get_engine(db_url)
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "count(" not in statement:
            seen.append((statement, parameters))

    key = (base + timedelta(seconds=2), "p-plan00000002")
    event.listen(engine, "before_cursor_execute", capture)
    try:
        with session_scope(db_url) as session:
            readmodel.list_projects(session, limit=2, after=key)
            readmodel.list_projects(session, limit=2, phase="discovery", after=key)
            readmodel.list_gates(session, limit=2, after=key)
            readmodel.list_gates(session, limit=2, project_id="p-plan00000001", after=key)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(seen) == 4
    plans = []
    with engine.connect() as conn:
        for statement, parameters in seen:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            plans.append(" | ".join(str(r[-1]) for r in rows))
    assert "ix_project_created_at_id" in plans[0], plans[0]
    assert "ix_project_phase_created_at_id" in plans[1], plans[1]
    assert "ix_gate_created_at_id" in plans[2], plans[2]
    assert "ix_gate_project_id_created_at_id" in plans[3], plans[3]
    assert all("USE TEMP B-TREE FOR ORDER BY" not in plan for plan in plans), plans


def test_cursor_round_trip() -> None:
    from api.paging import decode_cursor

    at = now()
    assert decode_cursor("projects", encode_cursor("projects", (at, "p-1"))) == (at, "p-1")
    assert json.loads(base64.urlsafe_b64decode(encode_cursor("approvals", (at, "g")) + "=="))[0] == "approvals"
