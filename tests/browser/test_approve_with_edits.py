"""Approve a plan with an edited task list from the signed approval page, in real Chromium on the
live stack (desktop and phone widths): drop a task, rename one, change a risk, reorder — the
project then runs exactly the edited plan. Screenshots go to test-artifacts/ to be looked at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import Stack
from tests.browser.test_approval_page import CSP_VIOLATIONS, DESKTOP, PHONE, new_page, pending_gate, shoot
from tests.waiting import eventually

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


async def test_approve_a_plan_with_an_edited_task_list(browser: Browser, stack: Stack, artifacts: Path) -> None:
    http = stack.http
    created = await http.post(
        "/projects", json={"goal": "Sell hand-glazed harbour mugs online", "name": "Edited Mugs", "budget_usd": 20}
    )
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    interview = await pending_gate(stack, pid, "interview")
    questions = (await http.get(f"/approvals/{interview['id']}")).json()["questions"]
    answered = await http.post(
        f"/approvals/{interview['id']}/decision",
        json={"decision": "approve", "answers": {q["id"]: "Cafés in Porto" for q in questions}},
    )
    assert answered.status_code == 200, answered.text
    plan = await pending_gate(stack, pid, "plan")

    async def board() -> list[dict[str, Any]] | None:
        return (await http.get(f"/projects/{pid}")).json()["tasks"] or None

    tasks = await eventually(board, "the plan's tasks")
    ids = [t["id"] for t in tasks]
    first, second, third = ids[0], ids[1], ids[2]
    dropped = ids[3:]
    link = plan["approve_url"]

    phone, small = await new_page(browser, PHONE)
    desktop, page = await new_page(browser, DESKTOP)
    try:
        # the phone: the editor opens and fits the width (the link stays unspent)
        await small.goto(link)
        await small.get_by_text("Edit the plan before approving").click()
        await expect(small.locator(f"#title_{first}")).to_be_visible()
        overflow = await small.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the editor scrolls sideways on a phone by {overflow}px"
        await shoot(small, artifacts, "edit-plan-phone")
        await small.locator(f"#edit-{first}").scroll_into_view_if_needed()
        await small.screenshot(path=str(artifacts / "browser-edit-plan-phone-editor.png"))

        # the desktop: keep three tasks, rename the first, make the second low risk, put the third first
        await page.goto(link)
        await page.get_by_text("Edit the plan before approving").click()
        for task_id in dropped:
            await page.locator(f"input[name='keep_{task_id}']").uncheck()
        await page.locator(f"#title_{first}").fill("Harbour mug research (CEO)")
        await page.locator(f"#risk_{second}").select_option("low")
        await page.locator(f"#pos_{third}").fill("1")
        await page.locator(f"#pos_{first}").fill("2")
        await page.locator(f"#pos_{second}").fill("3")
        # The window, not the full page: after a full-page capture of a page this tall headless
        # Chromium no longer submits the form on a real click.
        await page.locator(f"#edit-{first}").scroll_into_view_if_needed()
        path = artifacts / "browser-edit-plan-desktop.png"
        await page.screenshot(path=str(path))
        assert path.stat().st_size > 5_000
        button = page.get_by_role("button", name="Approve")
        async with page.expect_navigation():
            await button.click()
        await expect(page.get_by_role("heading", name="Decision recorded")).to_be_visible()
        await shoot(page, artifacts, "edit-plan-decided")

        async def edited() -> dict[str, Any] | None:
            d = (await http.get(f"/projects/{pid}")).json()
            return d if d["phase"] != "discovery" else None

        detail = await eventually(edited, "execution of the edited plan")
        planned = [t for t in detail["tasks"] if t["id"] in ids]
        assert [t["id"] for t in planned] == [third, first, second]
        by_id = {t["id"]: t for t in planned}
        assert by_id[first]["title"] == "Harbour mug research (CEO)"
        assert by_id[second]["risk"] == "low"
        decision = next(d for d in detail["decisions"] if d["gate_id"] == plan["id"])
        assert decision["channel"] == "web" and decision["edits"].startswith("plan edited: dropped ")

        # the project page shows the edited plan and the audit note, on both widths
        for pg, name in ((page, "desktop"), (small, "phone")):
            await pg.goto(f"{stack.base_url}/projects/{pid}/view")
            await expect(pg.get_by_text("Harbour mug research (CEO)").first).to_be_visible()
            await expect(pg.get_by_text("plan edited: dropped").first).to_be_visible()
            for task_id in dropped:
                title = next(t["title"] for t in tasks if t["id"] == task_id)
                assert await pg.get_by_role("cell", name=title, exact=True).count() == 0
            await shoot(pg, artifacts, f"edit-plan-project-{name}")
        assert not CSP_VIOLATIONS, CSP_VIOLATIONS
    finally:
        await desktop.close()
        await phone.close()
        await http.post(f"/projects/{pid}/cancel")
