"""Lessons learned from the CEO's feedback, per owner: the JSON API and the console page.

JSON: `GET/POST /lessons`, `PATCH/DELETE /lessons/{id}`. Console: `/lessons/view` lists the
lessons with a form per lesson (edit, delete) and one to add a lesson; plain HTML forms that
work without JavaScript, answered with a redirect back to the page.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, StringConstraints

from api.auth import BrowserRoute
from api.deps import ApiKey, SettingsDep
from api.principal import OwnerDep
from api.routers.pages import error_page, templates
from api.schemas import Input, errors
from boardroom.settings import Settings
from store.lessons import (
    LESSON_MAX_CHARS,
    MAX_LESSONS_PER_OWNER,
    TooManyLessons,
    clean_text,
    delete_lesson,
    list_lessons,
    save_lesson,
    update_lesson,
)
from store.tables import LessonPublic

LessonText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=LESSON_MAX_CHARS)]
LessonId = Annotated[int, Path(ge=1, le=2**62)]

api = APIRouter(prefix="/lessons", tags=["lessons"], dependencies=[ApiKey])
console = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[ApiKey], route_class=BrowserRoute)


class LessonIn(Input):
    text: LessonText


class LessonList(BaseModel):
    items: list[LessonPublic]
    total: int
    limit: int
    offset: int


def _not_found(lesson_id: int) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"unknown lesson {lesson_id}")


@api.get("", response_model=LessonList, responses=errors(401, 403, 422, 503))
def get_lessons(
    settings: SettingsDep,
    owner: OwnerDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LESSONS_PER_OWNER)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_LESSONS_PER_OWNER)] = 0,
) -> LessonList:
    """The caller's lessons, newest first. Read-only."""
    items, total = list_lessons(settings.database_url, owner, limit=limit, offset=offset)
    return LessonList(items=items, total=total, limit=limit, offset=offset)


@api.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=LessonPublic,
    responses=errors(401, 403, 409, 422, 503),
)
def create_lesson(body: LessonIn, settings: SettingsDep, owner: OwnerDep) -> LessonPublic:
    """Add a lesson in the CEO's own words (kept as written). Not idempotent: each call adds one;
    409 when the owner has the maximum number of lessons."""
    try:
        lesson, _ = save_lesson(settings.database_url, owner, body.text)
    except TooManyLessons as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except ValueError as exc:  # nothing left once control characters are dropped
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return lesson


@api.patch("/{lesson_id}", response_model=LessonPublic, responses=errors(401, 403, 404, 422, 503))
def edit_lesson(lesson_id: LessonId, body: LessonIn, settings: SettingsDep, owner: OwnerDep) -> LessonPublic:
    """New text for one of the caller's lessons (404 when it is not theirs). Idempotent."""
    try:
        lesson = update_lesson(settings.database_url, owner, lesson_id, body.text)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    if lesson is None:
        raise _not_found(lesson_id)
    return lesson


@api.delete(
    "/{lesson_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors(401, 403, 404, 422, 503),
)
def remove_lesson(lesson_id: LessonId, settings: SettingsDep, owner: OwnerDep) -> Response:
    """Delete one of the caller's lessons: 204; 404 when it is unknown or not theirs."""
    if not delete_lesson(settings.database_url, owner, lesson_id):
        raise _not_found(lesson_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- console page ------------------------------------------------------------------------------

PAGE = "/lessons/view"


def same_site(request: Request, settings: Settings) -> bool:
    """A form post from this console, not from another site the CEO's browser has open (the API
    answers loopback browsers without a key, so a foreign page could otherwise post here)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = urlsplit(origin).netloc
    return bool(host) and host in {request.headers.get("host"), urlsplit(settings.public_url).netloc}


def _page(
    request: Request,
    items: list[LessonPublic],
    total: int,
    *,
    error: str = "",
    code: int = 200,
    draft: str = "",
    edit_id: int | None = None,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "lessons.html",
        {
            "lessons": items,
            "total": total,
            "error": error,
            "draft": draft,
            "edit_id": edit_id,
            "max_chars": LESSON_MAX_CHARS,
        },
        status_code=code,
    )


async def _form_text(request: Request) -> str:
    form = await request.form()
    value = form.get("text", "")
    return clean_text(value) if isinstance(value, str) else ""


async def _render(
    request: Request, settings: Settings, owner: str, *, error: str = "", code: int = 200, **kw: object
) -> HTMLResponse:
    items, total = await run_in_threadpool(list_lessons, settings.database_url, owner, limit=MAX_LESSONS_PER_OWNER)
    return _page(request, items, total, error=error, code=code, **kw)  # type: ignore[arg-type]


def _invalid(text: str) -> str:
    if not text:
        return "Write the lesson first."
    if len(text) > LESSON_MAX_CHARS:
        return f"A lesson is at most {LESSON_MAX_CHARS} characters ({len(text)} given)."
    return ""


@console.get(PAGE, response_class=HTMLResponse)
async def lessons_page(request: Request, settings: SettingsDep, owner: OwnerDep) -> HTMLResponse:
    """The caller's lessons, each editable, and a form to add one."""
    return await _render(request, settings, owner)


@console.post(PAGE, response_class=HTMLResponse)
async def lessons_page_add(request: Request, settings: SettingsDep, owner: OwnerDep) -> Response:
    """Add a lesson from the form; back to the page (303), or the page with the error (422)."""
    if not same_site(request, settings):
        return error_page(request, 403, "Not allowed", "This form can only be sent from Boardroom's own pages.")
    text = await _form_text(request)
    if problem := _invalid(text):
        return await _render(request, settings, owner, error=problem, code=422, draft=text)
    try:
        await run_in_threadpool(save_lesson, settings.database_url, owner, text)
    except TooManyLessons as exc:
        return await _render(request, settings, owner, error=str(exc), code=409, draft=text)
    return RedirectResponse(PAGE, status_code=status.HTTP_303_SEE_OTHER)


@console.post("/lessons/{lesson_id}/edit", response_class=HTMLResponse)
async def lessons_page_edit(request: Request, lesson_id: LessonId, settings: SettingsDep, owner: OwnerDep) -> Response:
    """Save a lesson's new text from its form; 404 page when it is not the caller's."""
    if not same_site(request, settings):
        return error_page(request, 403, "Not allowed", "This form can only be sent from Boardroom's own pages.")
    text = await _form_text(request)
    if problem := _invalid(text):
        return await _render(request, settings, owner, error=problem, code=422, draft=text, edit_id=lesson_id)
    if await run_in_threadpool(update_lesson, settings.database_url, owner, lesson_id, text) is None:
        return error_page(request, 404, "Lesson not found", f"There is no lesson {lesson_id} of yours.")
    return RedirectResponse(PAGE, status_code=status.HTTP_303_SEE_OTHER)


@console.post("/lessons/{lesson_id}/delete", response_class=HTMLResponse)
async def lessons_page_delete(
    request: Request, lesson_id: LessonId, settings: SettingsDep, owner: OwnerDep
) -> Response:
    """Delete a lesson from its form; 404 page when it is not the caller's."""
    if not same_site(request, settings):
        return error_page(request, 403, "Not allowed", "This form can only be sent from Boardroom's own pages.")
    if not await run_in_threadpool(delete_lesson, settings.database_url, owner, lesson_id):
        return error_page(request, 404, "Lesson not found", f"There is no lesson {lesson_id} of yours.")
    return RedirectResponse(PAGE, status_code=status.HTTP_303_SEE_OTHER)


router = APIRouter()
router.include_router(api)
router.include_router(console)
