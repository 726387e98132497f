"""Launch's website and repository: the payment link written into the site, the site and the
deliverables published to a local git repository (cloned here with `git clone`) when no GitHub
token is set, and to GitHub with Pages (on the fake that speaks the Pages API) when one is."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import col, select

from activities.integrations import IntegrationActivities, repo_name
from activities.site import broken_local_links, payment_links, placeholders
from boardroom.settings import Settings
from domain.launch import IntegrationResult, PublishInput, SiteInput, ValidateLaunchInput
from store.db import session_scope
from store.tables import Document
from tests.fakes.github_server import FakeGitHub
from tests.fakes.stripe_server import FakeStripe
from tests.integrations.test_integrations import PROJECT, activity_env, publish_input, records
from tests.site_files import LEGACY_DRAFT, NOT_LIVE_BUY, SITE

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


def acts(settings: Settings) -> IntegrationActivities:
    return IntegrationActivities(settings, github_write_interval_s=0)


def add_work(db_url: str, site: dict[str, str] | None = None) -> list[int]:
    """A copy deliverable and a website deliverable, as execution leaves them."""
    with session_scope(db_url) as session:
        docs = [
            Document(
                project_id=PROJECT,
                task_id="t1-copy",
                title="Landing copy",
                content="# Copy\n\n35 EUR per mug.\n",
                author_role="copywriter",
                created_at=datetime.now(UTC),
            ),
            Document(
                project_id=PROJECT,
                task_id="t2-site",
                title="Website",
                content="# Website\n",
                files=site if site is not None else SITE,
                author_role="web-developer",
                created_at=datetime.now(UTC),
            ),
        ]
        session.add_all(docs)
        session.commit()
        return [d.id for d in docs if d.id is not None]


def site_docs(db_url: str) -> list[Document]:
    with session_scope(db_url) as session:
        return list(
            session.exec(
                select(Document)
                .where(Document.project_id == PROJECT, Document.kind == "site")
                .order_by(col(Document.id))
            ).all()
        )


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60)
    return done.stdout


def clone(source: str, into: Path) -> dict[str, str]:
    git("clone", "--quiet", source, str(into))
    return {
        str(p.relative_to(into)): p.read_text()
        for p in sorted(into.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(into).parts
    }


async def finalize(settings: Settings, ids: list[int], link: str | None, run: str = "run-0001") -> IntegrationResult:
    return await activity_env(run_id=run).run(
        acts(settings).finalize_site, SiteInput(project_id=PROJECT, deliverable_ids=ids, payment_link=link)
    )


async def test_the_payment_link_goes_into_the_site_once(
    wired_settings: Settings, fake_stripe: FakeStripe, db_url: str
) -> None:
    ids = add_work(db_url)
    stripe_ = await activity_env().run(acts(wired_settings).create_stripe_offer, publish_input(ids))
    assert stripe_.url and stripe_.url.startswith(fake_stripe.base_url + "/pay/")

    site = await finalize(wired_settings, ids, stripe_.url)
    assert site.status == "done", site.reason
    assert site.url == f"http://localhost:8000/projects/{PROJECT}/site/"
    assert site.reason == f"ready; payments are live ({stripe_.url})"
    (doc,) = site_docs(db_url)
    assert site.details["document_id"] == str(doc.id) and site.details["payment_link"] == stripe_.url
    files = doc.files or {}
    assert set(files) == set(SITE)
    assert f'<a id="buy" class="buy" href="{stripe_.url}">Buy now</a>' in files["index.html"]
    assert NOT_LIVE_BUY not in files["index.html"]
    assert payment_links(files) == [stripe_.url]
    assert placeholders(files) == [] and broken_local_links(files) == []
    assert records(db_url)["site"].status == "done"

    # A re-run stores nothing new; without Stripe the next launch's site says payments are not live.
    again = await finalize(wired_settings, ids, stripe_.url, run="run-0002")
    assert again == site and len(site_docs(db_url)) == 1
    not_live = await finalize(wired_settings, ids, None, run="run-0003")
    assert not_live.reason == "ready; payments are not live yet"
    latest = site_docs(db_url)[-1]
    assert (latest.version, latest.files) == (2, SITE)

    checked = await activity_env().run(
        acts(wired_settings).validate_launch, ValidateLaunchInput(project_id=PROJECT, results=[not_live])
    )
    assert checked == [not_live]


async def test_a_legacy_draft_site_is_finalized_and_its_dead_links_reported(settings: Settings, db_url: str) -> None:
    ids = add_work(db_url, site=LEGACY_DRAFT)
    site = await finalize(settings, ids, None)
    assert site.status == "failed"
    assert site.reason == "2 problem(s): index.html → terms.html; index.html → privacy.html"
    (doc,) = site_docs(db_url)
    assert placeholders(doc.files or {}) == [] and NOT_LIVE_BUY in (doc.files or {})["index.html"]

    no_site = await finalize(settings, ids[:1], None, run="run-2")
    assert (no_site.status, no_site.reason) == ("skipped", "no launched deliverable has an index.html")


async def test_without_a_token_launch_publishes_to_a_local_git_repository(
    settings: Settings, db_url: str, tmp_path: Path
) -> None:
    ids = add_work(db_url)
    link = "https://buy.stripe.com/test_abc"
    site = await finalize(settings, ids, link)
    data = publish_input(ids, site_document_id=int(site.details["document_id"]))
    result = await activity_env().run(acts(settings).publish_github, data)

    path = tmp_path / "repos" / repo_name("Sourdough Club!", PROJECT)  # the data dir: beside the SQLite file
    assert result.status == "local"
    assert result.details["path"] == str(path.resolve())
    assert result.url == path.resolve().as_uri()
    assert result.reason == (
        f"GITHUB_TOKEN is not set: published to the local git repository {path.resolve()} (git clone {path.resolve()})"
    )
    assert records(db_url)["github"].status == "local"

    # A person clones it and finds the deliverables and the live site, nothing left to fill in.
    cloned = clone(result.details["path"], tmp_path / "clone")
    assert set(cloned) == {
        "README.md",
        "deliverables/t1-copy.md",
        "deliverables/t2-site.md",
        "docs/index.html",
        "docs/terms.html",
        "docs/privacy.html",
        "docs/style.css",
    }
    assert cloned["deliverables/t1-copy.md"] == "# Copy\n\n35 EUR per mug.\n"
    assert f'href="{link}">Buy now</a>' in cloned["docs/index.html"]
    assert "[docs/](docs/index.html)" in cloned["README.md"]
    site_files = {k.removeprefix("docs/"): v for k, v in cloned.items() if k.startswith("docs/")}
    assert broken_local_links(site_files) == [] and placeholders(site_files) == []
    assert not any("{{" in text for text in cloned.values())
    log = git("log", "--format=%an <%ae>|%s", cwd=tmp_path / "clone").splitlines()
    assert log == [f"Boardroom <boardroom@localhost>|Boardroom: publish Sourdough Club! ({PROJECT})"]
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=tmp_path / "clone").strip() == "main"

    # Re-running the launch publishes the same content: no new commit.
    rerun = await activity_env(run_id="run-2").run(acts(settings).publish_github, data)
    assert (rerun.details["commit"], rerun.details["committed"]) == (result.details["commit"], "false")
    assert len(git("log", "--format=%H", cwd=path).splitlines()) == 1
    assert result.details["committed"] == "true"

    # A changed deliverable (and a file gone) is one new commit.
    with session_scope(db_url) as session:
        doc = session.get(Document, ids[0])
        assert doc is not None
        doc.content = "# Copy\n\n36 EUR per mug.\n"
        session.add(doc)
        session.commit()
    changed = await activity_env(run_id="run-3").run(acts(settings).publish_github, publish_input(ids[:1]))
    assert changed.details["committed"] == "true" and changed.details["commit"] != result.details["commit"]
    assert git("show", "HEAD:deliverables/t1-copy.md", cwd=path) == "# Copy\n\n36 EUR per mug.\n"
    assert "docs/index.html" not in git("ls-tree", "-r", "--name-only", "HEAD", cwd=path)

    # Validation reads the repository back; a deleted repository fails it.
    ok = await activity_env().run(
        acts(settings).validate_launch, ValidateLaunchInput(project_id=PROJECT, results=[changed])
    )
    assert ok == [changed]
    gone = changed.model_copy(update={"details": {**changed.details, "path": str(tmp_path / "nowhere")}})
    (failed,) = await activity_env().run(
        acts(settings).validate_launch, ValidateLaunchInput(project_id=PROJECT, results=[gone])
    )
    assert (failed.status, failed.reason) == ("failed", f"local repository {tmp_path / 'nowhere'} not found")


async def test_local_publish_finalizes_a_draft_site_itself(settings: Settings, db_url: str, tmp_path: Path) -> None:
    """A launch recorded before the site step (no site document) still ships no placeholder."""
    ids = add_work(db_url, site=LEGACY_DRAFT)
    result = await activity_env().run(acts(settings).publish_github, publish_input(ids))
    cloned = clone(result.details["path"], tmp_path / "clone")
    assert "docs/index.html" in cloned and "deliverables/t2-site/README.md" in cloned
    assert "deliverables/t2-site/site/index.html" not in cloned
    assert NOT_LIVE_BUY in cloned["docs/index.html"]
    assert not any("{{" in text for text in cloned.values())


async def test_local_publish_refuses_nothing_silently_when_the_data_dir_is_set(
    settings: Settings, db_url: str, tmp_path: Path
) -> None:
    custom = settings.model_copy(update={"data_dir": tmp_path / "elsewhere"})
    ids = add_work(db_url)
    result = await activity_env().run(acts(custom).publish_github, publish_input(ids))
    assert result.details["path"].startswith(str((tmp_path / "elsewhere" / "repos").resolve()))
    assert (Path(result.details["path"]) / ".git").is_dir()


async def test_github_publishes_the_site_and_turns_pages_on_once(
    wired_settings: Settings, fake_github: FakeGitHub, db_url: str
) -> None:
    ids = add_work(db_url)
    site = await finalize(wired_settings, ids, "https://buy.stripe.com/test_abc")
    data: PublishInput = publish_input(ids, site_document_id=int(site.details["document_id"]))
    result = await activity_env().run(acts(wired_settings).publish_github, data)

    full = f"ceo-bot/{repo_name('Sourdough Club!', PROJECT)}"
    assert result.status == "done"
    assert {p for p in fake_github.files[full] if p.startswith("docs/")} == {f"docs/{name}" for name in SITE}
    assert b'href="https://buy.stripe.com/test_abc">Buy now</a>' in fake_github.files[full]["docs/index.html"]
    (post,) = fake_github.calls("POST", rf"/repos/{full}/pages")
    assert post.json() == {"source": {"branch": "main", "path": "/docs"}}
    assert post.header("Authorization") == "token ghp_boardroom"
    pages_url = f"{fake_github.html_base}/pages/{full}/"
    assert fake_github.pages[full]["status"] == "built"
    assert result.details["pages_url"] == pages_url and result.details["pages"] == "enabled"
    assert result.reason == f"website on GitHub Pages: {pages_url}"
    assert not any(b"{{" in content for content in fake_github.files[full].values())

    # Re-running finds Pages on and changes nothing.
    rerun = await activity_env(run_id="run-2").run(acts(wired_settings).publish_github, data)
    assert len(fake_github.calls("POST", rf"/repos/{full}/pages")) == 1
    assert rerun.details["files_written"] == "0" and rerun.details["pages_url"] == pages_url

    check = ValidateLaunchInput(project_id=PROJECT, results=[result])
    assert await activity_env().run(acts(wired_settings).validate_launch, check) == [result]
    del fake_github.pages[full]
    (failed,) = await activity_env().run(acts(wired_settings).validate_launch, check)
    assert (failed.status, failed.reason) == ("failed", f"GitHub Pages is not enabled for {full}")


async def test_pages_refused_by_github_still_publishes(
    wired_settings: Settings, fake_github: FakeGitHub, db_url: str
) -> None:
    ids = add_work(db_url)
    fake_github.fail_next(
        422,
        {"message": "Your current plan does not support GitHub Pages for this repository."},
        method="POST",
        path=r"/repos/.*/pages",
    )
    result = await activity_env().run(acts(wired_settings).publish_github, publish_input(ids))
    assert result.status == "done"
    assert result.details["pages"] == (
        "not enabled: 422 Your current plan does not support GitHub Pages for this repository."
    )
    assert "pages_url" not in result.details and result.reason == ""
    # Without a site there is nothing for Pages to serve: it is not asked for.
    plain = await activity_env(run_id="run-2").run(
        acts(wired_settings).publish_github, publish_input(ids[:1], name="Other shop")
    )
    assert plain.details["pages"] == "no website to serve"
    assert fake_github.calls("GET", r"/repos/ceo-bot/other-shop-.*/pages") == []
