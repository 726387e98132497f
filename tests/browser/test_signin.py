"""Signing in from a browser, in real Chromium on the live stack with API keys set: the sign-in
page, a one-time login link that lands on the dashboard, the console used with the session
(new-project form, live project page, inbox decision), approval links without sign-in, sign-out,
and spent or forged links. Screenshots go to test-artifacts/ for a human to look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from api.signin import COOKIE
from boardroom.settings import Settings
from tests.browser.conftest import Stack
from tests.browser.test_approval_page import DESKTOP, PHONE, new_page, shoot
from tests.waiting import eventually

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]
ALICE_KEY = "k-alice-browser-0123456789"
KEYS = f"alice:{ALICE_KEY},bob:k-bob-browser-9876543210"
AS_ALICE = {"Authorization": f"Bearer {ALICE_KEY}"}
# A hang guard for live updates (a change reaches the page in about a second).
LIVE_MS = 30_000


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The stack of this module runs with API keys: every page asks for a sign-in."""
    return settings.model_copy(update={"api_keys": KEYS})


async def login_link(stack: Stack) -> str:
    resp = await stack.http.post("/auth/login-links", headers=AS_ALICE)
    assert resp.status_code == 201, resp.text
    url: str = resp.json()["url"]
    assert url.startswith(f"{stack.base_url}/auth/login/")
    return url


async def pending(stack: Stack, project_id: str, kind: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        resp = await stack.http.get(
            "/approvals", params={"status": "pending", "project_id": project_id}, headers=AS_ALICE
        )
        assert resp.status_code == 200, resp.text
        return next((g for g in resp.json()["items"] if g["kind"] == kind), None)

    found: dict[str, Any] = await eventually(probe, f"a pending {kind} gate", timeout=90)
    return found


async def test_sign_in_use_the_console_and_sign_out(browser: Browser, stack: Stack, artifacts: Path) -> None:
    desktop, page = await new_page(browser, DESKTOP)
    phone, small = await new_page(browser, PHONE)
    stranger, outside = await new_page(browser, DESKTOP)
    pid = ""
    try:
        # 1. Not signed in: the dashboard says how to sign in (a page, not JSON).
        refused = await page.goto(f"{stack.base_url}/")
        assert refused is not None and refused.status == 401
        await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Boardroom")
        await expect(page.get_by_text("boardroom login-link").first).to_be_visible()
        await shoot(page, artifacts, "signin-required-desktop")

        # 2. A login link lands on the dashboard, signed in as the key's principal.
        link = await login_link(stack)
        landed = await page.goto(link)
        assert landed is not None and landed.status == 200
        assert page.url == f"{stack.base_url}/"
        await expect(page.get_by_role("heading", name="Waiting for you (0)")).to_be_visible()
        await expect(page.get_by_text("Signed in as alice")).to_be_visible()
        cookies = {c["name"]: c for c in await desktop.cookies()}
        session = cookies[COOKIE]
        assert session["httpOnly"] and session["sameSite"] == "Lax" and not session["secure"]
        assert session["expires"] > 0, "the session cookie has an expiry"
        assert await page.evaluate("document.cookie") == "", "scripts cannot read the session"
        await shoot(page, artifacts, "signin-dashboard-desktop")

        # 3. Start a project from the form (a console form post with the session cookie).
        await page.get_by_role("link", name="New project").first.click()
        await page.get_by_label("Goal").fill("Sell hand-thrown tea bowls to tea houses")
        await page.get_by_label("Name").fill("Tea Bowls")
        await page.get_by_role("button", name="Start the project").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Tea Bowls")
        pid = page.url.rstrip("/").split("/")[-2]
        assert page.url == f"{stack.base_url}/projects/{pid}/view"
        detail = (await stack.http.get(f"/projects/{pid}", headers=AS_ALICE)).json()
        assert detail["owner"] == "alice", "the form's project belongs to the signed-in principal"

        # The project page follows the project live through the session (SSE and the refetch).
        await expect(page.locator("body[data-live-connected='1']")).to_have_count(1)
        await page.evaluate("window.__sameDocument = 'yes'")
        interview = await pending(stack, pid, "interview")
        await expect(page.get_by_role("link", name=interview["title"])).to_be_visible(timeout=LIVE_MS)
        assert await page.evaluate("window.__sameDocument") == "yes", "the page was reloaded, not updated"
        await expect(page.get_by_text("Signed in as alice")).to_be_visible()
        await shoot(page, artifacts, "signin-project-desktop")

        # 4. The approval link opens in a browser that never signed in.
        opened = await outside.goto(interview["approve_url"])
        assert opened is not None and opened.status == 200
        await expect(outside.get_by_role("heading", level=1)).to_have_text(interview["title"])
        await expect(outside.get_by_text("Deciding as alice")).to_be_visible()
        await expect(outside.get_by_text("Signed in as")).to_have_count(0)
        elsewhere = await outside.goto(f"{stack.base_url}/inbox")
        assert elsewhere is not None and elsewhere.status == 401

        # 5. The inbox, then a decision from it (another console form post) recorded as alice.
        await page.get_by_role("link", name="Inbox").first.click()
        card = page.locator(f"#gate-{interview['id']}")
        await expect(card).to_be_visible()
        await shoot(page, artifacts, "signin-inbox-desktop")
        await card.get_by_role("button", name="Approve").click()
        await expect(page.get_by_text(f"Decided: {interview['id']}")).to_be_visible()

        async def decided() -> dict[str, Any] | None:
            gate = (await stack.http.get(f"/approvals/{interview['id']}", headers=AS_ALICE)).json()
            return gate if gate["status"] != "pending" else None

        gate = await eventually(decided, "the inbox decision")
        assert (gate["status"], gate["decided_by"], gate["channel"]) == ("approved", "alice", "web")

        # 6. The link was spent: a second browser gets 410 and no session.
        spent = await small.goto(link)
        assert spent is not None and spent.status == 410
        await expect(small.get_by_role("heading", level=1)).to_have_text("Sign-in link already used")
        assert COOKIE not in {c["name"] for c in await phone.cookies()}
        await shoot(small, artifacts, "signin-link-used-phone")
        forged = await small.goto(link[:-6] + ("AAAAAA" if not link.endswith("AAAAAA") else "BBBBBB"))
        assert forged is not None and forged.status == 403
        await expect(small.get_by_role("heading", level=1)).to_have_text("Sign-in link not valid")

        # ...while a fresh link signs the phone in; the header fits the screen.
        await small.goto(await login_link(stack))
        await expect(small.get_by_text("Signed in as alice")).to_be_visible()
        overflow = await small.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the signed-in dashboard scrolls sideways on a phone by {overflow}px"
        await shoot(small, artifacts, "signin-dashboard-phone")

        # 7. Sign out from the header: the session ends, the dashboard asks for a sign-in again.
        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Signed out")
        assert page.url == f"{stack.base_url}/auth/signed-out"
        assert COOKIE not in {c["name"] for c in await desktop.cookies()}
        await shoot(page, artifacts, "signin-signed-out-desktop")
        after = await page.goto(f"{stack.base_url}/")
        assert after is not None and after.status == 401
        await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Boardroom")
        # The cookie, put back by hand, is refused: sign-out ended it on the server.
        await desktop.add_cookies([{**session, "name": COOKIE}])  # type: ignore[list-item]
        revoked = await page.goto(f"{stack.base_url}/inbox")
        assert revoked is not None and revoked.status == 401
        await expect(page.get_by_text("You signed out of this session")).to_be_visible()
        # The phone's own session is untouched.
        still = await small.goto(f"{stack.base_url}/inbox")
        assert still is not None and still.status == 200
    finally:
        if pid:
            await stack.http.post(f"/projects/{pid}/cancel", headers=AS_ALICE)
        await desktop.close()
        await phone.close()
        await stranger.close()
