"""GET /search and the console's search page, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest

from api.principal import caller_owner
from boardroom.settings import Settings
from tests.api.conftest import running_app
from tests.store.helpers import add_doc, seed_corpus

Open = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def search_api(offline_settings: Settings, any_db_url: str) -> Open:
    """The app on `any_db_url`, acting for `owner` (the seam api.principal.caller_owner)."""

    @asynccontextmanager
    async def open_(owner: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
        async with running_app(offline_settings.model_copy(update={"database_url": any_db_url})) as (app, http):
            if owner is not None:
                app.dependency_overrides[caller_owner] = lambda: owner
            yield http

    return open_


async def test_search_across_the_callers_projects(search_api: Open, any_db_url: str) -> None:
    ids = seed_corpus(any_db_url)
    async with search_api() as http:
        r = await http.get("/search", params={"q": "refunds"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["query"] == "refunds" and body["total"] == 3 and body["next_offset"] is None
    by_id = {item["document_id"]: item for item in body["items"]}
    # The loopback caller is the default owner "ceo": both of their projects, not Alice's.
    assert set(by_id) == {ids["mugs_refund"], ids["tea_refund"], ids["tea_research"]}
    hit = by_id[ids["tea_refund"]]
    assert hit["project_id"] == "p-tea" and hit["project_name"] == "Tea subscription"
    assert hit["title"] == "Support FAQ" and hit["version"] == 1 and hit["kind"] == "deliverable"
    assert hit["url"] == f"/deliverables/{ids['tea_refund']}" and hit["project_url"] == "/projects/p-tea/view"
    assert "<mark>Refunds</mark>" in hit["snippet_html"] and hit["snippet"].startswith("Refunds within 30 days")

    async with search_api(owner="alice") as http:
        alice = (await http.get("/search", params={"q": "refunds"})).json()
    assert [i["document_id"] for i in alice["items"]] == [ids["alice_refund"]]


async def test_search_pages(search_api: Open, any_db_url: str) -> None:
    seed_corpus(any_db_url)
    async with search_api() as http:
        first = (await http.get("/search", params={"q": "refunds", "limit": 2})).json()
        rest = (await http.get("/search", params={"q": "refunds", "limit": 2, "offset": first["next_offset"]})).json()
    assert len(first["items"]) == 2 and first["next_offset"] == 2 and first["total"] == 3
    assert len(rest["items"]) == 1 and rest["next_offset"] is None
    seen = [i["document_id"] for i in first["items"] + rest["items"]]
    assert len(set(seen)) == 3


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({}, "q"),
        ({"q": ""}, "empty"),
        ({"q": "   "}, "empty"),
        ({"q": "x" * 201}, "200"),
        ({"q": "?! --"}, "no word"),
        ({"q": "refund", "limit": 0}, "limit"),
        ({"q": "refund", "limit": 51}, "limit"),
        ({"q": "refund", "offset": -1}, "offset"),
        ({"q": "refund", "offset": "many"}, "offset"),
    ],
)
async def test_bad_searches_are_422(search_api: Open, params: dict[str, object], needle: str) -> None:
    async with search_api() as http:
        r = await http.get("/search", params=params)  # type: ignore[arg-type]
    assert r.status_code == 422, r.text
    assert needle in str(r.json()["detail"])


async def test_search_page_highlights_safely(search_api: Open, any_db_url: str) -> None:
    seed_corpus(any_db_url)
    title, content = "<script>alert(1)</script> Evil title", "Refunds <img src=x onerror=alert(1)> here"
    add_doc(any_db_url, "p-tea", title, content, task="t9")
    async with search_api() as http:
        page = await http.get("/search/view", params={"q": "refunds"})
        empty = await http.get("/search/view")
        long = await http.get("/search/view", params={"q": "y" * 300})
    assert page.status_code == 200
    assert "<mark>Refunds</mark>" in page.text and "Tea subscription" in page.text
    assert "<script>alert(1)</script>" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Evil title" in page.text
    assert empty.status_code == 200 and 'name="q"' in empty.text
    assert long.status_code == 422 and "longer than 200" in long.text
