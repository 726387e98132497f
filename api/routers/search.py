"""Knowledge across projects: full-text search over the caller's deliverables and research.

SQLite FTS5 by default, PostgreSQL full-text search on PostgreSQL (store/search.py). JSON at
`GET /search?q=`, and the console's search page at `GET /search/view?q=`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from api.auth import BrowserRoute
from api.deps import ApiKey, SettingsDep
from api.principal import OwnerDep
from api.routers.pages import templates
from api.schemas import errors
from store.search import MAX_LIMIT, MAX_OFFSET, MAX_QUERY_CHARS, InvalidQuery, SearchHit, search_documents

QueryText = Annotated[
    str,
    Query(
        max_length=MAX_QUERY_CHARS,
        description='Words (all must match), "a phrase", `a or b`, `-excluded`. At most 200 characters.',
    ),
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]

api = APIRouter(tags=["search"], dependencies=[ApiKey])
console = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[ApiKey], route_class=BrowserRoute)


class SearchResults(BaseModel):
    query: str
    items: list[SearchHit]
    total: int
    limit: int
    offset: int
    next_offset: int | None = None


def run_search(database_url: str, owner: str, q: str, limit: int, offset: int) -> SearchResults:
    """Search the owner's documents; InvalidQuery (empty, too long, no words) → 422."""
    try:
        page = search_documents(database_url, owner, q, limit=limit, offset=offset)
    except InvalidQuery as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    more = offset + len(page.items) < page.total and offset + limit <= MAX_OFFSET
    return SearchResults(
        query=q.strip(),
        items=page.items,
        total=page.total,
        limit=limit,
        offset=offset,
        next_offset=offset + limit if more else None,
    )


@api.get("/search", response_model=SearchResults, responses=errors(401, 403, 422, 503))
def search(
    settings: SettingsDep, owner: OwnerDep, q: QueryText, limit: Limit = 20, offset: Offset = 0
) -> SearchResults:
    """The caller's deliverables and research across all their projects, best match first, each
    with a highlighted snippet (`snippet_html`: escaped text, matches in `<mark>`) and links.
    Newest version of each deliverable only. Read-only."""
    return run_search(settings.database_url, owner, q, limit, offset)


@console.get("/search/view", response_class=HTMLResponse)
async def search_page(
    request: Request, settings: SettingsDep, owner: OwnerDep, q: str = "", offset: Offset = 0
) -> HTMLResponse:
    """The console's search box and results."""
    results: SearchResults | None = None
    error = ""
    code = 200
    if len(q) > MAX_QUERY_CHARS:
        error, code = f"The search text is longer than {MAX_QUERY_CHARS} characters.", 422
    elif q.strip():
        try:
            results = await run_in_threadpool(run_search, settings.database_url, owner, q, 20, offset)
        except HTTPException as exc:
            error, code = str(exc.detail), exc.status_code
    return templates.TemplateResponse(
        request, "search.html", {"q": q[:MAX_QUERY_CHARS], "results": results, "error": error}, status_code=code
    )


router = APIRouter()
router.include_router(api)
router.include_router(console)
