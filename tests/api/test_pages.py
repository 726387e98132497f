"""Server-rendered pages: dashboard, project page, and the signed approval page."""

from __future__ import annotations

from datetime import timedelta

from api import links
from approvals.tokens import mint
from boardroom.settings import Settings
from domain.enums import Phase, Status, TaskStatus
from domain.project import Cost, PhaseMark, ProjectState, TaskView
from tests.api.conftest import AppClient, Seed, now


def _link(settings: Settings, gate) -> str:  # type: ignore[no-untyped-def]
    return links.approve_url(settings, gate.id, gate.approver, gate.created_at).removeprefix("http://testserver")


async def test_dashboard_lists_projects_and_pending_approvals(
    offline_api: AppClient, offline_settings: Settings, seed: Seed
) -> None:
    state = ProjectState(
        project_id="p-seed00000001",
        name="Seeded shop",
        goal="Sell mugs",
        phase=Phase.execution,
        status=Status.waiting_approval,
        timeline=[PhaseMark(phase=Phase.discovery, at=now()), PhaseMark(phase=Phase.execution, at=now())],
        tasks=[
            TaskView(
                id="t1", title="Write <landing> copy", role="writer", status=TaskStatus.passed, qa_score=8.4, rounds=2
            )
        ],
        cost=Cost(usd=2.5, budget_usd=10),
    )
    seed.project(phase="execution", status="waiting_approval", pending_gates=1, state=state.model_dump(mode="json"))
    gate = seed.gate(title="Approve <the> landing page")
    async with offline_api() as http:
        page = await http.get("/")
    assert page.status_code == 200
    html = page.text
    assert '<meta name="viewport"' in html and 'http-equiv="refresh"' in html
    assert "Seeded shop" in html and "Write &lt;landing&gt; copy" in html and "8.4" in html
    assert "Approve &lt;the&gt; landing page" in html
    assert _link(offline_settings, gate) in html
    assert '<li class="done">discovery' in html and '<li class="current">execution' in html
    assert "$2.50 of $10.00" in html
    assert "/namespaces/default/workflows/project-p-seed00000001" in html


async def test_project_page(offline_api: AppClient, seed: Seed) -> None:
    seed.project()
    seed.gate()
    async with offline_api() as http:
        page = await http.get("/projects/p-seed00000001/view")
        missing = await http.get("/projects/p-nope/view")
    assert page.status_code == 200
    assert "Seeded shop" in page.text and "Approve the landing page" in page.text
    assert missing.status_code == 404 and "unknown project p-nope" in missing.text


async def test_approval_page_renders_deliverable_safely(
    offline_api: AppClient, offline_settings: Settings, seed: Seed
) -> None:
    seed.project(cost_usd=1.5, budget_usd=20)
    doc = seed.document()
    seed.review(doc.id or 0)
    gate = seed.gate(task_id="t1", deliverable_id=doc.id, summary="Check **this** <img src=x onerror=alert(1)>")
    async with offline_api(client_host="192.0.2.7") as http:  # any client: the link is the credential
        page = await http.get(_link(offline_settings, gate))
    assert page.status_code == 200, page.text
    html = page.text
    assert '<meta name="viewport"' in html
    assert "Sell <strong>handmade</strong> mugs online" not in html  # the goal is plain text
    assert "<h1>Mugs</h1>" in html and "<strong>Buy</strong>" in html  # markdown rendered
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html  # raw HTML escaped
    assert "<img src=x" not in html
    assert "Tighten &lt;the&gt; headline" in html and "8.5" in html  # QA report
    assert "$1.50" in html and "$20.00" in html
    for value in ("approve", "reject", "revise"):
        assert f'name="decision" value="{value}"' in html
    assert 'name="comment"' in html


async def test_interview_page_has_one_textarea_per_question(
    offline_api: AppClient, offline_settings: Settings, seed: Seed
) -> None:
    seed.project()
    gate = seed.gate(
        kind="interview", risk="low", questions=[{"id": "q1", "text": "Who buys?"}, {"id": "q2", "text": "Price?"}]
    )
    async with offline_api() as http:
        page = await http.get(_link(offline_settings, gate))
    assert page.status_code == 200
    assert 'name="answer_q1"' in page.text and 'name="answer_q2"' in page.text
    assert "Who buys?" in page.text and "Submit answers" in page.text


async def test_forged_expired_used_and_unknown_links(
    offline_api: AppClient, offline_settings: Settings, seed: Seed
) -> None:
    seed.project()
    fresh = seed.gate(seq=1)
    old = seed.gate(seq=2, created_at=now() - timedelta(days=8))
    used = seed.gate(seq=3)
    seed.decide_row(used.id, "approved", "alice", now())
    good = _link(offline_settings, fresh)
    async with offline_api() as http:
        forged = await http.get(good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"))
        other_key = await http.get("/a/" + mint("another-secret", fresh.id, "ceo", fresh.created_at))
        expired = await http.get(_link(offline_settings, old))
        spent = await http.get(_link(offline_settings, used))
        spent_post = await http.post(_link(offline_settings, used), data={"decision": "approve"})
        unknown = await http.get("/a/" + mint(offline_settings.secret_key, "p-ghost-g1", "ceo", now()))
    assert forged.status_code == 403 and "not issued by Boardroom" in forged.text
    assert other_key.status_code == 403
    assert expired.status_code == 410 and "expired" in expired.text
    assert spent.status_code == 410 and "already approved by alice" in spent.text
    assert spent_post.status_code == 410
    assert unknown.status_code == 404
    for resp in (forged, expired, spent, unknown):
        assert resp.headers["content-type"].startswith("text/html")


async def test_bad_form_and_temporal_away(offline_api: AppClient, offline_settings: Settings, seed: Seed) -> None:
    seed.project()
    gate = seed.gate()
    link = _link(offline_settings, gate)
    async with offline_api() as http:
        nothing = await http.post(link, data={})
        revise = await http.post(link, data={"decision": "revise", "comment": "  "})
        away = await http.post(link, data={"decision": "approve"})
    assert nothing.status_code == 422 and "Choose approve" in nothing.text
    assert revise.status_code == 422 and "what should change" in revise.text
    assert away.status_code == 503 and "Temporal" in away.text
