"""The work product: deliverables (JSON and pages), the website preview, and the export zip.

A deliverable's id is the document id of its first version (see api/workproduct.py); every route
here sits behind the same API key check as the rest of the API, and unknown ids answer 404.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from api import readmodel, workproduct
from api.auth import BrowserRoute
from api.deps import ApiKey, SessionDep, SettingsDep
from api.routers.pages import error_page, templates
from api.schemas import DeliverableDetail, DeliverableList, errors
from boardroom.settings import Settings
from store.tables import Project

# Document ids are 32-bit integers in both databases; larger numbers can name nothing.
MAX_ID = 2_147_483_647
DocumentId = Annotated[int, Path(ge=1, le=MAX_ID, description="a deliverable id")]
VersionQuery = Annotated[int | None, Query(ge=1, le=1_000_000, description="an older version (default: latest)")]

router = APIRouter(tags=["deliverables"], dependencies=[ApiKey])
pages = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[ApiKey], route_class=BrowserRoute)
# The zip is a download the project page links to: a signed-in browser may fetch it too.
downloads = APIRouter(tags=["deliverables"], dependencies=[ApiKey], route_class=BrowserRoute)

ZIP_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A zip archive: manifest.json, deliverables/, site/",
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _project(session: Session, project_id: str) -> Project:
    row = readmodel.get_project(session, project_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown project {project_id}")
    return row


def _detail(session: Session, settings: Settings, deliverable_id: int, version: int | None) -> DeliverableDetail:
    try:
        return workproduct.get_deliverable(session, settings, deliverable_id, version)
    except (workproduct.UnknownDeliverable, workproduct.UnknownVersion) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None


@router.get("/projects/{project_id}/deliverables", response_model=DeliverableList, responses=errors(401, 403, 404, 422))
def list_deliverables(project_id: str, settings: SettingsDep, session: SessionDep) -> DeliverableList:
    """A project's deliverables, one per task, with their latest version and QA score. Read-only."""
    project = _project(session, project_id)
    site = workproduct.current_site(session, project.id)
    return DeliverableList(
        items=workproduct.list_deliverables(session, settings, project),
        site_url=workproduct.project_url(settings, project.id, "site/") if site else None,
        export_url=workproduct.project_url(settings, project.id, "export.zip"),
    )


@router.get("/deliverables/{deliverable_id}", response_model=DeliverableDetail, responses=errors(401, 403, 404, 422))
def get_deliverable(
    deliverable_id: DocumentId, settings: SettingsDep, session: SessionDep, version: VersionQuery = None
) -> DeliverableDetail:
    """One deliverable: the content and files of its latest version (or `?version=N`), every
    version with what changed, and the QA report of every round. Read-only."""
    return _detail(session, settings, deliverable_id, version)


@downloads.get(
    "/projects/{project_id}/export.zip",
    response_class=Response,
    response_model=None,
    responses={**ZIP_RESPONSE, **errors(401, 403, 404)},
)
def export_project(project_id: str, settings: SettingsDep, session: SessionDep) -> Response:
    """Every deliverable (latest version, markdown and files) and the website as files, with a
    manifest.json (ids, titles, versions, QA scores, paths). Read-only; the same work gives the
    same bytes."""
    project = _project(session, project_id)
    body = workproduct.export_zip(session, settings, project)
    name = workproduct.slugify(project.name) or "project"
    return Response(
        body,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}-{project.id}.zip"'},
    )


# --- pages: a deliverable, and the website preview ---------------------------------------------


@pages.get("/deliverables/{deliverable_id}/view", response_class=HTMLResponse)
def deliverable_page(
    request: Request,
    deliverable_id: int,
    settings: SettingsDep,
    session: SessionDep,
    version: int | None = None,
) -> HTMLResponse:
    """A deliverable as a page: rendered markdown, its files, versions with what changed, the QA
    report of every round."""
    try:
        if not 1 <= deliverable_id <= MAX_ID:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown deliverable {deliverable_id}")
        detail = _detail(session, settings, deliverable_id, version)
    except HTTPException as exc:
        return error_page(request, exc.status_code, "Deliverable not found", str(exc.detail))
    track, project = workproduct.find_track(session, detail.id)
    pairs = zip(track.versions, track.versions[1:], strict=False)
    diffs = {cur.version: workproduct.diff_text(prev, cur) for prev, cur in pairs}
    site = workproduct.current_site(session, detail.project_id)
    return templates.TemplateResponse(
        request,
        "deliverable.html",
        {
            "d": detail,
            "project": project,
            "diffs": diffs,
            "site_here": site is not None and site.task_id == detail.task_id,
        },
    )


def _site_response(request: Request, session: Session, project_id: str, path: str) -> Response:
    if readmodel.get_project(session, project_id) is None:
        return error_page(request, 404, "Project not found", f"unknown project {project_id}")
    rel = workproduct.site_path(path)
    if rel is None:
        return error_page(request, 400, "Not allowed", "That path leaves the website.")
    site = workproduct.current_site(session, project_id)
    if site is None:
        return error_page(
            request, 404, "No website yet", "No deliverable of this project holds a website (an index.html) yet."
        )
    content = site.files.get(rel)
    if content is None:
        return error_page(request, 404, "Not found", f"The website has no file {rel}.")
    return Response(
        content.encode("utf-8"),
        media_type=workproduct.content_type(rel),
        headers={
            "Content-Security-Policy": workproduct.SITE_CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        },
    )


@pages.get("/projects/{project_id}/site")
def site_root(project_id: str) -> RedirectResponse:
    """The preview lives under a trailing slash so the site's relative links resolve."""
    target = f"/projects/{quote(project_id, safe='')}/site/"
    return RedirectResponse(target, status_code=status.HTTP_308_PERMANENT_REDIRECT)


@pages.get("/projects/{project_id}/site/{path:path}")
def site_preview(request: Request, project_id: str, session: SessionDep, path: str = "") -> Response:
    """The project's website as it would go live (the launched one once launch wrote the payment
    link in), served with a strict CSP: no scripts, styles and images from the site only."""
    return _site_response(request, session, project_id, path)
