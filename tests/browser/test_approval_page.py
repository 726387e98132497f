"""The signed approval page in real Chromium, on the live stack: request changes on the plan, see the
workflow re-plan, approve the revision, watch the project reach execution; spent links answer 410;
the dashboard shows the running project. Screenshots go to test-artifacts/ for a human to look at."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from playwright.async_api import Error as PlaywrightError
from temporalio.testing import WorkflowEnvironment

from domain.project import ProjectState
from tests.browser.conftest import Stack
from tests.waiting import eventually
from workflows.project import ProjectWorkflow

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
NAME = "Harbour Mugs"
FEEDBACK = "Add a wholesale channel for cafés before the web shop."
# Playwright waits (expect, navigation) are hang guards; a decision takes about a second.
UI_WAIT_MS = 30_000


async def pending_gate(stack: Stack, project_id: str, kind: str, title_has: str = "") -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        resp = await stack.http.get("/approvals", params={"status": "pending", "project_id": project_id})
        assert resp.status_code == 200, resp.text
        items = resp.json()["items"]
        return next((g for g in items if g["kind"] == kind and title_has in g["title"]), None)

    return await eventually(probe, f"a pending {kind} gate {title_has!r}")


async def shoot(page: Page, artifacts: Path, name: str) -> Path:
    path = artifacts / f"browser-{name}.png"
    # Chromium can refuse a capture while the machine is saturated ("Unable to capture
    # screenshot"): that is the camera, not the page under test — try again, a bounded few times.
    for attempt in range(3):
        try:
            await page.screenshot(path=str(path), full_page=True)
            break
        except PlaywrightError as exc:
            if attempt == 2 or "Unable to capture screenshot" not in str(exc):
                raise
            await asyncio.sleep(1)
    assert path.stat().st_size > 5_000, f"{path} looks empty"
    return path


# Console messages about the Content-Security-Policy: the pages must need nothing it refuses.
CSP_VIOLATIONS: list[str] = []


async def new_page(browser: Browser, viewport: dict[str, int]) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(viewport=viewport, locale="en-US")  # type: ignore[arg-type]
    context.set_default_timeout(UI_WAIT_MS)
    context.set_default_navigation_timeout(UI_WAIT_MS)
    page = await context.new_page()
    page.on(
        "console",
        lambda msg: CSP_VIOLATIONS.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return context, page


async def test_request_changes_then_approve_the_revised_plan(
    browser: Browser, stack: Stack, dev_env: WorkflowEnvironment, artifacts: Path
) -> None:
    http = stack.http
    created = await http.post(
        "/projects",
        json={"goal": "Sell hand-glazed harbour mugs online", "name": NAME, "budget_usd": 20, "auto_approve": "none"},
    )
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    handle = dev_env.client.get_workflow_handle(created.json()["workflow_id"], result_type=ProjectState)

    async def state() -> ProjectState:
        return await handle.query(ProjectWorkflow.get_state)

    try:
        # 1. the interview, answered through the JSON API
        interview = await pending_gate(stack, pid, "interview")
        questions = (await http.get(f"/approvals/{interview['id']}")).json()["questions"]
        answers = {q["id"]: f"Answer: {q['text']}" for q in questions}
        answered = await http.post(
            f"/approvals/{interview['id']}/decision", json={"decision": "approve", "answers": answers}
        )
        assert answered.status_code == 200, answered.text

        # 2. the plan's signed link, absolute and reachable, the same from every listing
        plan = await pending_gate(stack, pid, "plan", "revision 0")
        link = plan["approve_url"]
        assert link.startswith(f"{stack.base_url}/a/v1.")
        detail = (await http.get(f"/projects/{pid}")).json()
        assert next(g for g in detail["gates"] if g["id"] == plan["id"])["approve_url"] == link

        desktop, page = await new_page(browser, DESKTOP)
        phone, small = await new_page(browser, PHONE)
        try:
            opened = await page.goto(link)
            assert opened is not None and opened.status == 200
            await expect(page).to_have_title(f"{plan['title']} · Boardroom")
            await expect(page.get_by_role("heading", level=1)).to_have_text(plan["title"])
            await expect(page.get_by_text(f"Project {NAME}")).to_be_visible()
            await expect(page.get_by_text("Deciding as ceo")).to_be_visible()
            for label in ("Approve", "Request changes", "Reject"):
                await expect(page.get_by_role("button", name=label)).to_be_enabled()
            await shoot(page, artifacts, "plan-desktop")

            # the same page on a phone: nothing wider than the screen, the buttons in reach
            await small.goto(link)
            await expect(small.get_by_role("button", name="Request changes")).to_be_visible()
            overflow = await small.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"the approval page scrolls sideways on a phone by {overflow}px"
            box = await small.get_by_role("button", name="Approve").bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
            await shoot(small, artifacts, "plan-phone")

            # 3. request changes without saying what: the form comes back with the reason
            await page.get_by_role("button", name="Request changes").click()
            await expect(page.get_by_role("alert")).to_have_text("Say what should change in the comment.")
            assert (await state()).gates[-1].status.value == "pending"

            # ...with a comment: the decision is recorded and the page says so
            await page.get_by_label("Comment").fill(FEEDBACK)
            await page.get_by_role("button", name="Request changes").click()
            await expect(page.get_by_role("heading", name="Decision recorded")).to_be_visible()
            outcome = page.locator("main")
            await expect(outcome).to_contain_text("revised")
            await expect(outcome).to_contain_text(plan["title"])
            await expect(outcome).to_contain_text("Decided by ceo")
            await expect(outcome).to_contain_text("(via web)")
            await shoot(page, artifacts, "plan-revised")

            # the workflow re-planned: a new plan gate for revision 1, the old one revised with the comment
            revised = await pending_gate(stack, pid, "plan", "revision 1")
            assert revised["id"] != plan["id"] and revised["approve_url"] != link
            now = await state()
            old = next(g for g in now.gates if g.id == plan["id"])
            assert (old.status.value, old.decision, old.comment, old.channel) == ("revised", "revise", FEEDBACK, "web")
            assert [g.title for g in now.gates if g.status.value == "pending"] == ["Approve the plan (revision 1)"]

            # 4. the spent link: 410, "already decided", no form
            again = await page.goto(link)
            assert again is not None and again.status == 410
            await expect(page.get_by_role("heading", level=1)).to_have_text("Already decided")
            await expect(page.locator("main")).to_contain_text(f"decision {plan['id']} was already revised by ceo")
            await expect(page.get_by_role("button")).to_have_count(0)
            await shoot(page, artifacts, "used-link-410")

            # 5. approve the revision from its own link
            await page.goto(revised["approve_url"])
            await expect(page.get_by_role("heading", level=1)).to_have_text("Approve the plan (revision 1)")
            await page.get_by_label("Comment").fill("Good: wholesale first.")
            await page.get_by_role("button", name="Approve").click()
            await expect(page.get_by_role("heading", name="Decision recorded")).to_be_visible()
            await expect(page.locator("main")).to_contain_text("approved")
            await shoot(page, artifacts, "plan-approved")

            # the project advances to execution on the revised plan
            async def in_execution() -> dict[str, Any] | None:
                d = (await http.get(f"/projects/{pid}")).json()
                assert d["status"] not in ("failed", "cancelled"), d.get("error")
                return d if d["phase"] == "execution" and d["tasks"] else None

            running = await eventually(in_execution, "the execution phase")
            after = await state()
            assert after.plan_revision == 1
            channels = {d["gate_id"]: (d["decision"], d["channel"]) for d in running["decisions"]}
            assert channels == {
                interview["id"]: ("approve", "api"),
                plan["id"]: ("revise", "web"),
                revised["id"]: ("approve", "web"),
            }

            # 6. the dashboard shows the running project, its phase and its task board
            board = await page.goto(f"{stack.base_url}/")
            assert board is not None and board.status == 200
            html = await page.content()
            assert NAME in html and pid in html
            card = page.locator("section.card", has_text=NAME)
            await expect(card.locator("ol.phases li.done")).to_contain_text("discovery")
            await expect(card.locator("ol.phases li.current")).to_contain_text("execution")
            first_task = after.tasks[0].title
            await expect(card.get_by_role("cell", name=first_task, exact=True).first).to_be_visible()
            temporal = card.get_by_role("link", name="Workflow in Temporal UI")
            await expect(temporal).to_have_attribute("href", running["temporal_ui_url"])
            await shoot(page, artifacts, "dashboard")
            await small.goto(f"{stack.base_url}/")
            await expect(small.locator("section.card", has_text=NAME)).to_be_visible()
            await shoot(small, artifacts, "dashboard-phone")
            assert CSP_VIOLATIONS == [], CSP_VIOLATIONS
        finally:
            await desktop.close()
            await phone.close()
    finally:
        # End the project while the worker is up, so nothing is left running on the dev server.
        await http.post(f"/projects/{pid}/cancel")

        async def ended() -> str | None:
            s = await state()
            return s.status.value if s.status.value in ("cancelled", "failed", "completed") else None

        assert await eventually(ended, "the project to end", timeout=60) == "cancelled"
