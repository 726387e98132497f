"""The work product in real Chromium on the live stack: the project page links a task to its
deliverable page (rendered markdown, versions, QA rounds), and the website preview renders with
its stylesheet under the strict CSP (no violation reported), its links working. Screenshots go
to test-artifacts/ for a human to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, expect

from tests.api.conftest import Seed
from tests.api.test_deliverables import PID, seed_work
from tests.browser.conftest import Stack
from tests.browser.test_approval_page import DESKTOP, PHONE, new_page, shoot

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


async def test_deliverable_page_and_site_preview(browser: Browser, stack: Stack, artifacts: Path) -> None:
    ids = seed_work(Seed(stack.settings.database_url))
    context, page = await new_page(browser, DESKTOP)
    console: list[str] = []

    def keep(msg: ConsoleMessage) -> None:
        # The browser's own favicon probe (outside the site) is the one miss allowed.
        if not msg.location.get("url", "").endswith("/favicon.ico"):
            console.append(f"{msg.type}: {msg.text}")

    page.on("console", keep)
    missing: list[str] = []
    page.on("response", lambda resp: missing.append(resp.url) if resp.status >= 400 else None)
    try:
        await page.goto(f"{stack.base_url}/projects/{PID}/view")
        await page.get_by_role("link", name="Landing copy").click()
        await expect(page).to_have_url(f"{stack.base_url}/deliverables/{ids['v2']}/view")
        await expect(page.locator("#content h1")).to_have_text("Mugs")
        await expect(page.get_by_text("Round 1 · version 1: 5.5/10")).to_be_visible()
        await page.get_by_text("Changes in version 2").click()
        await expect(page.get_by_text("+Price: 35 EUR per mug")).to_be_visible()
        await shoot(page, artifacts, "deliverable")

        await page.goto(f"{stack.base_url}/projects/{PID}/view")
        await page.get_by_role("link", name="Website preview").click()
        await expect(page).to_have_url(f"{stack.base_url}/projects/{PID}/site/")
        await expect(page.locator("h1")).to_have_text("Kiln & Co")
        await expect(page.get_by_text("35 EUR per mug")).to_be_visible()
        buy = page.locator("#buy")
        await expect(buy).to_have_text("Payments are not live yet")
        # The stylesheet loads under the CSP: the font family comes from style.css (waited for: the
        # page shows before its stylesheet has been applied).
        await page.wait_for_load_state("load")
        await page.wait_for_function("getComputedStyle(document.body).fontFamily.startsWith('system-ui')")
        family = await page.evaluate("getComputedStyle(document.body).fontFamily")
        assert family.startswith("system-ui"), family
        await shoot(page, artifacts, "site-preview")

        await page.get_by_role("link", name="Terms").click()
        await expect(page).to_have_url(f"{stack.base_url}/projects/{PID}/site/terms.html")
        await expect(page.locator("h1")).to_have_text("Terms")
        await page.get_by_role("link", name="Privacy").click()
        await expect(page.locator("h1")).to_have_text("Privacy")
        await page.get_by_role("link", name="Home").click()
        await expect(page).to_have_url(f"{stack.base_url}/projects/{PID}/site/index.html")
        # Nothing the pages load is missing or refused by the CSP.
        assert missing == []
        assert [m for m in console if "Content Security Policy" in m or m.startswith("error")] == []
    finally:
        await context.close()

    context, page = await new_page(browser, PHONE)
    try:
        await page.goto(f"{stack.base_url}/projects/{PID}/site/")
        await expect(page.locator("#buy")).to_be_visible()
        await shoot(page, artifacts, "site-preview-phone")
    finally:
        await context.close()
