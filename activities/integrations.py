"""Launch integrations: the website, the repository (GitHub with Pages, or a local git repository),
the Stripe offer, the Slack announcement, and their validation.

Credentials come from `Settings` through the constructor, never from activity arguments, so no
secret ever enters a workflow history. An integration without credentials returns `skipped`
with its reason; every result is upserted into `IntegrationRecord` (one row per project and
integration) so the API can show what launch did and why. Without GITHUB_TOKEN the repository is
published to a local git repository in the data directory instead (status `local`, with its path).

Error policy: authentication, permission and bad-request failures raise a non-retryable
`ApplicationError` (and are recorded as `failed`); 5xx, rate limits and network failures raise a
retryable one, so Temporal's bounded retry policy decides. Client-side retries are off: Temporal
is the one place that retries.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import urllib.error
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import site as sitelib
from activities.compliance import Finding
from activities.compliance_review import ComplianceReviewer, public_documents, review_documents
from activities.notify import project_page_url
from activities.publish import GitFailed, GitUnavailable, LocalGitRepository
from boardroom.settings import PLACEHOLDER, Settings
from domain.launch import (
    ComplianceInput,
    ComplianceReport,
    IntegrationResult,
    PublishInput,
    SiteInput,
    SlackNotice,
    ValidateLaunchInput,
)
from domain.work import Usage
from store.db import session_scope
from store.tables import Document, IntegrationRecord

if TYPE_CHECKING:
    import stripe
    from github import Github, GithubException
    from github.Repository import Repository
    from slack_sdk import WebClient

# The Stripe, GitHub (PyGithub, requests) and Slack SDKs are imported by the functions that use
# them, on first use: a worker that never launches a project never loads them (tens of MiB).

# PyGithub's own default pacing of content writes (github.Consts.DEFAULT_SECONDS_BETWEEN_WRITES).
GITHUB_SECONDS_BETWEEN_WRITES = 1.0

IntegrationName = Literal["github", "stripe", "slack", "site"]

SITE_KIND = sitelib.SITE_KIND
# Where the site goes in the published repository: GitHub Pages serves a branch's /docs folder.
SITE_FOLDER = "docs"

# Error types; the first two (and LiveKeyRefused) are never retried, see workflows/options.py.
AUTH_ERROR = "IntegrationAuthFailed"
BAD_REQUEST = "IntegrationRequestRejected"
UNAVAILABLE = "IntegrationUnavailable"
LIVE_KEY_REFUSED = "LiveKeyRefused"

GITHUB_REPO_NAME_MAX = 100
GITHUB_ISSUE_TITLE_MAX = 256
SLACK_RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


# --- pure helpers ----------------------------------------------------------------------------


def slugify(text: str, max_len: int = 60) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_len].strip("-")


def repo_name(project_name: str, project_id: str) -> str:
    """The repository name for a project: readable, unique (the id), within GitHub's limit."""
    suffix = re.sub(r"[^A-Za-z0-9_.-]+", "-", project_id).strip("-.") or "project"
    head = slugify(project_name, GITHUB_REPO_NAME_MAX - len(suffix) - 1) or "boardroom"
    return f"{head}-{suffix}"[:GITHUB_REPO_NAME_MAX]


def git_blob_sha(content: bytes) -> str:
    """The git blob sha GitHub reports for a file: lets us skip writing unchanged files."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


def _safe_path(path: str) -> str:
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".", "..") and p.lower() != ".git"]
    return "/".join(re.sub(r"[^A-Za-z0-9_.-]+", "-", p) for p in parts)


def _doc_key(doc: Document) -> str:
    return slugify(doc.task_id) or f"doc-{doc.id}"


def pick_site_source(docs: list[Document]) -> Document | None:
    """The deliverable that holds the website: the newest one whose files have an index.html."""
    with_site = [d for d in docs if sitelib.site_files(d.files) is not None]
    return max(with_site, key=lambda d: d.id or 0) if with_site else None


def render_repository(
    data: PublishInput, docs: list[Document], site: dict[str, str] | None = None, site_task: str = ""
) -> dict[str, str]:
    """The files committed for a project: a README, the approved deliverables, and the website
    under docs/ (what GitHub Pages serves).

    The site's own files are not repeated under deliverables/, and every file is scrubbed of
    template placeholders (a payment one becomes the site's payment link), so no placeholder
    reaches the repository. Deterministic (no timestamps), so a re-run finds every file unchanged
    and writes nothing.
    """
    files: dict[str, str] = {}
    link = next(iter(sitelib.payment_links(site)), None) if site else None
    lines = [f"# {data.name}", "", data.goal.strip(), ""]
    if data.offer:
        offer = data.offer
        lines += [
            "## Offer",
            "",
            f"**{offer.product_name}** — {offer.price_usd:.2f} {offer.currency.upper()}",
            "",
        ]
        if offer.description:
            lines += [offer.description.strip(), ""]
    if site:
        lines += [
            "## Website",
            "",
            f"The website is in [{SITE_FOLDER}/]({SITE_FOLDER}/index.html): open `{SITE_FOLDER}/index.html` in a "
            f"browser, or serve it with `python -m http.server -d {SITE_FOLDER}`.",
            "",
        ]
        for path, content in sorted(site.items()):
            files[f"{SITE_FOLDER}/{path}"] = content
    if docs:
        lines += ["## Deliverables", ""]
    for doc in docs:
        key = _doc_key(doc)
        title = doc.title or key
        if doc.content.strip():
            path = f"deliverables/{key}.md"
            content = sitelib.scrub_text(doc.content, link)
            files[path] = content if content.endswith("\n") else content + "\n"
            lines.append(f"- [{title}]({path})" + (f" — {doc.author_role}" if doc.author_role else ""))
        else:
            lines.append(f"- {title}")
        skip = sitelib.site_source_paths(doc.files) if site and doc.task_id == site_task else set()
        for name, content in sorted((doc.files or {}).items()):
            safe = _safe_path(name)
            if safe and name not in skip:
                files[f"deliverables/{key}/{safe}"] = sitelib.scrub(safe, content, link)
                lines.append(f"  - [{safe}](deliverables/{key}/{safe})")
    if docs:
        lines.append("")
    if data.follow_ups:
        lines += ["## Follow-ups", "", *(f"- {t}" for t in data.follow_ups), ""]
    lines += ["---", "", f"Published by Boardroom for project `{data.project_id}`.", ""]
    return {"README.md": "\n".join(lines), **files}


def site_markdown(source: Document, files: dict[str, str], payment_link: str | None) -> str:
    """The note stored with a launched site (the Document's `content`)."""
    payments = f"Payments are live: {payment_link}" if payment_link else "Payments are not live yet."
    listing = "\n".join(f"- `{path}`" for path in sorted(files))
    return (
        f"# {source.title or 'Website'}, as launched\n\n"
        f"From version {source.version} of task `{source.task_id}`. {payments}\n\n## Files\n\n{listing}\n"
    )


def idempotency_key(kind: str) -> str:
    """Stable across retries of one activity: same workflow run, same activity id, same object."""
    info = activity.info()
    run = info.workflow_run_id or info.activity_run_id or "standalone"
    return f"boardroom-{run}-{info.activity_id}-{kind}"


# --- error classification --------------------------------------------------------------------


def _fatal(kind: str, message: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


def _transient(message: str) -> ApplicationError:
    return ApplicationError(message, type=UNAVAILABLE)


def _github_error(exc: Exception, doing: str) -> ApplicationError:
    from github import GithubException, RateLimitExceededException

    if isinstance(exc, GithubException):
        status = exc.status
        message = f"GitHub {doing}: {status} {exc.message or ''}".strip()
        if status == 401:
            return _fatal(AUTH_ERROR, message)
        limited = isinstance(exc, RateLimitExceededException) or (status == 403 and _is_rate_limited(exc))
        if limited or status == 429 or status >= 500:
            return _transient(message)
        return _fatal(AUTH_ERROR if status == 403 else BAD_REQUEST, message)
    return _transient(f"GitHub {doing}: {type(exc).__name__}: {exc}")


def _is_rate_limited(exc: GithubException) -> bool:
    headers = exc.headers or {}
    return headers.get("x-ratelimit-remaining") == "0" or "retry-after" in headers


def _stripe_error(exc: stripe.StripeError, doing: str) -> ApplicationError:
    import stripe

    message = f"Stripe {doing}: {type(exc).__name__}: {exc.user_message or exc}"
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        return _fatal(AUTH_ERROR, message)
    if isinstance(exc, stripe.RateLimitError | stripe.APIConnectionError):
        return _transient(message)
    if exc.http_status is not None and (exc.http_status >= 500 or exc.http_status == 429):
        return _transient(message)
    if isinstance(exc, stripe.APIError) and exc.http_status is None:
        return _transient(message)
    return _fatal(BAD_REQUEST, message)


def _slack_error(exc: Exception, doing: str) -> ApplicationError:
    from slack_sdk.errors import SlackApiError

    if isinstance(exc, SlackApiError):
        code = str(exc.response.get("error", "")) if exc.response is not None else ""
        status = exc.response.status_code if exc.response is not None else 0
        message = f"Slack {doing}: {code or status}"
        if status == 429 or status >= 500 or code in SLACK_RETRYABLE_ERRORS:
            return _transient(message)
        auth = code in {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "missing_scope"}
        return _fatal(AUTH_ERROR if auth else BAD_REQUEST, message)
    return _transient(f"Slack {doing}: {type(exc).__name__}: {exc}")


# --- the activities --------------------------------------------------------------------------


class IntegrationActivities:
    """GitHub, Stripe and Slack side effects of launch; clients are built from `Settings`."""

    def __init__(
        self,
        settings: Settings,
        *,
        github_write_interval_s: float | None = GITHUB_SECONDS_BETWEEN_WRITES,
        reviewer: ComplianceReviewer | None = None,
    ) -> None:
        self.settings = settings
        # With a model configured, the compliance reviewer adds its findings to the rule checks.
        self.reviewer = reviewer
        # GitHub asks integrations to pace content writes (secondary rate limits); tests
        # against a local fake pass 0.
        self.github_write_interval_s = github_write_interval_s

    def activities(self) -> list[Callable[..., Any]]:
        """The bound activity methods, for the worker."""
        return [
            self.publish_github,
            self.finalize_site,
            self.create_stripe_offer,
            self.announce_slack,
            self.validate_launch,
            self.notify_slack,
            self.compliance_review,
        ]

    # -- clients ---------------------------------------------------------------------------

    def _github(self) -> Github:
        from github import Auth, Consts, Github

        assert self.settings.github_token
        return Github(
            auth=Auth.Token(self.settings.github_token),
            base_url=(self.settings.github_api_url or Consts.DEFAULT_BASE_URL).rstrip("/"),
            timeout=30,
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=self.github_write_interval_s,
        )

    def _stripe(self) -> tuple[stripe.StripeClient, stripe.HTTPXClient]:
        import stripe

        assert self.settings.stripe_api_key
        http = stripe.HTTPXClient(timeout=30)
        base = self.settings.stripe_api_base
        client = stripe.StripeClient(
            self.settings.stripe_api_key,
            base_addresses={"api": base.rstrip("/")} if base else None,
            max_network_retries=0,
            http_client=http,
        )
        return client, http

    def _slack(self) -> WebClient:
        from slack_sdk import WebClient

        base = self.settings.slack_api_url or "https://slack.com/api/"
        # slack-sdk joins method names onto the base, so it must end with '/'.
        return WebClient(
            token=self.settings.slack_bot_token,
            base_url=base if base.endswith("/") else base + "/",
            timeout=30,
            retry_handlers=[],
        )

    # -- database --------------------------------------------------------------------------

    def _upsert_record(self, project_id: str, result: IntegrationResult) -> None:
        for attempt in range(2):
            with session_scope(self.settings.database_url) as session:
                row = session.exec(
                    select(IntegrationRecord).where(
                        IntegrationRecord.project_id == project_id, IntegrationRecord.name == result.name
                    )
                ).first()
                # Aware timestamps: the SQLModel datetime type refuses naive ones.
                now = datetime.now(UTC)
                if row is None:
                    row = IntegrationRecord(
                        project_id=project_id, name=result.name, status=result.status, updated_at=now
                    )
                row.status = result.status
                row.reason = result.reason
                row.url = result.url
                row.details = dict(result.details)
                row.updated_at = now
                session.add(row)
                try:
                    session.commit()
                    return
                except IntegrityError:
                    # A concurrent attempt inserted the row first: update it instead.
                    session.rollback()
                    if attempt:
                        raise

    async def _record(self, project_id: str, result: IntegrationResult) -> IntegrationResult:
        await asyncio.to_thread(self._upsert_record, project_id, result)
        return result

    def _load_records(self, project_id: str) -> dict[str, IntegrationRecord]:
        with session_scope(self.settings.database_url) as session:
            rows = session.exec(select(IntegrationRecord).where(IntegrationRecord.project_id == project_id))
            return {row.name: row for row in rows}

    def _load_documents(self, ids: list[int]) -> list[Document]:
        if not ids:
            return []
        with session_scope(self.settings.database_url) as session:
            rows = session.exec(select(Document).where(col(Document.id).in_(ids))).all()
        by_id = {row.id: row for row in rows}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise _fatal(BAD_REQUEST, f"deliverables not found: {missing}")
        # Input order, once each.
        return [by_id[i] for i in dict.fromkeys(ids)]

    async def _skipped(self, project_id: str, name: IntegrationName, reason: str) -> IntegrationResult:
        activity.logger.info("%s skipped for project %s: %s", name, project_id, reason)
        return await self._record(project_id, IntegrationResult(name=name, status="skipped", reason=reason))

    async def _failed(self, project_id: str, name: IntegrationName, exc: ApplicationError) -> None:
        """A non-retryable failure is recorded before it ends the activity; transient ones retry."""
        if exc.non_retryable:
            await self._record(project_id, IntegrationResult(name=name, status="failed", reason=str(exc)))

    # -- compliance ------------------------------------------------------------------------

    @activity.defn(name="compliance_review")
    async def compliance_review(self, data: ComplianceInput) -> ComplianceReport:
        """The rule checks over the deliverables launch would make public (activities/
        compliance_review.py); read-only, so retries are harmless. A short report, never the texts."""
        docs = await asyncio.to_thread(self._load_documents, data.deliverable_ids)
        contact = parseaddr(self.settings.email_from)[1]

        def check(extra: list[tuple[str, Finding]]) -> ComplianceReport:
            return review_documents(
                docs,
                task_kinds=data.task_kinds,
                price=data.price,
                forbidden=self.settings.forbidden_claim_list,
                allowed_emails=[contact] if contact else [],
                extra=extra,
            )

        report = check([])
        public = public_documents(docs, data.task_kinds) if self.reviewer is not None else []
        if self.reviewer is not None and public:
            ruled = [
                f"[{f.severity}] {f.code}{' in ' + f.file if f.file else ''}: {f.message}" for f in report.findings
            ]
            import openai  # a reviewer is a model: its SDK is loaded by now (lazily, like the others)

            spent = Usage()
            try:
                extra, spent = await self.reviewer(data.project_id, public, ruled)
            except (ApplicationError, openai.OpenAIError) as exc:
                # The rule checks stand on their own: a reviewer that cannot answer is said, not fatal.
                reason = exc.message if isinstance(exc, ApplicationError) else type(exc).__name__
                activity.logger.warning("compliance reviewer of project %s did not answer: %s", data.project_id, reason)
                message = f"The compliance reviewer could not review this time ({reason})."[:500]
                extra = [("", Finding(code="reviewer_unavailable", severity="warning", message=message))]
            report = check(extra)
            report.usage = spent
        activity.logger.info(
            "compliance review of project %s: %d blocking, %d warning(s)",
            data.project_id,
            report.blocking,
            report.warnings,
        )
        return report

    # -- the website -----------------------------------------------------------------------

    @activity.defn(name="finalize_site")
    async def finalize_site(self, data: SiteInput) -> IntegrationResult:
        """Writes the payment link (or a button saying payments are not live yet) into the website
        found among the launched deliverables, removes any template placeholder, checks that every
        local link resolves, and stores the result as a Document of kind "site" so the preview
        shows the live site. Idempotent: an unchanged site is stored once; a re-run returns it."""
        try:
            docs = await asyncio.to_thread(self._load_documents, data.deliverable_ids)
            source = pick_site_source(docs)
            if source is None:
                return await self._skipped(data.project_id, "site", "no launched deliverable has an index.html")
            raw = sitelib.site_files(source.files) or {}
            try:
                files = sitelib.finalize_site(raw, data.payment_link)
            except ValueError as exc:
                raise _fatal(BAD_REQUEST, f"site: {exc}") from None
            doc = await asyncio.to_thread(self._store_site, data.project_id, source, files, data.payment_link)
        except ApplicationError as exc:
            await self._failed(data.project_id, "site", exc)
            raise
        return await self._record(data.project_id, self._site_result(data.project_id, doc, source.id))

    def _site_result(self, project_id: str, doc: Document, source_id: int | None = None) -> IntegrationResult:
        files = doc.files or {}
        problems = [*sitelib.placeholders(files), *sitelib.broken_local_links(files)]
        link = next(iter(sitelib.payment_links(files)), None)
        preview = f"{self.settings.public_url.rstrip('/')}/projects/{urllib.parse.quote(project_id, safe='')}/site/"
        payments = f"payments are live ({link})" if link else "payments are not live yet"
        return IntegrationResult(
            name="site",
            status="failed" if problems else "done",
            url=preview,
            reason=(f"{len(problems)} problem(s): " + "; ".join(problems[:10])) if problems else f"ready; {payments}",
            details={
                "project_id": project_id,
                "document_id": str(doc.id),
                "version": str(doc.version),
                "source_document_id": str(source_id or ""),
                "payment_link": link or "",
                "files": "\n".join(sorted(files)),
            },
        )

    def _store_site(self, project_id: str, source: Document, files: dict[str, str], link: str | None) -> Document:
        """The launched site as a Document(kind="site"): a new version only when it changed."""
        for attempt in range(2):
            with session_scope(self.settings.database_url) as session:
                latest = session.exec(
                    select(Document)
                    .where(Document.project_id == project_id, Document.kind == SITE_KIND)
                    .order_by(col(Document.id).desc())
                    .limit(1)
                ).first()
                if latest is not None and latest.files == files and latest.task_id == source.task_id:
                    return latest
                last = session.exec(
                    select(Document.version)
                    .where(
                        Document.project_id == project_id,
                        Document.kind == SITE_KIND,
                        Document.task_id == source.task_id,
                    )
                    .order_by(col(Document.version).desc())
                    .limit(1)
                ).first()
                doc = Document(
                    project_id=project_id,
                    kind=SITE_KIND,
                    task_id=source.task_id,
                    version=(last or 0) + 1,
                    title=(source.title or "Website")[:280] + " (launched)",
                    content=site_markdown(source, files, link),
                    files=files,
                    author_role="launch-manager",
                    provider="boardroom",
                    created_at=datetime.now(UTC),
                )
                session.add(doc)
                try:
                    session.commit()
                except IntegrityError:
                    # A concurrent attempt stored this version first: look again.
                    session.rollback()
                    if attempt:
                        raise
                    continue
                session.refresh(doc)
                return doc
        raise RuntimeError("unreachable")

    def _load_site(self, data: PublishInput, docs: list[Document]) -> tuple[dict[str, str] | None, str]:
        """The site to publish and the task it came from: the launched one when launch stored it,
        else the site among the deliverables, finalized without a payment link."""
        if data.site_document_id is not None:
            with session_scope(self.settings.database_url) as session:
                doc = session.get(Document, data.site_document_id)
            if doc is None or doc.project_id != data.project_id or not doc.files:
                raise _fatal(BAD_REQUEST, f"site document {data.site_document_id} not found")
            return dict(doc.files), doc.task_id
        source = pick_site_source(docs)
        if source is None:
            return None, ""
        return sitelib.finalize_site(sitelib.site_files(source.files) or {}, None), source.task_id

    # -- GitHub ----------------------------------------------------------------------------

    @activity.defn(name="publish_github")
    async def publish_github(self, data: PublishInput) -> IntegrationResult:
        """Creates or reuses the project repository, commits the deliverables, the website (under
        docs/, served by GitHub Pages, which it turns on) and a README, and opens one issue per
        follow-up. Without GITHUB_TOKEN the same files go to a local git repository in the data
        directory (status `local`). Idempotent: unchanged files, existing issue titles and an
        enabled Pages site are left alone, so a re-run after a crash creates nothing twice."""
        try:
            docs = await asyncio.to_thread(self._load_documents, data.deliverable_ids)
            site, site_task = await asyncio.to_thread(self._load_site, data, docs)
            files = render_repository(data, docs, site, site_task)
            if not self.settings.github_token:
                try:
                    result = await asyncio.to_thread(self._publish_local, data, files)
                    activity.logger.info(
                        "published %d files of project %s to the local git repository %s",
                        len(files),
                        data.project_id,
                        result.url,
                    )
                except GitUnavailable as exc:
                    return await self._skipped(data.project_id, "github", f"GITHUB_TOKEN is not set and {exc}")
            else:
                result = await asyncio.to_thread(self._publish_github_sync, data, files, site is not None)
        except ApplicationError as exc:
            await self._failed(data.project_id, "github", exc)
            raise
        return await self._record(data.project_id, result)

    def local_repo_path(self, data: PublishInput) -> Path:
        """Where the project's local git repository lives: `<data dir>/repos/<name>-<project id>`."""
        return (self.settings.data_path / "repos" / repo_name(data.name, data.project_id)).resolve()

    def _publish_local(self, data: PublishInput, files: dict[str, str]) -> IntegrationResult:
        repo = LocalGitRepository(self.local_repo_path(data))
        try:
            published = repo.publish(files, f"Boardroom: publish {data.name} ({data.project_id})")
        except GitFailed as exc:
            raise _transient(f"local git publish: {exc}") from exc
        except (ValueError, OSError) as exc:
            raise _fatal(BAD_REQUEST, f"local git publish: {exc}") from exc
        path = str(published.path)
        return IntegrationResult(
            name="github",
            status="local",
            url=published.path.as_uri(),
            reason=f"GITHUB_TOKEN is not set: published to the local git repository {path} (git clone {path})",
            details={
                "project_id": data.project_id,
                "path": path,
                "commit": published.commit,
                "committed": str(published.committed).lower(),
                "files": "\n".join(published.files),
            },
        )

    def _publish_github_sync(
        self, data: PublishInput, files: dict[str, str], has_site: bool = False
    ) -> IntegrationResult:
        import requests
        from github import GithubException

        gh = self._github()
        try:
            repo = self._ensure_repo(gh, data)
            written = 0
            for path, content in files.items():
                written += self._put_file(repo, path, content, f"Boardroom: publish {path}")
            opened = self._open_issues(repo, data)
            hook = self._ensure_hook(repo)
            pages_url, pages = self._ensure_pages(gh, repo) if has_site else (None, "no website to serve")
            return IntegrationResult(
                name="github",
                status="done",
                url=repo.html_url,
                reason=f"website on GitHub Pages: {pages_url}" if pages_url else "",
                details={
                    "project_id": data.project_id,
                    "repo": repo.full_name,
                    "files": "\n".join(files),
                    "files_written": str(written),
                    "issues_opened": str(opened),
                    "webhook": hook,
                    "pages": pages,
                    **({"pages_url": pages_url} if pages_url else {}),
                },
            )
        except (GithubException, requests.RequestException) as exc:
            raise _github_error(exc, "publish") from exc
        finally:
            gh.close()

    @staticmethod
    def _ensure_pages(gh: Github, repo: Repository) -> tuple[str | None, str]:
        """Turns GitHub Pages on for the repository's docs/ folder once (PyGithub has no Pages API:
        its requester speaks to the same base URL with the same token).

        Best effort, like the webhook: a plan or token that cannot have Pages still publishes."""
        from github import GithubException

        url = f"{repo.url}/pages"
        source = {"branch": repo.default_branch or "main", "path": f"/{SITE_FOLDER}"}
        try:
            _headers, current = gh.requester.requestJsonAndCheck("GET", url)
            return str(current.get("html_url") or ""), "enabled"
        except GithubException as exc:
            if exc.status != 404:
                raise
        try:
            _headers, created = gh.requester.requestJsonAndCheck("POST", url, input={"source": source})
        except GithubException as exc:
            if exc.status == 409:
                # Enabled meanwhile (an attempt that crashed after the POST).
                _headers, current = gh.requester.requestJsonAndCheck("GET", url)
                return str(current.get("html_url") or ""), "enabled"
            if exc.status in (403, 404, 422):
                message = exc.message or (exc.data.get("message") if isinstance(exc.data, dict) else "") or ""
                return None, f"not enabled: {exc.status} {message}".strip()
            raise
        return str(created.get("html_url") or ""), "enabled"

    def _ensure_repo(self, gh: Github, data: PublishInput) -> Repository:
        from github import GithubException

        name = repo_name(data.name, data.project_id)
        org = self.settings.github_org
        owner = org or gh.get_user().login
        try:
            return gh.get_repo(f"{owner}/{name}")
        except GithubException as exc:
            if exc.status != 404:
                raise
        description = " ".join(data.goal.split())[:300]
        try:
            if org:
                return gh.get_organization(org).create_repo(
                    name, description=description, private=True, has_issues=True
                )
            return gh.get_user().create_repo(name, description=description, private=True, has_issues=True)
        except GithubException as exc:
            if exc.status == 422:
                # Created by an attempt that crashed before it could report back.
                return gh.get_repo(f"{owner}/{name}")
            raise

    @staticmethod
    def _put_file(repo: Repository, path: str, content: str, message: str) -> int:
        """Create, update or leave alone one file; 1 if a commit was made."""
        from github import GithubException

        try:
            current = repo.get_contents(path)
        except GithubException as exc:
            # 404 "Not Found", or "This repository is empty." before the first commit.
            if exc.status != 404:
                raise
            current = None
        if isinstance(current, list):
            raise _fatal(BAD_REQUEST, f"GitHub publish: {path} is a directory in {repo.full_name}")
        if current is None:
            repo.create_file(path, message, content)
            return 1
        if current.sha == git_blob_sha(content.encode()):
            return 0
        repo.update_file(path, message, content, current.sha)
        return 1

    def _ensure_hook(self, repo: Repository) -> str:
        """Registers our issues webhook on the repository once, when GitHub can reach us.

        Best effort: a token without the hooks permission still publishes; the reason is kept.
        """
        from github import GithubException

        url = self.settings.public_url.rstrip("/") + "/webhooks/github"
        host = (urllib.parse.urlsplit(url).hostname or "").lower()
        if host in ("localhost", "127.0.0.1", "::1", "0.0.0.0") or host.endswith(".localhost"):
            return "not registered: BOARDROOM_PUBLIC_URL is not reachable from GitHub"
        secret = self.settings.github_webhook_secret
        if secret in ("", PLACEHOLDER):
            return "not registered: GITHUB_WEBHOOK_SECRET is not set"
        try:
            if any(hook.config.get("url") == url for hook in repo.get_hooks()):
                return f"registered: {url}"
            repo.create_hook(
                "web",
                {"url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0"},
                events=["issues"],
                active=True,
            )
        except GithubException as exc:
            if exc.status in (403, 404, 422):
                return f"not registered: {exc.status} {exc.message or ''}".strip()
            raise
        return f"registered: {url}"

    @staticmethod
    def _open_issues(repo: Repository, data: PublishInput) -> int:
        wanted = [t.strip()[:GITHUB_ISSUE_TITLE_MAX] for t in data.follow_ups if t.strip()]
        if not wanted:
            return 0
        # Closed ones count too: a follow-up someone already finished is not reopened.
        existing = {issue.title for issue in repo.get_issues(state="all")}
        opened = 0
        for title in dict.fromkeys(wanted):
            if title in existing:
                continue
            repo.create_issue(
                title=title,
                body=f"Follow-up from the launch of {data.name} (Boardroom project `{data.project_id}`).",
            )
            opened += 1
        return opened

    # -- Stripe ----------------------------------------------------------------------------

    @activity.defn(name="create_stripe_offer")
    async def create_stripe_offer(self, data: PublishInput) -> IntegrationResult:
        """Creates the product, its price and a payment link, each with `metadata.project_id`.
        Idempotent: every request carries a key derived from the workflow run and activity id,
        so a retried attempt gets the same objects back instead of new ones."""
        key = self.settings.stripe_api_key
        if not key:
            return await self._skipped(data.project_id, "stripe", "STRIPE_API_KEY is not set")
        if data.offer is None:
            return await self._skipped(data.project_id, "stripe", "the plan has no offer to sell")
        try:
            if key.startswith(("sk_live_", "rk_live_")) and self.settings.environment != "production":
                raise _fatal(
                    LIVE_KEY_REFUSED,
                    f"a live Stripe key is refused in the {self.settings.environment} environment; "
                    "use a test key (sk_test_...)",
                )
            result = await self._create_stripe_offer(data)
        except ApplicationError as exc:
            await self._failed(data.project_id, "stripe", exc)
            raise
        return await self._record(data.project_id, result)

    async def _create_stripe_offer(self, data: PublishInput) -> IntegrationResult:
        import stripe

        assert data.offer is not None
        offer = data.offer
        metadata = {"project_id": data.project_id}
        client, http = self._stripe()
        doing = "product"
        try:
            product = await client.v1.products.create_async(
                params={
                    "name": offer.product_name[:250],
                    "description": (offer.description or data.goal)[:1000],
                    "metadata": metadata,
                },
                options={"idempotency_key": idempotency_key("product")},
            )
            doing = "price"
            price = await client.v1.prices.create_async(
                params={
                    "product": product.id,
                    "unit_amount": round(offer.price_usd * 100),
                    "currency": offer.currency.lower(),
                    "metadata": metadata,
                },
                options={"idempotency_key": idempotency_key("price")},
            )
            doing = "payment link"
            link = await client.v1.payment_links.create_async(
                params={
                    "line_items": [{"price": price.id, "quantity": 1}],
                    "metadata": metadata,
                    # Charges (and so refunds) carry the project id too.
                    "payment_intent_data": {"metadata": metadata},
                },
                options={"idempotency_key": idempotency_key("payment_link")},
            )
        except stripe.StripeError as exc:
            raise _stripe_error(exc, f"create {doing}") from exc
        finally:
            await http.close_async()
        return IntegrationResult(
            name="stripe",
            status="done",
            url=link.url,
            details={
                "project_id": data.project_id,
                "product": product.id,
                "price": price.id,
                "payment_link": link.id,
                "livemode": str(bool(link.livemode)).lower(),
            },
        )

    # -- Slack -----------------------------------------------------------------------------

    @activity.defn(name="announce_slack")
    async def announce_slack(self, data: PublishInput) -> IntegrationResult:
        """Posts the launch announcement (with the repository and payment links when they
        exist) to the configured channel. Idempotent per project: once the announcement is
        recorded, a re-run returns it instead of posting again."""
        if not self.settings.slack_bot_token:
            return await self._skipped(data.project_id, "slack", "SLACK_BOT_TOKEN is not set")
        records = await asyncio.to_thread(self._load_records, data.project_id)
        previous = records.get("slack")
        if previous and previous.status == "done" and (previous.details or {}).get("ts"):
            return IntegrationResult(
                name="slack",
                status="done",
                reason=previous.reason,
                url=previous.url,
                details=dict(previous.details or {}),
            )
        text = self._announcement(data, records)
        try:
            posted = await asyncio.to_thread(self._post_slack, text)
        except ApplicationError as exc:
            await self._failed(data.project_id, "slack", exc)
            raise
        result = IntegrationResult(
            name="slack",
            status="done",
            details={"project_id": data.project_id, **posted},
        )
        return await self._record(data.project_id, result)

    @staticmethod
    def _announcement(data: PublishInput, records: dict[str, IntegrationRecord]) -> str:
        lines = [f":rocket: *{data.name}* is live", data.goal.strip()]
        if data.offer:
            lines.append(f"{data.offer.product_name}: {data.offer.price_usd:.2f} {data.offer.currency.upper()}")
        for name, label in (("stripe", "Buy"), ("github", "Repository")):
            rec = records.get(name)
            if rec and rec.status == "done" and rec.url:
                lines.append(f"{label}: <{rec.url}>")
        pages = (records["github"].details or {}).get("pages_url") if "github" in records else None
        if pages:
            lines.append(f"Website: <{pages}>")
        return "\n".join(line for line in lines if line)

    def _post_slack(self, text: str) -> dict[str, str]:
        from slack_sdk.errors import SlackApiError

        try:
            resp = self._slack().chat_postMessage(channel=self.settings.slack_channel, text=text, mrkdwn=True)
        except (SlackApiError, urllib.error.URLError, OSError) as exc:
            raise _slack_error(exc, "chat.postMessage") from exc
        return {"channel": str(resp.get("channel", "")), "ts": str(resp.get("ts", ""))}

    @activity.defn(name="notify_slack")
    async def notify_slack(self, data: SlackNotice) -> IntegrationResult:
        """Posts one phase notification with a link (the project's page unless `url` is given).
        Without SLACK_BOT_TOKEN it returns `skipped` with the reason (the workflow history keeps
        the result). Not idempotent (a retry after a lost response may post twice); it is not
        stored in IntegrationRecord, so it never overwrites the launch announcement's record."""
        if not self.settings.slack_bot_token:
            activity.logger.info("slack notification skipped for %s: SLACK_BOT_TOKEN is not set", data.project_id)
            return IntegrationResult(name="slack", status="skipped", reason="SLACK_BOT_TOKEN is not set")
        text = (f"*{data.phase}* · " if data.phase else "") + data.text
        text += f"\n<{data.url or project_page_url(self.settings.public_url, data.project_id)}>"
        posted = await asyncio.to_thread(self._post_slack, text)
        return IntegrationResult(name="slack", status="done", details={"project_id": data.project_id, **posted})

    # -- validation ------------------------------------------------------------------------

    @activity.defn(name="validate_launch")
    async def validate_launch(self, data: ValidateLaunchInput) -> list[IntegrationResult]:
        """Checks that what launch reported is live: the repository with its files (on GitHub, with
        Pages when it was turned on, or the local git repository), an active payment link, the
        stored site without placeholders or dead local links. Failures are returned (and
        recorded) as `failed` with the reason. Read-only towards the providers, so safe to retry."""
        out: list[IntegrationResult] = []
        for result in data.results:
            checked = result
            if result.status == "done" and result.name == "github":
                checked = await asyncio.to_thread(self._validate_github, result)
            elif result.status == "local" and result.name == "github":
                checked = await asyncio.to_thread(self._validate_local, result)
            elif result.status == "done" and result.name == "site":
                checked = await asyncio.to_thread(self._validate_site, data.project_id, result)
            elif result.status == "done" and result.name == "stripe":
                checked = await self._validate_stripe(result)
            elif result.status == "done" and result.name == "slack" and not result.details.get("ts"):
                checked = result.model_copy(update={"status": "failed", "reason": "no message was posted"})
            if checked != result:
                await self._record(data.project_id, checked)
            out.append(checked)
        return out

    @staticmethod
    def _invalid(result: IntegrationResult, reason: str) -> IntegrationResult:
        return result.model_copy(update={"status": "failed", "reason": reason})

    def _validate_local(self, result: IntegrationResult) -> IntegrationResult:
        path = result.details.get("path", "")
        if not path or not (Path(path) / ".git").is_dir():
            return self._invalid(result, f"local repository {path or '(none recorded)'} not found")
        try:
            present = set(LocalGitRepository(Path(path)).head_files())
        except (GitFailed, GitUnavailable) as exc:
            return self._invalid(result, f"local repository {path}: {exc}")
        missing = [p for p in result.details.get("files", "").split("\n") if p and p not in present]
        if missing:
            return self._invalid(result, f"missing files in {path}: {', '.join(missing)}")
        return result

    def _validate_site(self, project_id: str, result: IntegrationResult) -> IntegrationResult:
        doc_id = result.details.get("document_id", "")
        with session_scope(self.settings.database_url) as session:
            doc = session.get(Document, int(doc_id)) if doc_id.isdigit() else None
        if doc is None or doc.project_id != project_id or not doc.files:
            return self._invalid(result, f"site document {doc_id or '(none recorded)'} not found")
        checked = self._site_result(project_id, doc, int(result.details.get("source_document_id") or 0) or None)
        return result if checked.status == "done" else self._invalid(result, checked.reason)

    def _validate_github(self, result: IntegrationResult) -> IntegrationResult:
        import requests
        from github import GithubException

        full_name = result.details.get("repo", "")
        if not full_name:
            return self._invalid(result, "no repository was recorded")
        if not self.settings.github_token:
            return self._invalid(result, "cannot validate: GITHUB_TOKEN is not set")
        gh = self._github()
        try:
            try:
                repo = gh.get_repo(full_name)
            except GithubException as exc:
                if exc.status != 404:
                    raise
                return self._invalid(result, f"repository {full_name} not found")
            missing: list[str] = []
            for path in filter(None, result.details.get("files", "").split("\n")):
                try:
                    repo.get_contents(path)
                except GithubException as exc:
                    if exc.status != 404:
                        raise
                    missing.append(path)
            if missing:
                return self._invalid(result, f"missing files in {full_name}: {', '.join(missing)}")
            if result.details.get("pages_url"):
                try:
                    gh.requester.requestJsonAndCheck("GET", f"{repo.url}/pages")
                except GithubException as exc:
                    if exc.status != 404:
                        raise
                    return self._invalid(result, f"GitHub Pages is not enabled for {full_name}")
            return result
        except (GithubException, requests.RequestException) as exc:
            err = _github_error(exc, "validate")
            if err.non_retryable:
                return self._invalid(result, str(err))
            raise err from exc
        finally:
            gh.close()

    async def _validate_stripe(self, result: IntegrationResult) -> IntegrationResult:
        import stripe

        link_id = result.details.get("payment_link", "")
        if not link_id:
            return self._invalid(result, "no payment link was recorded")
        if not self.settings.stripe_api_key:
            return self._invalid(result, "cannot validate: STRIPE_API_KEY is not set")
        client, http = self._stripe()
        try:
            link = await client.v1.payment_links.retrieve_async(link_id)
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                return self._invalid(result, f"payment link {link_id} not found")
            return self._invalid(result, str(_stripe_error(exc, "validate")))
        except stripe.StripeError as exc:
            err = _stripe_error(exc, "validate")
            if err.non_retryable:
                return self._invalid(result, str(err))
            raise err from exc
        finally:
            await http.close_async()
        if not link.active:
            return self._invalid(result, f"payment link {link_id} is not active")
        return result
