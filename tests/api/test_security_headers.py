"""Pages load nothing from elsewhere: markdown images become links, every HTML answer carries a
strict CSP (no script, no third party, no framing), no-referrer, nosniff and DENY; the pages
themselves need nothing the CSP refuses (no inline script or style, one same-origin stylesheet)."""

from __future__ import annotations

import re

import httpx

from api import links
from api.middleware import PAGE_CSP
from boardroom.settings import Settings
from domain.enums import Phase
from domain.project import ProjectState
from domain.work import Plan
from tests.api.conftest import AppClient, Seed

TRACKER = "https://tracker.example/pixel.png?leak=secret"
PLANTED = f"Our plan ![launch chart]({TRACKER}) and ![inline](data:image/png;base64,iVBORw0KGgo=)"


def assert_page_headers(resp: httpx.Response) -> None:
    csp = resp.headers["content-security-policy"]
    assert csp == PAGE_CSP
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    # Scripts only from this origin (the console's live updates), never inline or from elsewhere.
    assert directives["script-src"] == "'self'" and directives["connect-src"] == "'self'"
    assert "unsafe-inline" not in csp and "http" not in csp and "*" not in csp
    assert resp.headers["referrer-policy"] == "no-referrer"
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["x-frame-options"] == "DENY"


def assert_loads_nothing_foreign(html: str) -> None:
    assert "<img" not in html and "<style" not in html
    scripts = re.findall(r"<script[^>]*>", html)
    assert all(re.fullmatch(r'<script src="/static/[a-z]+\.js" defer>', s) for s in scripts), scripts
    assert not re.search(r"\sstyle\s*=", html), "style attributes are refused by the CSP"
    for tag in re.findall(r"<link[^>]*>", html):
        href = re.search(r'href="([^"]+)"', tag)
        assert href and href.group(1).startswith("/static/"), tag


async def test_markdown_images_become_links_and_pages_carry_the_csp(
    offline_api: AppClient, offline_settings: Settings, seed: Seed
) -> None:
    state = ProjectState(
        project_id="p-seed00000001", name="Seeded shop", goal=PLANTED, phase=Phase.discovery, plan=Plan(summary=PLANTED)
    )
    seed.project(goal=PLANTED, state=state.model_dump(mode="json"))
    doc = seed.document(content=f"# Landing\n\n{PLANTED}\n\n<img src={TRACKER}>")
    gate = seed.gate(summary=PLANTED, deliverable_id=doc.id)
    link = links.approve_url(offline_settings, gate.id, gate.approver, gate.created_at).removeprefix(BASE)
    async with offline_api() as http:
        pages = {
            "approval": await http.get(link),
            "dashboard": await http.get("/"),
            "project": await http.get("/projects/p-seed00000001/view"),
            "docs": await http.get("/docs"),
            "forged link": await http.get("/a/v1.forged.token"),
            "missing project": await http.get("/projects/p-nope/view"),
        }
        css = await http.get("/static/boardroom.css")
        api = await http.get("/projects")
    assert [r.status_code for r in pages.values()] == [200, 200, 200, 200, 403, 404]
    for name, resp in pages.items():
        assert resp.headers["content-type"].startswith("text/html"), name
        assert_page_headers(resp)
        assert_loads_nothing_foreign(resp.text)
    approval = pages["approval"].text
    # the summary and the deliverable: a link the reader may follow, nothing fetched on open
    link_html = f'<a href="{TRACKER.replace("&", "&amp;")}" rel="nofollow noopener noreferrer">image: launch chart</a>'
    assert approval.count(link_html) == 2
    assert "image: inline" in approval and '="data:' not in approval  # the goal shows it as text only
    assert "&lt;img src=" in approval  # raw HTML in LLM text is shown as text
    assert pages["project"].text.count(link_html) == 1  # the plan summary
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert ".bar > span" in css.text and ".w100{width:100%}" in css.text
    # JSON answers: no framing, no sniffing, no referrer either
    assert api.headers["x-content-type-options"] == "nosniff"
    assert api.headers["x-frame-options"] == "DENY"
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


async def test_swagger_is_replaced_by_a_page_without_script(offline_api: AppClient) -> None:
    async with offline_api() as http:
        docs = await http.get("/docs")
        redoc = await http.get("/redoc")
        schema = await http.get("/openapi.json")
    assert docs.status_code == 200 and "cdn.jsdelivr" not in docs.text
    assert "/approvals/{gate_id}/decision" in docs.text and "DecisionIn" in docs.text
    assert redoc.status_code == 404
    assert schema.status_code == 200 and schema.json()["info"]["title"] == "Boardroom"


BASE = "http://testserver"
