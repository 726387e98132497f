"""The work product as the API, the pages, the CLI and the export read it: deliverables with their
versions and QA rounds, the website, and a zip of everything.

Synchronous reads on a Session (routes run them in the thread pool). A deliverable is one task's
Documents of kind "deliverable" (one per version); its id is the document id of its first
version, and the document id of any version finds it too. The website is the latest launched site
(a Document of kind "site") or else the newest deliverable version whose files hold an
`index.html`, finalized without a payment link so no placeholder is ever shown.
"""

from __future__ import annotations

import difflib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sqlmodel import Session, col, select

from activities import site as sitelib
from api import service
from api.schemas import (
    DeliverableDetail,
    DeliverableItem,
    DeliverableStatus,
    ReviewIssueOut,
    ReviewRoundOut,
    VersionOut,
)
from boardroom.settings import Settings
from domain.project import ProjectState
from store.tables import Document, Project, Review

DELIVERABLE_KIND = "deliverable"
SITE_KIND = sitelib.SITE_KIND
MAX_DIFF_LINES = 200
# Zip entries carry a fixed timestamp: the same work exports to the same bytes.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class UnknownDeliverable(LookupError):
    """No deliverable has this id."""


class UnknownVersion(LookupError):
    """The deliverable has no such version."""


class NoSite(LookupError):
    """No deliverable of the project holds a website."""


@dataclass
class Track:
    """One deliverable: a task's versions (oldest first) and its QA rounds (first first)."""

    project_id: str
    task_id: str
    versions: list[Document]
    reviews: list[Review] = field(default_factory=list)

    @property
    def id(self) -> int:
        return min(d.id or 0 for d in self.versions)

    @property
    def latest(self) -> Document:
        return self.versions[-1]

    def version(self, number: int | None) -> Document:
        if number is None:
            return self.latest
        for doc in self.versions:
            if doc.version == number:
                return doc
        raise UnknownVersion(f"deliverable {self.id} has no version {number} (versions: {self.numbers()})")

    def numbers(self) -> str:
        return ", ".join(str(d.version) for d in self.versions)

    def latest_review(self) -> Review | None:
        return self.reviews[-1] if self.reviews else None


@dataclass
class SiteView:
    """The website to preview or export."""

    files: dict[str, str]
    document_id: int
    version: int
    task_id: str
    launched: bool


def scored_by(provider: str | None) -> str:
    """How a QA round was scored, as people read it."""
    if not provider or provider == "offline":
        return "offline rubric"
    return f"{provider} model"


def _tracks(session: Session, project_id: str, task_id: str | None = None) -> list[Track]:
    query = select(Document).where(Document.project_id == project_id, Document.kind == DELIVERABLE_KIND)
    if task_id is not None:
        query = query.where(Document.task_id == task_id)
    docs = session.exec(query.order_by(col(Document.task_id), col(Document.version), col(Document.id))).all()
    by_task: dict[str, Track] = {}
    for doc in docs:
        by_task.setdefault(doc.task_id, Track(project_id, doc.task_id, [])).versions.append(doc)
    if not by_task:
        return []
    reviews = session.exec(
        select(Review)
        .where(Review.project_id == project_id, col(Review.task_id).in_(list(by_task)))
        .order_by(col(Review.round), col(Review.id))
    ).all()
    for review in reviews:
        by_task[review.task_id].reviews.append(review)
    # The board's order: the task whose first version came first, first.
    return sorted(by_task.values(), key=lambda t: t.id)


def _status(track: Track, state: ProjectState | None) -> DeliverableStatus:
    if state is not None:
        view = next((t for t in state.tasks if t.id == track.task_id), None)
        if view is not None:
            return view.status.value  # type: ignore[return-value]
    review = track.latest_review()
    return "passed" if review is not None and review.passed else "draft"


def _provider_of(review: Review, docs: dict[int, Document]) -> str | None:
    # The reviewer's provider when the review records it, else the one that wrote the version.
    own = getattr(review, "provider", None)
    if isinstance(own, str) and own:
        return own
    doc = docs.get(review.document_id)
    return doc.provider if doc is not None else None


def deliverable_url(settings: Settings, deliverable_id: int) -> str:
    return f"{settings.public_url.rstrip('/')}/deliverables/{deliverable_id}"


def project_url(settings: Settings, project_id: str, tail: str) -> str:
    return f"{settings.public_url.rstrip('/')}/projects/{quote(project_id, safe='')}/{tail}"


def _base(settings: Settings, track: Track, state: ProjectState | None) -> dict[str, Any]:
    latest = track.latest
    review = track.latest_review()
    docs = {d.id or 0: d for d in track.versions}
    return {
        "id": track.id,
        "project_id": track.project_id,
        "task_id": track.task_id,
        "title": latest.title or track.task_id,
        "role": latest.author_role,
        "version": latest.version,
        "version_count": len(track.versions),
        "qa_score": review.score if review else None,
        "passed": review.passed if review else None,
        "scored_by": scored_by(_provider_of(review, docs)) if review else None,
        "status": _status(track, state),
        "provider": latest.provider,
        "created_at": track.versions[0].created_at,
        "updated_at": latest.created_at,
        "url": deliverable_url(settings, track.id),
        "page_url": deliverable_url(settings, track.id) + "/view",
    }


def _board_order(tracks: list[Track], state: ProjectState | None) -> list[Track]:
    """The project board's task order when the state knows it; first-produced first otherwise."""
    order = {t.id: i for i, t in enumerate(state.tasks)} if state else {}
    return sorted(tracks, key=lambda t: (order.get(t.task_id, len(order)), t.id))


def list_deliverables(session: Session, settings: Settings, project: Project) -> list[DeliverableItem]:
    state = service.snapshot(project)
    tracks = _board_order(_tracks(session, project.id), state)
    return [DeliverableItem(**_base(settings, t, state)) for t in tracks]


def find_track(session: Session, deliverable_id: int) -> tuple[Track, Project | None]:
    """The deliverable a document id names (its first version's id, or any version's)."""
    doc = session.get(Document, deliverable_id)
    if doc is None or doc.kind != DELIVERABLE_KIND:
        raise UnknownDeliverable(f"unknown deliverable {deliverable_id}")
    (track,) = _tracks(session, doc.project_id, doc.task_id)
    return track, session.get(Project, doc.project_id)


def changes(previous: Document | None, current: Document) -> dict[str, Any]:
    """What changed from one version to the next: line counts and file names."""
    if previous is None:
        return {"lines_added": len(current.content.splitlines()), "files_added": sorted(current.files or {})}
    added = removed = 0
    for line in difflib.unified_diff(previous.content.splitlines(), current.content.splitlines(), n=0, lineterm=""):
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    before, after = previous.files or {}, current.files or {}
    return {
        "lines_added": added,
        "lines_removed": removed,
        "files_added": sorted(set(after) - set(before)),
        "files_removed": sorted(set(before) - set(after)),
        "files_changed": sorted(p for p in set(before) & set(after) if before[p] != after[p]),
    }


def diff_text(previous: Document, current: Document) -> str:
    """A small unified diff of the markdown between two versions (cut at MAX_DIFF_LINES)."""
    lines = list(
        difflib.unified_diff(
            previous.content.splitlines(),
            current.content.splitlines(),
            f"version {previous.version}",
            f"version {current.version}",
            n=1,
            lineterm="",
        )
    )
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"… {len(lines) - MAX_DIFF_LINES} more lines"]
    return "\n".join(lines)


def get_deliverable(
    session: Session, settings: Settings, deliverable_id: int, version: int | None = None
) -> DeliverableDetail:
    track, project = find_track(session, deliverable_id)
    shown = track.version(version)
    docs = {d.id or 0: d for d in track.versions}
    by_doc = {r.document_id: r for r in track.reviews}
    versions = [
        VersionOut(
            version=doc.version,
            document_id=doc.id or 0,
            title=doc.title,
            provider=doc.provider,
            author=doc.author_role,
            created_at=doc.created_at,
            qa_score=by_doc[doc.id].score if doc.id in by_doc else None,
            passed=by_doc[doc.id].passed if doc.id in by_doc else None,
            **changes(track.versions[i - 1] if i else None, doc),
        )
        for i, doc in enumerate(track.versions)
    ]
    reviews = [
        ReviewRoundOut(
            round=r.round,
            version=docs[r.document_id].version if r.document_id in docs else None,
            document_id=r.document_id,
            score=r.score,
            passed=r.passed,
            issues=[_issue(i) for i in r.issues or []],
            scored_by=scored_by(_provider_of(r, docs)),
            created_at=r.created_at,
        )
        for r in track.reviews
    ]
    return DeliverableDetail(
        **_base(settings, track, service.snapshot(project) if project else None),
        shown_version=shown.version,
        content=shown.content,
        files=dict(shown.files) if shown.files else None,
        versions=versions,
        reviews=reviews,
    )


def _issue(raw: Any) -> ReviewIssueOut:
    if isinstance(raw, dict):
        return ReviewIssueOut(severity=str(raw.get("severity") or "medium"), text=str(raw.get("text") or raw))
    return ReviewIssueOut(text=str(raw))


# --- the website -------------------------------------------------------------------------------


def current_site(session: Session, project_id: str) -> SiteView | None:
    """The launched site, else the newest deliverable version holding one (payments not live)."""
    launched = session.exec(
        select(Document)
        .where(Document.project_id == project_id, Document.kind == SITE_KIND)
        .order_by(col(Document.id).desc())
        .limit(1)
    ).first()
    if launched is not None and launched.files:
        return SiteView(dict(launched.files), launched.id or 0, launched.version, launched.task_id, True)
    docs = session.exec(
        select(Document)
        .where(Document.project_id == project_id, Document.kind == DELIVERABLE_KIND)
        .order_by(col(Document.id).desc())
    ).all()
    for doc in docs:
        files = sitelib.site_files(doc.files)
        if files is not None:
            return SiteView(sitelib.finalize_site(files, None), doc.id or 0, doc.version, doc.task_id, False)
    return None


# Content types the preview serves; anything else is plain text (never sniffed: nosniff).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".xml": "application/xml",
    ".js": "text/javascript; charset=utf-8",
}
SITE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def site_path(path: str) -> str | None:
    """The site file a preview URL path names (a folder means its index.html); None when the path
    could leave the site (`..`, absolute, backslashes, .git)."""
    if path == "" or path.endswith("/"):
        path += "index.html"
    return sitelib.safe_path(path)


def content_type(path: str) -> str:
    dot = path.rfind(".")
    return CONTENT_TYPES.get(path[dot:].lower() if dot != -1 else "", "text/plain; charset=utf-8")


# --- export ------------------------------------------------------------------------------------


def slugify(text: str, max_len: int = 60) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:max_len].strip("-")


def _unique(key: str, used: set[str], fallback: str) -> str:
    key = key or fallback
    if key in used:
        key = f"{key}-{fallback}"
    used.add(key)
    return key


def export_zip(session: Session, settings: Settings, project: Project) -> bytes:
    """Every deliverable (latest version: markdown and files) and the website as files, with a
    manifest.json naming ids, titles, versions, QA scores and paths. Like the published repository,
    no file carries a template placeholder. Deterministic bytes."""
    state = service.snapshot(project)
    tracks = _board_order(_tracks(session, project.id), state)
    site = current_site(session, project.id)
    entries: dict[str, str] = {}
    manifest_items: list[dict[str, Any]] = []
    used: set[str] = set()
    link = next(iter(sitelib.payment_links(site.files)), None) if site else None
    for track in tracks:
        base = _base(settings, track, state)
        doc = track.latest
        key = _unique(slugify(track.task_id), used, f"d{track.id}")
        path = f"deliverables/{key}.md"
        text = sitelib.scrub_text(doc.content, link)
        entries[path] = text if text.endswith("\n") else text + "\n"
        # The site's own files are in site/ (finalized); not repeated here.
        skip = sitelib.site_source_paths(doc.files) if site and site.task_id == track.task_id else set()
        file_paths: list[str] = []
        for name, content in sorted((doc.files or {}).items()):
            safe = sitelib.safe_path(name)
            if safe is None or name in skip:
                continue
            entries[f"deliverables/{key}/{safe}"] = sitelib.scrub(safe, content, link)
            file_paths.append(f"deliverables/{key}/{safe}")
        manifest_items.append(
            {
                "id": track.id,
                "task_id": track.task_id,
                "title": base["title"],
                "role": base["role"],
                "version": doc.version,
                "document_id": doc.id,
                "qa_score": base["qa_score"],
                "scored_by": base["scored_by"],
                "status": base["status"],
                "path": path,
                "files": file_paths,
            }
        )
    site_manifest: dict[str, Any] | None = None
    if site is not None:
        for name, content in sorted(site.files.items()):
            entries[f"site/{name}"] = content
        site_manifest = {
            "document_id": site.document_id,
            "version": site.version,
            "task_id": site.task_id,
            "launched": site.launched,
            "payment_links": sitelib.payment_links(site.files),
            "paths": [f"site/{name}" for name in sorted(site.files)],
        }
    manifest = {
        "project": {"id": project.id, "name": project.name, "goal": project.goal},
        "deliverables": manifest_items,
        "site": site_manifest,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in [("manifest.json", json.dumps(manifest, indent=2) + "\n"), *sorted(entries.items())]:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content.encode("utf-8"))
    return buffer.getvalue()
