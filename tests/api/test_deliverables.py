"""The work product through the API: deliverables (JSON and pages), the website preview with its
CSP, and the export zip — with 404s, 422s and the API key check."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta

import httpx

from activities.site import broken_local_links, placeholders
from domain.enums import Phase, Status, TaskStatus
from domain.project import ProjectState, TaskView
from store.db import session_scope
from store.tables import Document
from tests.api.conftest import AppClient, Seed, now
from tests.site_files import LEGACY_DRAFT, NOT_LIVE_BUY, SITE

PID = "p-work00000001"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def seed_work(seed: Seed, site: dict[str, str] | None = None) -> dict[str, int]:
    """A project with a two-version copy deliverable (failed, then passed QA) and a web one."""
    t0 = now() - timedelta(minutes=10)
    v1 = seed.document(
        PID,
        task_id="t1-copy",
        title="Landing copy",
        version=1,
        content="# Mugs\n\nHandmade mugs.\n\nPrice: TBD\n",
        author_role="copywriter",
        created_at=t0,
    )
    v2 = seed.document(
        PID,
        task_id="t1-copy",
        title="Landing copy",
        version=2,
        content="# Mugs\n\nHandmade mugs.\n\nPrice: 35 EUR per mug\n\n<script>alert(1)</script>\n",
        author_role="copywriter",
        created_at=t0 + timedelta(minutes=1),
    )
    web = seed.document(
        PID,
        task_id="t2-site",
        title="Website",
        version=1,
        content="# Website\n\nFour files.\n",
        files=site if site is not None else SITE,
        author_role="web-developer",
        created_at=t0 + timedelta(minutes=2),
    )
    # The board links each task to its latest version, as the project workflow does.
    state = ProjectState(
        project_id=PID,
        name="Kiln & Co",
        goal="Sell handmade mugs",
        phase=Phase.execution,
        status=Status.running,
        tasks=[
            TaskView(
                id="t1-copy", title="Landing copy", role="copywriter", status=TaskStatus.passed, deliverable_id=v2.id
            ),
            TaskView(
                id="t2-site",
                title="Website",
                role="web-developer",
                status=TaskStatus.waiting_approval,
                deliverable_id=web.id,
            ),
        ],
    )
    seed.project(PID, name="Kiln & Co", goal="Sell handmade mugs", state=state.model_dump(mode="json"))
    seed.review(
        v1.id or 0,
        PID,
        task_id="t1-copy",
        round=1,
        score=5.5,
        passed=False,
        issues=[{"severity": "high", "text": "No price <b>given</b>"}],
    )
    seed.review(v2.id or 0, PID, task_id="t1-copy", round=2, score=8.0, passed=True, issues=[])
    return {"v1": v1.id or 0, "v2": v2.id or 0, "web": web.id or 0}


async def test_list_and_detail_with_versions_and_qa_rounds(offline_api: AppClient, seed: Seed) -> None:
    ids = seed_work(seed)
    async with offline_api() as http:
        listing = await http.get(f"/projects/{PID}/deliverables")
        detail = await http.get(f"/deliverables/{ids['v1']}")
        by_later_id = await http.get(f"/deliverables/{ids['v2']}")
        older = await http.get(f"/deliverables/{ids['v1']}", params={"version": 1})
    assert listing.status_code == 200, listing.text
    body = listing.json()
    items = body["items"]
    assert [(i["id"], i["task_id"], i["version"], i["qa_score"], i["status"]) for i in items] == [
        (ids["v1"], "t1-copy", 2, 8.0, "passed"),
        (ids["web"], "t2-site", 1, None, "waiting_approval"),
    ]
    first = items[0]
    assert (first["title"], first["role"], first["version_count"], first["scored_by"]) == (
        "Landing copy",
        "copywriter",
        2,
        "offline rubric",
    )
    assert first["url"] == f"http://testserver/deliverables/{ids['v1']}"
    assert set(first) >= {"id", "task_id", "title", "role", "version", "qa_score", "status", "created_at"}
    assert body["site_url"] == f"http://testserver/projects/{PID}/site/"
    assert body["export_url"] == f"http://testserver/projects/{PID}/export.zip"

    assert detail.status_code == 200, detail.text
    d = detail.json()
    assert d["shown_version"] == 2 and "35 EUR per mug" in d["content"] and d["files"] is None
    assert [(v["version"], v["qa_score"], v["passed"]) for v in d["versions"]] == [(1, 5.5, False), (2, 8.0, True)]
    assert (d["versions"][1]["lines_added"], d["versions"][1]["lines_removed"]) == (3, 1)
    assert d["reviews"] == [
        {
            "round": 1,
            "version": 1,
            "document_id": ids["v1"],
            "score": 5.5,
            "passed": False,
            "issues": [{"severity": "high", "text": "No price <b>given</b>"}],
            "scored_by": "offline rubric",
            "created_at": d["reviews"][0]["created_at"],
        },
        {
            "round": 2,
            "version": 2,
            "document_id": ids["v2"],
            "score": 8.0,
            "passed": True,
            "issues": [],
            "scored_by": "offline rubric",
            "created_at": d["reviews"][1]["created_at"],
        },
    ]
    # Any version's document id finds the same deliverable (its id is the first version's).
    assert by_later_id.json()["id"] == ids["v1"] and by_later_id.json()["content"] == d["content"]
    assert older.status_code == 200 and older.json()["shown_version"] == 1
    assert "Price: TBD" in older.json()["content"] and older.json()["version"] == 2


async def test_web_deliverable_has_its_files_and_other_providers_are_labelled(
    offline_api: AppClient, seed: Seed
) -> None:
    ids = seed_work(seed)
    with session_scope(seed.db_url) as s:
        doc = s.get(Document, ids["web"])
        assert doc is not None
        doc.provider = "openai"
        s.add(doc)
        s.commit()
    seed.review(ids["web"], PID, task_id="t2-site", round=1, score=9.0, passed=True, issues=["plain text issue"])
    async with offline_api() as http:
        d = (await http.get(f"/deliverables/{ids['web']}")).json()
    assert d["files"] == SITE
    assert d["reviews"][0]["scored_by"] == "openai model"
    assert d["reviews"][0]["issues"] == [{"severity": "medium", "text": "plain text issue"}]
    assert d["versions"][0]["files_added"] == sorted(SITE)


async def test_unknown_ids_404_and_bad_input_422(offline_api: AppClient, seed: Seed) -> None:
    ids = seed_work(seed)
    async with offline_api() as http:
        cases = {
            "/projects/p-nope/deliverables": 404,
            "/projects/p-nope/export.zip": 404,
            "/deliverables/999999": 404,
            f"/deliverables/{ids['v1']}?version=3": 404,
            "/deliverables/abc": 422,
            "/deliverables/0": 422,
            "/deliverables/99999999999999999999999": 422,
            f"/deliverables/{ids['v1']}?version=true": 422,
            f"/deliverables/{ids['v1']}?version=1.5": 422,
            f"/deliverables/{ids['v1']}?version=0": 422,
            f"/deliverables/{ids['v1']}?version=": 422,
        }
        for path, code in cases.items():
            resp = await http.get(path)
            assert resp.status_code == code, (path, resp.status_code, resp.text)
            assert "detail" in resp.json(), path
        missing = await http.get(f"/deliverables/{ids['v1']}?version=3")
    assert missing.json()["detail"] == f"deliverable {ids['v1']} has no version 3 (versions: 1, 2)"
    # A research note is a document, not a deliverable.
    note = seed.document(PID, kind="research", task_id="", content="notes")
    async with offline_api() as http:
        assert (await http.get(f"/deliverables/{note.id}")).status_code == 404


async def test_same_auth_as_the_rest_of_the_api(offline_api: AppClient, seed: Seed) -> None:
    ids = seed_work(seed)
    paths = [
        f"/projects/{PID}/deliverables",
        f"/deliverables/{ids['v1']}",
        f"/deliverables/{ids['v1']}/view",
        f"/projects/{PID}/export.zip",
        f"/projects/{PID}/site/",
        f"/projects/{PID}/site/style.css",
    ]
    async with offline_api(client_host="192.0.2.9") as http:
        for path in paths:
            assert (await http.get(path)).status_code == 403, path
    async with offline_api(api_keys="k-123") as http:
        for path in paths:
            assert (await http.get(path)).status_code == 401, path
            assert (await http.get(path, headers={"Authorization": "Bearer wrong"})).status_code == 401, path
            ok = await http.get(path, headers={"Authorization": "Bearer k-123"})
            assert ok.status_code == 200, (path, ok.status_code)


async def test_deliverable_page_and_project_page_links(offline_api: AppClient, seed: Seed) -> None:
    ids = seed_work(seed)
    async with offline_api() as http:
        page = await http.get(f"/deliverables/{ids['v1']}/view")
        old = await http.get(f"/deliverables/{ids['v2']}/view", params={"version": 1})
        web = await http.get(f"/deliverables/{ids['web']}/view")
        missing = await http.get("/deliverables/424242/view")
        huge = await http.get("/deliverables/99999999999999999999/view")
        project = await http.get(f"/projects/{PID}/view")
    assert page.status_code == 200, page.text
    html = page.text
    assert "<h1>Mugs</h1>" in html and "Price: 35 EUR per mug" in html  # rendered markdown
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "+3 −1 lines" in html  # what changed from version 1 to 2
    assert "-Price: TBD" in html and "+Price: 35 EUR per mug" in html  # the diff
    assert "Round 1 · version 1: 5.5/10" in html and "Round 2 · version 2: 8.0/10" in html
    assert "No price &lt;b&gt;given&lt;/b&gt;" in html and "offline rubric" in html
    assert 'href="?version=1"' in html
    assert "style=" not in html and "<style" not in html and "<script" not in html  # nothing the CSP refuses
    assert old.status_code == 200 and "Price: TBD" in old.text and "latest is version 2" in old.text
    assert web.status_code == 200 and f'href="/projects/{PID}/site/"' in web.text and "terms.html" in web.text
    assert missing.status_code == 404 and "unknown deliverable 424242" in missing.text
    assert huge.status_code == 404
    assert project.status_code == 200
    # Tasks link to their deliverables; the site preview and the export are linked.
    assert f'<a href="/deliverables/{ids["v2"]}/view">Landing copy</a>' in project.text
    assert f'href="/projects/{PID}/site/"' in project.text and f'href="/projects/{PID}/export.zip"' in project.text


async def test_site_preview_serves_the_site_with_a_strict_csp(offline_api: AppClient, seed: Seed) -> None:
    seed_work(seed)
    async with offline_api() as http:
        index = await http.get(f"/projects/{PID}/site/")
        redirect = await http.get(f"/projects/{PID}/site")
        files = {name: await http.get(f"/projects/{PID}/site/{name}") for name in SITE}
        unknown = await http.get(f"/projects/{PID}/site/nope.html")
        traversal = [
            await http.get(f"/projects/{PID}/site/%2e%2e/%2e%2e/etc/passwd"),
            await http.get(f"/projects/{PID}/site/.git/config"),
            await http.get(f"/projects/{PID}/site/a%5cb"),
        ]
        no_project = await http.get("/projects/p-nope/site/")
    assert index.status_code == 200
    assert index.text == SITE["index.html"]
    assert NOT_LIVE_BUY in index.text
    assert redirect.status_code == 308 and redirect.headers["location"] == f"/projects/{PID}/site/"
    for name, resp in [("index.html", index), *files.items()]:
        assert resp.status_code == 200, name
        assert resp.text == SITE[name]
        assert resp.headers["content-security-policy"] == CSP
        assert resp.headers["x-content-type-options"] == "nosniff"
    assert files["index.html"].headers["content-type"] == "text/html; charset=utf-8"
    assert files["style.css"].headers["content-type"] == "text/css; charset=utf-8"
    # Every local link of the served site resolves to a file the preview serves.
    served = {name: resp.text for name, resp in files.items()}
    assert broken_local_links(served) == [] and placeholders(served) == []
    for name, text in served.items():
        for href in re.findall(r'href="([^"#:]+)"', text):
            assert href in SITE, (name, href)
    assert unknown.status_code == 404 and "no file nope.html" in unknown.text
    for resp in traversal:
        assert resp.status_code == 400, resp.request.url
    assert no_project.status_code == 404


async def test_site_preview_of_a_legacy_draft_never_shows_a_placeholder(offline_api: AppClient, seed: Seed) -> None:
    seed_work(seed, site=LEGACY_DRAFT)
    async with offline_api() as http:
        index = await http.get(f"/projects/{PID}/site/")
        readme = await http.get(f"/projects/{PID}/site/README.md")
    assert index.status_code == 200
    assert "{{" not in index.text and NOT_LIVE_BUY in index.text
    assert readme.status_code == 404  # outside the site/ folder the draft kept its site in


async def test_no_site_is_a_clear_404(offline_api: AppClient, seed: Seed) -> None:
    seed.project(PID)
    seed.document(PID, task_id="t1", content="# Just text")
    async with offline_api() as http:
        resp = await http.get(f"/projects/{PID}/site/")
        listing = (await http.get(f"/projects/{PID}/deliverables")).json()
    assert resp.status_code == 404 and "No deliverable of this project holds a website" in resp.text
    assert listing["site_url"] is None


async def test_site_preview_shows_the_launched_site(offline_api: AppClient, seed: Seed) -> None:
    seed_work(seed)
    live = {
        **SITE,
        "index.html": SITE["index.html"].replace(
            NOT_LIVE_BUY, '<a id="buy" class="buy" href="https://buy.stripe.com/x">Buy now</a>'
        ),
    }
    seed.document(PID, kind="site", task_id="t2-site", version=1, content="launched", files=live)
    async with offline_api() as http:
        index = await http.get(f"/projects/{PID}/site/")
    assert 'href="https://buy.stripe.com/x">Buy now</a>' in index.text


def read_zip(resp: httpx.Response) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(resp.content)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


async def test_export_zip_holds_every_deliverable_the_site_and_a_manifest(offline_api: AppClient, seed: Seed) -> None:
    ids = seed_work(seed, site={**LEGACY_DRAFT, "site/terms.html": "<p>Terms</p>", "site/privacy.html": "<p>P</p>"})
    async with offline_api() as http:
        resp = await http.get(f"/projects/{PID}/export.zip")
        again = await http.get(f"/projects/{PID}/export.zip")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/zip"
    assert resp.headers["content-disposition"] == f'attachment; filename="kiln-co-{PID}.zip"'
    assert resp.content == again.content  # deterministic
    files = read_zip(resp)
    assert set(files) == {
        "manifest.json",
        "deliverables/t1-copy.md",
        "deliverables/t2-site.md",
        "deliverables/t2-site/README.md",
        "site/index.html",
        "site/terms.html",
        "site/privacy.html",
    }
    assert "35 EUR per mug" in files["deliverables/t1-copy.md"]
    manifest = json.loads(files["manifest.json"])
    assert manifest["project"] == {"id": PID, "name": "Kiln & Co", "goal": "Sell handmade mugs"}
    assert [
        (d["id"], d["task_id"], d["title"], d["version"], d["qa_score"], d["path"], d["files"])
        for d in manifest["deliverables"]
    ] == [
        (ids["v1"], "t1-copy", "Landing copy", 2, 8.0, "deliverables/t1-copy.md", []),
        (ids["web"], "t2-site", "Website", 1, None, "deliverables/t2-site.md", ["deliverables/t2-site/README.md"]),
    ]
    assert manifest["site"]["paths"] == ["site/index.html", "site/privacy.html", "site/terms.html"]
    assert manifest["site"]["launched"] is False and manifest["site"]["payment_links"] == []
    # No placeholder anywhere, and the site's local links resolve.
    assert not any("{{" in text for text in files.values())
    site = {name.removeprefix("site/"): text for name, text in files.items() if name.startswith("site/")}
    assert broken_local_links(site) == [] and NOT_LIVE_BUY in site["index.html"]


async def test_deliverables_follow_the_board_order(offline_api: AppClient, seed: Seed) -> None:
    late = seed.document(PID, task_id="research", title="Research", content="# R")
    early = seed.document(PID, task_id="spec", title="Spec", content="# S")
    orphan = seed.document(PID, task_id="gone", title="Dropped from the plan", content="# G")
    state = ProjectState(
        project_id=PID,
        name="Kiln & Co",
        goal="Sell handmade mugs",
        tasks=[TaskView(id="spec", title="Spec", role="pm"), TaskView(id="research", title="Research", role="r")],
    )
    seed.project(PID, state=state.model_dump(mode="json"))
    async with offline_api() as http:
        items = (await http.get(f"/projects/{PID}/deliverables")).json()["items"]
    assert [(i["id"], i["status"]) for i in items] == [
        (early.id, "pending"),
        (late.id, "pending"),
        (orphan.id, "draft"),
    ]
