"""Every console page at desktop (1280 px) and phone (390 px) width, in real Chromium on the live
stack with API keys set: the sign-in pages, the dashboard (empty and running), the new-project
form, the inbox with a pending quorum gate (its filter row compact), the plan editor on the
approval page, a project in execution with its votes and role budgets, a deliverable, and the
error pages (a forged form, unknown pages). No page scrolls sideways on a phone; each screenshot
goes to test-artifacts/browser-screens-*.png to be looked at. A plan approved with edits then
shows its own task count, not the planner's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from boardroom.settings import Settings
from tests.browser.conftest import Stack
from tests.browser.test_approval_page import CSP_VIOLATIONS, DESKTOP, PHONE, new_page, shoot
from tests.waiting import eventually

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ALICE_KEY = "k-alice-screens-0123456789"
BOB_KEY = "k-bob-screens-0123456789"
KEYS = f"alice:{ALICE_KEY},bob:{BOB_KEY},carol:k-carol-screens-0123456789"
AS_ALICE = {"Authorization": f"Bearer {ALICE_KEY}"}
AS_BOB = {"Authorization": f"Bearer {BOB_KEY}"}
NAME = "Harbour Mugs Co-op"
ROLE_BUDGETS = {"market-researcher": 10, "pricing-strategist": 10, "copywriter": 5}
KEPT = 3
# The compact filter row: the button its own size (it used to stretch across the row, ~600 px).
FILTER_BUTTON_MAX_PX = 160
FILTER_ROW_MAX_PX = 130


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Keys set: the pages ask for a sign-in, and three principals can vote."""
    return settings.model_copy(update={"api_keys": KEYS})


async def fits_phone(page: Page, what: str) -> None:
    width = await page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"{what} scrolls sideways on a phone: {width}px wide"


async def both(pages: dict[str, Page], artifacts: Path, name: str, url: str, status: int = 200) -> None:
    """Open `url` at both widths, check the status and the phone fit, and take the screenshots."""
    for width, page in pages.items():
        opened = await page.goto(url)
        assert opened is not None and opened.status == status, (url, opened and opened.status)
        await shoot(page, artifacts, f"screens-{name}-{width}")
        if width == "phone":
            await fits_phone(page, name)


async def login_link(stack: Stack) -> str:
    resp = await stack.http.post("/auth/login-links", headers=AS_ALICE)
    assert resp.status_code == 201, resp.text
    url: str = resp.json()["url"]
    return url


async def pending(stack: Stack, pid: str, kind: str, votes: int | None = None) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        resp = await stack.http.get("/approvals", params={"status": "pending", "project_id": pid}, headers=AS_ALICE)
        assert resp.status_code == 200, resp.text
        for g in resp.json()["items"]:
            if g["kind"] == kind and (votes is None or len(g["votes"]) == votes):
                return dict(g)
        return None

    found: dict[str, Any] = await eventually(probe, f"a pending {kind} gate", timeout=90)
    return found


async def test_console_pages_at_desktop_and_phone_width(browser: Browser, stack: Stack, artifacts: Path) -> None:
    desktop, page = await new_page(browser, DESKTOP)
    phone, small = await new_page(browser, PHONE)
    pages = {"desktop": page, "phone": small}
    base, http = stack.base_url, stack.http
    pid = ""
    try:
        # Sign-in: the page a browser without a session gets, then a login link per browser.
        await both(pages, artifacts, "signin-required", f"{base}/", status=401)
        await expect(small.get_by_role("heading", level=1)).to_have_text("Sign in to Boardroom")
        for pg in pages.values():
            landed = await pg.goto(await login_link(stack))
            assert landed is not None and landed.status == 200
            await expect(pg.get_by_text("Signed in as alice")).to_be_visible()

        # The empty dashboard and inbox say what to do next.
        await both(pages, artifacts, "dashboard-empty", f"{base}/")
        await expect(small.get_by_role("link", name="Start one")).to_be_visible()
        await both(pages, artifacts, "inbox-empty", f"{base}/inbox")
        await expect(small.get_by_role("link", name="start a project")).to_be_visible()
        await both(pages, artifacts, "new", f"{base}/new")
        await expect(small.get_by_role("button", name="Start the project")).to_be_visible()

        # A project with three approvers (two approvals decide a high-risk gate) and role budgets.
        created = await http.post(
            "/projects",
            json={
                "goal": "Sell hand-glazed harbour mugs to cafés and online",
                "name": NAME,
                "budget_usd": 20,
                "approvers": ["alice", "bob", "carol"],
                "quorum": 2,
                "role_budgets_usd": ROLE_BUDGETS,
            },
            headers=AS_ALICE,
        )
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        interview = await pending(stack, pid, "interview")
        questions = (await http.get(f"/approvals/{interview['id']}", headers=AS_ALICE)).json()["questions"]
        answered = await http.post(
            f"/approvals/{interview['id']}/decision",
            json={"decision": "approve", "answers": {q["id"]: "Cafés in Porto" for q in questions}},
            headers=AS_ALICE,
        )
        assert answered.status_code == 200, answered.text

        # The plan (high risk): bob approves first, so the inbox shows a quorum gate at 1 of 2.
        plan = await pending(stack, pid, "plan")
        vote = await http.post(f"/approvals/{plan['id']}/decision", json={"decision": "approve"}, headers=AS_BOB)
        assert vote.status_code == 200 and vote.json()["status"] == "pending", vote.text
        plan = await pending(stack, pid, "plan", votes=1)
        for width, pg in pages.items():
            await pg.goto(f"{base}/inbox")
            card = pg.locator(f"#gate-{plan['id']}")
            await expect(card).to_contain_text("1 of 2 approvals")
            await expect(card).to_contain_text("Votes: bob approve")
            button = await pg.get_by_role("button", name="Filter").bounding_box()
            row = await pg.locator("form.filters").bounding_box()
            assert button is not None and row is not None
            if width == "desktop":
                assert button["width"] <= FILTER_BUTTON_MAX_PX, f"the Filter button is {button['width']}px wide"
                assert row["height"] <= FILTER_ROW_MAX_PX, f"the filter row wraps: {row['height']}px tall"
            else:
                await fits_phone(pg, "the inbox")
                assert button["x"] >= 0 and button["x"] + button["width"] <= PHONE["width"]
            await shoot(pg, artifacts, f"screens-inbox-quorum-{width}")
        # A filter that matches nothing says how to see everything again.
        await small.goto(f"{base}/inbox?kind=budget")
        await expect(small.get_by_role("link", name="Show every pending decision")).to_be_visible()
        await shoot(small, artifacts, "screens-inbox-filtered-phone")

        # The plan's approval page with the editor open, at both widths.
        link = plan["approve_url"]
        for width, pg in pages.items():
            await pg.goto(link)
            await pg.get_by_text("Edit the plan before approving").click()
            await expect(pg.locator("fieldset.task-edit").first).to_be_visible()
            await expect(pg.get_by_text("1 of 2 approvals")).to_be_visible()
            await shoot(pg, artifacts, f"screens-plan-editor-{width}")
            if width == "phone":
                await fits_phone(pg, "the plan editor")
                # the window at the first task's editor, to be read at full size
                await pg.locator("fieldset.task-edit").first.scroll_into_view_if_needed()
                await pg.screenshot(path=str(artifacts / "browser-screens-plan-editor-phone-task.png"))
        # alice keeps three tasks and approves: the second approval resolves the gate with her edits.
        fieldsets = page.locator("fieldset.task-edit")
        planned = await fieldsets.count()
        assert planned > KEPT
        for i in range(KEPT, planned):
            await fieldsets.nth(i).locator("input[type=checkbox]").uncheck()
        await fieldsets.nth(KEPT - 1).scroll_into_view_if_needed()
        async with page.expect_navigation():
            await page.get_by_role("button", name="Approve").click()
        await expect(page.get_by_role("heading", name="Decision recorded")).to_be_visible()

        async def executing() -> dict[str, Any] | None:
            d: dict[str, Any] = (await http.get(f"/projects/{pid}", headers=AS_ALICE)).json()
            assert d["status"] not in ("failed", "cancelled"), d.get("error")
            return d if d["phase"] == "execution" and d["decisions"] else None

        detail = await eventually(executing, "the execution phase", timeout=90)
        # The plan that runs is described as edited: its own count, who decided (not "7 tasks").
        planner, note = detail["plan_summary"].split("\n\n")
        assert note.startswith(
            f"*Approved with edits, decided by alice: {KEPT} tasks (the planner proposed {planned}), estimated $"
        ), note
        assert f"{KEPT} tasks" in planner and f"{planned} tasks" not in planner, planner
        assert len(detail["tasks"]) >= KEPT

        # A high-risk deliverable waits for two approvals: bob's vote is shown on the project page.
        deliverable = await pending(stack, pid, "deliverable")
        voted = await http.post(
            f"/approvals/{deliverable['id']}/decision", json={"decision": "approve"}, headers=AS_BOB
        )
        assert voted.status_code == 200 and voted.json()["status"] == "pending", voted.text
        for width, pg in pages.items():
            await pg.goto(f"{base}/projects/{pid}/view")
            waiting = pg.locator("#waiting li", has_text=deliverable["title"]).first
            await expect(waiting).to_contain_text("1 of 2 approvals", timeout=30_000)
            await expect(waiting).to_contain_text("bob approve")
            await expect(pg.get_by_role("heading", name=re.compile("Role budgets"))).to_be_visible()
            await expect(pg.get_by_text(f"Approved with edits, decided by alice: {KEPT} tasks")).to_be_visible()
            if width == "phone":
                await fits_phone(pg, "the project page")
            await shoot(pg, artifacts, f"screens-project-{width}")
        await both(pages, artifacts, "dashboard", f"{base}/")

        # A deliverable's page.
        async def produced() -> int | None:
            tasks = (await http.get(f"/projects/{pid}", headers=AS_ALICE)).json()["tasks"]
            return next((t["deliverable_id"] for t in tasks if t["deliverable_id"]), None)

        made = await eventually(produced, "a deliverable on the board")
        await both(pages, artifacts, "deliverable", f"{base}/deliverables/{made}/view")
        await expect(small.locator("#content")).not_to_be_empty()

        # Error pages: a forged form (the steer form with a token not of ours) and unknown pages.
        for width, pg in pages.items():
            await pg.goto(f"{base}/projects/{pid}/view")
            await pg.locator("#steer input[name=form_token]").evaluate("(el) => { el.value = 'forged'; }")
            await pg.get_by_label("Instruction").fill("Focus on corporate gifts")
            async with pg.expect_navigation() as nav:
                await pg.get_by_role("button", name="Send to the team").click()
            answer = await nav.value
            assert answer is not None and answer.status == 403
            await expect(pg.get_by_role("heading", level=1)).to_have_text("Form not accepted")
            if width == "phone":
                await fits_phone(pg, "the 403 page")
            await shoot(pg, artifacts, f"screens-403-form-{width}")
        await both(pages, artifacts, "404-project", f"{base}/projects/p-nothing-here/view", status=404)
        await expect(small.get_by_role("heading", level=1)).to_have_text("Project not available")
        await both(pages, artifacts, "404-page", f"{base}/no/such/page", status=404)
        await expect(small.get_by_role("heading", level=1)).to_have_text("Page not found")
        await expect(small.get_by_role("link", name="Open the dashboard")).to_be_visible()
        unknown = await http.get("/no/such/page")
        assert unknown.status_code == 404 and unknown.json() == {"detail": "Not Found"}, "JSON clients get JSON"

        # The rest of the sign-in flow: sign out (from the dashboard's header), a spent link, a forged one.
        await page.goto(f"{base}/")
        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Signed out")
        await shoot(page, artifacts, "screens-signed-out-desktop")
        spent = await login_link(stack)
        await small.goto(spent)
        await both(pages, artifacts, "signin-link-used", spent, status=410)
        await expect(small.get_by_role("heading", level=1)).to_have_text("Sign-in link already used")
        forged = spent[:-6] + ("AAAAAA" if not spent.endswith("AAAAAA") else "BBBBBB")
        await both(pages, artifacts, "signin-link-forged", forged, status=403)
        assert not CSP_VIOLATIONS, CSP_VIOLATIONS
    finally:
        if pid:
            await http.post(f"/projects/{pid}/cancel", headers=AS_ALICE)
        await desktop.close()
        await phone.close()
