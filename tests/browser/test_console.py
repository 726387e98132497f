"""The CEO's console in real Chromium, on the live stack: start a project from the form, watch its
page update live (no reload) when a decision lands, steer it, decide from the inbox, on a desktop
and a phone. Screenshots go to test-artifacts/ for a human to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import Stack
from tests.browser.test_approval_page import DESKTOP, PHONE, new_page, pending_gate, shoot
from tests.waiting import eventually

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]
# A hang guard for live updates (a change reaches the page in about a second).
LIVE_MS = 30_000


async def test_start_watch_steer_and_decide_from_the_console(browser: Browser, stack: Stack, artifacts: Path) -> None:
    http = stack.http
    desktop, page = await new_page(browser, DESKTOP)
    phone, small = await new_page(browser, PHONE)
    try:
        # 1. start from the form
        await page.goto(f"{stack.base_url}/")
        await page.get_by_role("link", name="New project").first.click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("New project")
        await page.get_by_label("Goal").fill("Sell hand-thrown tea bowls to tea houses")
        await page.get_by_label("Name").fill("Tea Bowls")
        await page.get_by_label("Budget in USD").fill("15")
        await shoot(page, artifacts, "console-new-desktop")
        await page.get_by_role("button", name="Start the project").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Tea Bowls")
        pid = page.url.rstrip("/").split("/")[-2]
        assert page.url == f"{stack.base_url}/projects/{pid}/view"

        # 2. the page follows the project live: a decision made elsewhere shows without a reload
        await expect(page.locator("body[data-live-connected='1']")).to_have_count(1)
        await page.evaluate("window.__sameDocument = 'yes'")
        interview = await pending_gate(stack, pid, "interview")
        await expect(page.get_by_role("link", name=interview["title"])).to_be_visible(timeout=LIVE_MS)
        questions = (await http.get(f"/approvals/{interview['id']}")).json()["questions"]
        answers = {q["id"]: f"Answer: {q['text']}" for q in questions}
        decided = await http.post(
            f"/approvals/{interview['id']}/decision", json={"decision": "approve", "answers": answers}
        )
        assert decided.status_code == 200, decided.text
        plan = await pending_gate(stack, pid, "plan")
        await expect(page.get_by_role("link", name=plan["title"])).to_be_visible(timeout=LIVE_MS)
        assert await page.evaluate("window.__sameDocument") == "yes", "the page was reloaded, not updated"

        # 3. steer from the page
        await page.get_by_label("Instruction").fill("Focus on tea houses in Kyoto first")
        await page.get_by_role("button", name="Send to the team").click()
        await expect(page.get_by_text("Sent: the team revises what remains of the plan.")).to_be_visible()

        async def steered() -> bool:
            return "Focus on tea houses in Kyoto first" in (await http.get(f"/projects/{pid}")).json()["steering"]

        await eventually(steered, "the steering note on the project")
        await shoot(page, artifacts, "console-project-desktop")

        # 4. the inbox on a phone: filter, then decide the plan in place
        await small.goto(f"{stack.base_url}/inbox?project={pid}")
        card = small.locator(f"#gate-{plan['id']}")
        await expect(card).to_be_visible()
        overflow = await small.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the inbox scrolls sideways on a phone by {overflow}px"
        await shoot(small, artifacts, "console-inbox-phone")
        await card.get_by_role("button", name="Approve").click()
        await expect(small.get_by_text(f"Decided: {plan['id']}")).to_be_visible()

        async def approved() -> bool:
            gate = (await http.get(f"/approvals/{plan['id']}")).json()
            return gate["status"] == "approved" and gate["decided_by"] == "ceo" and gate["channel"] == "web"

        await eventually(approved, "the inbox decision")
        await expect(page.get_by_role("link", name=plan["title"])).to_have_count(0, timeout=LIVE_MS)
        await shoot(page, artifacts, "console-after-decision-desktop")
    finally:
        if "pid" in locals():
            await http.post(f"/projects/{pid}/cancel")
        await desktop.close()
        await phone.close()
