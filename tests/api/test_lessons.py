"""GET/POST /lessons, PATCH/DELETE /lessons/{id}, and the console page /lessons/view."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import pytest

from api.principal import caller_owner
from boardroom.settings import Settings
from store.lessons import LessonSource, list_lessons, record_lesson
from tests.api.conftest import running_app

Open = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]
TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "templates"


@pytest.fixture
def lessons_api(offline_settings: Settings, any_db_url: str) -> Open:
    """The app on `any_db_url`, acting for `owner` (the seam api.principal.caller_owner)."""

    @asynccontextmanager
    async def open_(owner: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
        async with running_app(offline_settings.model_copy(update={"database_url": any_db_url})) as (app, http):
            if owner is not None:
                app.dependency_overrides[caller_owner] = lambda: owner
            yield http

    return open_


async def test_create_list_edit_delete(lessons_api: Open, any_db_url: str) -> None:
    record_lesson(any_db_url, "ceo", "never promise next-day delivery please", LessonSource(kind="revise", id="p-1-g2"))
    async with lessons_api() as http:
        created = await http.post("/lessons", json={"text": "  Quote prices in EUR.  "})
        assert created.status_code == 201, created.text
        lesson = created.json()
        assert lesson["text"] == "Quote prices in EUR." and lesson["source_kind"] == "manual"
        listed = (await http.get("/lessons")).json()
        assert listed["total"] == 2
        assert [i["text"] for i in listed["items"]] == ["Quote prices in EUR.", "Never promise next-day delivery."]
        assert listed["items"][1]["source_kind"] == "revise" and listed["items"][1]["source_id"] == "p-1-g2"

        edited = await http.patch(f"/lessons/{lesson['id']}", json={"text": "Quote prices in EUR and USD."})
        assert edited.status_code == 200 and edited.json()["text"] == "Quote prices in EUR and USD."

        deleted = await http.delete(f"/lessons/{lesson['id']}")
        assert deleted.status_code == 204 and deleted.content == b""
        again = await http.delete(f"/lessons/{lesson['id']}")
        assert again.status_code == 404 and again.json()["detail"] == f"unknown lesson {lesson['id']}"
        assert (await http.get("/lessons")).json()["total"] == 1


async def test_another_owners_lessons_are_invisible(lessons_api: Open, any_db_url: str) -> None:
    async with lessons_api(owner="alice") as http:
        alices = (await http.post("/lessons", json={"text": "Alice's rule."})).json()
    async with lessons_api() as http:
        assert (await http.get("/lessons")).json() == {"items": [], "total": 0, "limit": 100, "offset": 0}
        assert (await http.delete(f"/lessons/{alices['id']}")).status_code == 404
        assert (await http.patch(f"/lessons/{alices['id']}", json={"text": "Mine now."})).status_code == 404
    assert [lesson.text for lesson in list_lessons(any_db_url, "alice")[0]] == ["Alice's rule."]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/lessons", {}),
        ("POST", "/lessons", {"text": ""}),
        ("POST", "/lessons", {"text": "   "}),
        ("POST", "/lessons", {"text": "\u0000\u0007"}),
        ("POST", "/lessons", {"text": "x" * 201}),
        ("POST", "/lessons", {"text": 42}),
        ("POST", "/lessons", {"text": "ok", "owner": "alice"}),
        ("PATCH", "/lessons/1", {"text": ""}),
        ("DELETE", "/lessons/abc", None),
        ("DELETE", "/lessons/0", None),
        ("DELETE", "/lessons/99999999999999999999999", None),
        ("GET", "/lessons?limit=0", None),
    ],
)
async def test_bad_input_is_422(lessons_api: Open, method: str, path: str, body: object) -> None:
    async with lessons_api() as http:
        r = await http.request(method, path, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


async def test_unknown_lesson_is_404(lessons_api: Open) -> None:
    async with lessons_api() as http:
        assert (await http.delete("/lessons/12345")).status_code == 404
        assert (await http.patch("/lessons/12345", json={"text": "New."})).json() == {"detail": "unknown lesson 12345"}


# --- console page (SQLite is enough: the routes share the store functions tested on both) -------


async def test_console_lists_adds_edits_and_deletes(
    offline_api: Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]], db_url: str
) -> None:
    record_lesson(db_url, "ceo", "Never <b>promise</b> next-day delivery", LessonSource(kind="reject", id="g1"))
    async with offline_api() as http:
        page = await http.get("/lessons/view")
        assert page.status_code == 200
        assert "Never &lt;b&gt;promise&lt;/b&gt; next-day delivery." in page.text and "reject" in page.text
        assert 'action="/lessons/view"' in page.text and 'method="post"' in page.text

        added = await http.post("/lessons/view", data={"text": "Keep   pages short."})
        assert added.status_code == 303 and added.headers["location"] == "/lessons/view"
        lessons, _ = list_lessons(db_url, "ceo")
        new = next(lesson for lesson in lessons if lesson.text == "Keep pages short.")
        assert f'action="/lessons/{new.id}/edit"' in (await http.get("/lessons/view")).text

        edited = await http.post(f"/lessons/{new.id}/edit", data={"text": "Keep pages very short."})
        assert edited.status_code == 303
        assert "Keep pages very short." in (await http.get("/lessons/view")).text

        deleted = await http.post(f"/lessons/{new.id}/delete")
        assert deleted.status_code == 303
        assert "Keep pages very short." not in (await http.get("/lessons/view")).text

        missing = await http.post(f"/lessons/{new.id}/delete")
        assert missing.status_code == 404 and "Lesson not found" in missing.text
        missing_edit = await http.post(f"/lessons/{new.id}/edit", data={"text": "Anything."})
        assert missing_edit.status_code == 404

        empty = await http.post("/lessons/view", data={"text": " \x00 "})
        assert empty.status_code == 422 and "Write the lesson first." in empty.text
        long = await http.post("/lessons/view", data={"text": "y" * 250})
        assert long.status_code == 422 and "at most 200 characters" in long.text and "y" * 250 in long.text
    assert [lesson.text for lesson in list_lessons(db_url, "ceo")[0]] == ["Never <b>promise</b> next-day delivery."]


async def test_console_forms_refuse_other_sites(
    offline_api: Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]], db_url: str
) -> None:
    async with offline_api() as http:
        foreign = await http.post(
            "/lessons/view", data={"text": "Planted lesson."}, headers={"Origin": "https://evil.example"}
        )
        cross = await http.post(
            "/lessons/view", data={"text": "Planted lesson."}, headers={"Sec-Fetch-Site": "cross-site"}
        )
        own = await http.post(
            "/lessons/view",
            data={"text": "Own lesson."},
            headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
        )
    assert foreign.status_code == 403 and cross.status_code == 403 and own.status_code == 303
    assert [lesson.text for lesson in list_lessons(db_url, "ceo")[0]] == ["Own lesson."]


def test_console_templates_have_no_inline_script_or_style() -> None:
    # A strict CSP (no 'unsafe-inline') must not break these pages.
    for name in ("lessons.html", "search.html"):
        source = (TEMPLATES / name).read_text()
        for needle in ("<script", "<style", "style=", "onclick", "onsubmit", "javascript:"):
            assert needle not in source.lower(), (name, needle)


async def test_lessons_need_the_api_key(
    offline_api: Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]],
) -> None:
    async with offline_api(api_keys="k-123") as http:
        assert (await http.get("/lessons")).status_code == 401
        assert (await http.get("/lessons/view")).status_code == 401
        assert (await http.get("/search", params={"q": "x"})).status_code == 401
        ok = await http.get("/lessons", headers={"Authorization": "Bearer k-123"})
    assert ok.status_code == 200 and ok.json()["total"] == 0
