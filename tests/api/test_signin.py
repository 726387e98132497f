"""Browser sign-in against the real app: one-time login links (API and CLI), the session cookie on
every page, single use across replicas and restarts, sign-out, and the bad cases — forged, expired
or used links, revoked or stale sessions, cross-site posts — answered with a clear 4xx and nothing
set or changed. JSON routes never take the cookie; approval links need no sign-in."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from api import links
from api.routers import live
from api.signin import COOKIE, mint_login, mint_session, verify_login
from approvals.tokens import mint as mint_approval
from boardroom.settings import Settings
from store.db import get_engine
from store.tables import Gate, Project, SpentToken
from tests.api.conftest import AppClient, Seed, running_app
from tests.api.test_cli_client import cli, serve
from tests.api.test_console import token_in
from tests.api.test_deliverables import PID, seed_work
from tests.waiting import eventually
from workers.worker import create_worker

pytestmark = pytest.mark.timeout(180)

ALICE_KEY = "k-alice-0123456789"
BOB_KEY = "k-bob-9876543210"
KEYS = f"alice:{ALICE_KEY},bob:{BOB_KEY}"
SAME_SITE = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
CROSS_SITE = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def login_link(http: httpx.AsyncClient, key: str = ALICE_KEY) -> str:
    resp = await http.post("/auth/login-links", headers=bearer(key))
    assert resp.status_code == 201, resp.text
    url: str = resp.json()["url"]
    return url


async def sign_in(http: httpx.AsyncClient, key: str = ALICE_KEY) -> str:
    """Open a fresh login link in this client (a browser): the session cookie's value."""
    opened = await http.get(await login_link(http, key))
    assert opened.status_code == 303 and opened.headers["location"] == "/", opened.text
    value = http.cookies.get(COOKIE)
    assert value, "no session cookie was set"
    return value


def as_cookie(value: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={value}"}


def assert_sign_in_page(resp: httpx.Response, reason: str = "") -> None:
    assert resp.status_code == 401, (resp.status_code, resp.text[:300])
    assert resp.headers["content-type"].startswith("text/html")
    assert "Sign in to Boardroom" in resp.text and "boardroom login-link" in resp.text
    assert "Signed in as" not in resp.text
    if reason:
        assert reason in resp.text, resp.text


# --- making a link --------------------------------------------------------------------------------


async def test_a_key_holder_makes_one_time_expiring_links(offline_api: AppClient, offline_settings: Settings) -> None:
    async with offline_api(api_keys=KEYS) as http:
        missing = await http.post("/auth/login-links")
        assert missing.status_code == 401 and missing.json()["detail"].startswith("missing bearer token")
        wrong = await http.post("/auth/login-links", headers=bearer("k-nobody-000000"))
        assert wrong.status_code == 401 and wrong.json() == {"detail": "invalid API key"}

        before = datetime.now(UTC)
        made = await http.post("/auth/login-links", headers=bearer(BOB_KEY))
        assert made.status_code == 201
        body = made.json()
        assert set(body) == {"url", "expires_at"}
        assert body["url"].startswith("http://testserver/auth/login/l1.")
        expires = datetime.fromisoformat(body["expires_at"])
        ttl = timedelta(seconds=offline_settings.login_link_ttl_s)
        assert before + ttl - timedelta(seconds=2) <= expires <= datetime.now(UTC) + ttl
        grant = verify_login(offline_settings, body["url"].rsplit("/", 1)[1], datetime.now(UTC))
        assert grant.principal == "bob" and grant.expires_at == expires
        assert BOB_KEY not in body["url"]
        another = await login_link(http, BOB_KEY)
        assert another != body["url"], "each call makes a new link"

        # A session cookie cannot make links: the JSON API takes the bearer key only.
        cookie = await sign_in(http)
        assert (await http.post("/auth/login-links", headers=as_cookie(cookie))).status_code == 401
    async with offline_api() as http:
        unneeded = await http.post("/auth/login-links")
        assert unneeded.status_code == 409 and "BOARDROOM_API_KEYS is not set" in unneeded.json()["detail"]


# --- opening it -----------------------------------------------------------------------------------


async def test_the_link_sets_a_signed_httponly_samesite_session_and_every_page_opens(
    offline_api: AppClient, offline_settings: Settings, seed: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = seed_work(seed)
    monkeypatch.setattr(live, "STREAM_S", 0.0)  # the live streams end at once, so the test reads them whole
    pages = [
        "/",
        "/inbox",
        "/new",
        f"/projects/{PID}/view",
        f"/projects/{PID}/view/cancel",
        f"/deliverables/{ids['v1']}/view",
        "/lessons/view",
        "/search/view?q=mugs",
    ]
    async with offline_api(api_keys=KEYS) as http:
        # Without a session a page answers the sign-in page; a JSON route answers JSON.
        for path in [*pages, f"/projects/{PID}/site/", "/events"]:
            assert_sign_in_page(await http.get(path))
        json_401 = await http.get("/projects")
        assert json_401.status_code == 401 and json_401.headers["content-type"] == "application/json"
        assert json_401.json()["detail"].startswith("missing bearer token")

        opened = await http.get(await login_link(http))
        assert opened.status_code == 303 and opened.headers["location"] == "/"
        assert opened.headers["cache-control"] == "no-store"
        set_cookie = opened.headers["set-cookie"]
        attributes = {part.strip().split("=")[0].lower() for part in set_cookie.split(";")}
        assert set_cookie.startswith(f"{COOKIE}=s1.")
        assert {"httponly", "path", "max-age"} <= attributes and "secure" not in attributes
        assert "SameSite=lax" in set_cookie and f"Max-Age={offline_settings.session_ttl_s}" in set_cookie

        for path in pages:
            page = await http.get(path)
            assert page.status_code == 200, (path, page.status_code, page.text[:300])
            assert "Signed in as alice" in page.text and 'action="/auth/logout"' in page.text, path
        site = await http.get(f"/projects/{PID}/site/")
        assert site.status_code == 200 and "<html" in site.text.lower()
        export = await http.get(f"/projects/{PID}/export.zip")
        assert export.status_code == 200 and export.headers["content-type"] == "application/zip"
        for stream in ("/events", f"/projects/{PID}/events"):
            events = await http.get(stream)
            assert events.status_code == 200 and events.headers["content-type"].startswith("text/event-stream")
            assert events.text.startswith("retry: ")

        # The JSON API still wants the key, cookie or not.
        for path in ("/projects", "/approvals", f"/deliverables/{ids['v1']}", "/lessons"):
            resp = await http.get(path)
            assert resp.status_code == 401 and resp.json()["detail"].startswith("missing bearer token"), path

        # A bearer on a page works as before, without the sign-out form.
        http.cookies.clear()
        with_key = await http.get("/", headers=bearer(BOB_KEY))
        assert with_key.status_code == 200 and "Signed in as" not in with_key.text


async def test_secure_cookie_when_the_public_url_is_https(offline_api: AppClient) -> None:
    async with offline_api(api_keys=KEYS, public_url="https://testserver") as http:
        link = await login_link(http)
        assert link.startswith("https://testserver/auth/login/")
        opened = await http.get(link)
    assert opened.status_code == 303
    attributes = [part.strip().lower() for part in opened.headers["set-cookie"].split(";")]
    assert "secure" in attributes and "httponly" in attributes and "samesite=lax" in attributes


async def test_the_session_acts_as_its_principal(offline_api: AppClient) -> None:
    async with offline_api(api_keys=KEYS) as http:
        await sign_in(http, BOB_KEY)
        page = await http.get("/lessons/view")
        assert "Signed in as bob" in page.text
        added = await http.post("/lessons/view", data={"text": "Quote prices in EUR"}, headers=SAME_SITE)
        assert added.status_code == 303, added.text
        http.cookies.clear()
        mine = (await http.get("/lessons", headers=bearer(BOB_KEY))).json()["items"]
        theirs = (await http.get("/lessons", headers=bearer(ALICE_KEY))).json()["items"]
    assert [lesson["text"] for lesson in mine] == ["Quote prices in EUR"]
    assert theirs == []


# --- single use -----------------------------------------------------------------------------------


async def test_a_link_signs_in_once_across_replicas_and_restarts(offline_settings: Settings) -> None:
    settings = offline_settings.model_copy(update={"api_keys": KEYS})
    async with running_app(settings) as (_, one), running_app(settings) as (_, two):
        # Two replicas on one database open the same link at the same moment: one wins.
        link = await login_link(one)
        first, second = await asyncio.gather(one.get(link), two.get(link))
        assert sorted([first.status_code, second.status_code]) == [303, 410]
        loser = second if second.status_code == 410 else first
        assert "set-cookie" not in loser.headers
        assert "Sign-in link already used" in loser.text and "boardroom login-link" in loser.text
        used_here = await one.get(link)
        assert used_here.status_code == 410
        other = await login_link(one)
        assert (await one.get(other)).status_code == 303
    async with running_app(settings) as (_, restarted):
        again = await restarted.get(other)
        assert again.status_code == 410 and "set-cookie" not in again.headers
    with Session(get_engine(settings.database_url)) as session:
        kinds = session.exec(select(SpentToken.kind, SpentToken.principal)).all()
    assert sorted(kinds) == [("login", "alice"), ("login", "alice")]


# --- bad links ------------------------------------------------------------------------------------


async def test_forged_expired_and_orphaned_links_set_nothing(
    offline_api: AppClient, offline_settings: Settings, seed: Seed
) -> None:
    settings = offline_settings.model_copy(update={"api_keys": KEYS})
    now = datetime.now(UTC)
    genuine, _ = mint_login(settings, "alice", ALICE_KEY, now)
    version, payload, signature = genuine.split(".")
    as_bob = mint_login(settings, "bob", BOB_KEY, now)[0].split(".")[1]
    other_secret, _ = mint_login(settings.model_copy(update={"secret_key": "another-secret"}), "alice", ALICE_KEY, now)
    session_value, _ = mint_session(settings, mint_login(settings, "alice", ALICE_KEY, now)[1], now)
    seed.project()
    gate = seed.gate()
    approval = mint_approval(settings.secret_key, gate.id, gate.approver, gate.created_at)
    forged = {
        "another principal under alice's signature": f"{version}.{as_bob}.{signature}",
        "signed with another secret": other_secret,
        "a session cookie": session_value,
        "an approval link": approval,
        "garbage": "not-a-token",
        "bad base64": f"{version}.{payload}.%%%",
        "huge": "l1." + "A" * 5000 + ".x",
    }
    expired, _ = mint_login(settings, "alice", ALICE_KEY, now - timedelta(seconds=settings.login_link_ttl_s + 5))
    async with offline_api(api_keys=KEYS) as http:
        for what, token in forged.items():
            resp = await http.get(f"/auth/login/{token}")
            assert resp.status_code == 403, (what, resp.status_code)
            assert resp.headers["content-type"].startswith("text/html") and "Sign-in link not valid" in resp.text
            assert "set-cookie" not in resp.headers, what
        late = await http.get(f"/auth/login/{expired}")
        assert late.status_code == 410 and "Sign-in link expired" in late.text and "expired at" in late.text
        assert "set-cookie" not in late.headers
        assert_sign_in_page(await http.get("/"))
    # A link made for a key that is no longer configured signs no one in.
    async with offline_api(api_keys=f"bob:{BOB_KEY}") as http:
        orphan = await http.get(f"/auth/login/{genuine}")
        assert orphan.status_code == 403 and "no longer configured" in orphan.text
        assert "set-cookie" not in orphan.headers
    # ...and with no keys at all, neither.
    async with offline_api() as http:
        assert (await http.get(f"/auth/login/{genuine}")).status_code == 403
    with Session(get_engine(settings.database_url)) as session:
        assert session.exec(select(SpentToken)).all() == [], "a refused link must not be spent"


# --- sessions that end ----------------------------------------------------------------------------


async def test_sessions_end_with_their_key_their_expiry_or_a_forgery(offline_settings: Settings) -> None:
    settings = offline_settings.model_copy(update={"api_keys": KEYS})
    async with running_app(settings) as (_, http):
        alice = await sign_in(http)
        assert (await http.get("/")).status_code == 200
    # alice's key removed: her session stops; bob's key unchanged.
    async with running_app(settings.model_copy(update={"api_keys": f"bob:{BOB_KEY}"})) as (_, http):
        assert_sign_in_page(await http.get("/", headers=as_cookie(alice)), "no longer configured")
    # alice's key replaced by a new one: sessions made with the old one stop too.
    async with running_app(settings.model_copy(update={"api_keys": f"alice:k-alice-rotated-00,bob:{BOB_KEY}"})) as (
        _,
        http,
    ):
        assert_sign_in_page(await http.get("/inbox", headers=as_cookie(alice)), "no longer configured")
    async with running_app(settings) as (_, http):
        assert (await http.get("/", headers=as_cookie(alice))).status_code == 200
        now = datetime.now(UTC)
        login = mint_login(settings, "alice", ALICE_KEY, now - timedelta(hours=13))[1]
        stale, _ = mint_session(settings, login, now - timedelta(seconds=settings.session_ttl_s + 5))
        assert_sign_in_page(await http.get("/", headers=as_cookie(stale)), "Your session has expired")
        other = settings.model_copy(update={"secret_key": "another-secret"})
        foreign, _ = mint_session(other, mint_login(other, "alice", ALICE_KEY, now)[1], now)
        assert_sign_in_page(await http.get("/", headers=as_cookie(foreign)), "not issued by this Boardroom")
        tampered = alice[:-4] + ("AAAA" if not alice.endswith("AAAA") else "BBBB")
        assert_sign_in_page(await http.get("/", headers=as_cookie(tampered)))


async def test_sign_out_ends_the_session_on_the_server_too(offline_api: AppClient) -> None:
    async with offline_api(api_keys=KEYS) as http:
        cookie = await sign_in(http)
        page = (await http.get("/inbox")).text
        token = token_in(page, "/auth/logout")

        # Not from our page: refused, still signed in.
        forged = await http.post("/auth/logout", data={"form_token": "1700000000.deadbeef"}, headers=SAME_SITE)
        assert forged.status_code == 403 and "set-cookie" not in forged.headers
        cross = await http.post("/auth/logout", data={"form_token": token}, headers=CROSS_SITE)
        assert cross.status_code == 403 and "set-cookie" not in cross.headers
        assert (await http.get("/")).status_code == 200

        out = await http.post("/auth/logout", data={"form_token": token}, headers=SAME_SITE)
        assert out.status_code == 303 and out.headers["location"] == "/auth/signed-out"
        assert out.headers["set-cookie"].startswith(f'{COOKIE}=""') and "Max-Age=0" in out.headers["set-cookie"]
        assert http.cookies.get(COOKIE) is None
        signed_out = await http.get("/auth/signed-out")
        assert signed_out.status_code == 200 and "Signed out" in signed_out.text
        assert "This browser&#39;s session has ended." in signed_out.text
        assert "boardroom login-link" in signed_out.text
        assert_sign_in_page(await http.get("/"))
        # A copy of the cookie kept from before is dead as well.
        assert_sign_in_page(await http.get("/", headers=as_cookie(cookie)), "You signed out of this session")
        # Signing out again (an old tab) is harmless.
        again = await http.post("/auth/logout", data={"form_token": token}, headers=SAME_SITE)
        assert again.status_code == 303
        # A new link signs in again.
        await sign_in(http)
        assert "Signed in as alice" in (await http.get("/")).text


# --- cross-site posts -----------------------------------------------------------------------------


async def test_cross_site_form_posts_with_a_session_change_nothing(
    offline_api: AppClient, seed: Seed, db_url: str
) -> None:
    seed.project()
    async with offline_api(api_keys=KEYS) as http:
        await sign_in(http)
        new_token = token_in((await http.get("/new")).text, "/new")
        steer_token = token_in(
            (await http.get("/projects/p-seed00000001/view")).text, "/projects/p-seed00000001/view/steer"
        )
        posts: list[tuple[str, dict[str, Any]]] = [
            ("/new", {"goal": "Sell mugs to cafés", "form_token": new_token}),
            ("/projects/p-seed00000001/view/steer", {"instruction": "Stop everything", "form_token": steer_token}),
            ("/lessons/view", {"text": "Never discount"}),
        ]
        for headers in (
            CROSS_SITE,
            {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
            {"Origin": "https://evil.example"},
        ):
            for path, data in posts:
                resp = await http.post(path, data=data, headers=headers)
                assert resp.status_code == 403, (path, headers, resp.status_code)
                assert "cross-site request refused" in resp.json()["detail"]
        # Same site, but a form that was not served by us: refused too.
        stale = await http.post(
            "/new", data={"goal": "Sell mugs", "form_token": "1700000000.deadbeef"}, headers=SAME_SITE
        )
        assert stale.status_code == 403 and "did not come from this Boardroom page" in stale.text
        http.cookies.clear()
        lessons = (await http.get("/lessons", headers=bearer(ALICE_KEY))).json()["items"]
    assert lessons == []
    with Session(get_engine(db_url)) as session:
        rows = session.exec(select(Project)).all()
    assert [(p.id, p.state) for p in rows] == [("p-seed00000001", None)]


# --- approval links -------------------------------------------------------------------------------


async def test_approval_links_open_without_signing_in(
    offline_api: AppClient, offline_settings: Settings, seed: Seed
) -> None:
    seed.project()
    gate = seed.gate()
    url = links.approve_url(offline_settings, gate.id, gate.approver, gate.created_at)
    async with offline_api(client_host="10.1.2.3", api_keys=KEYS) as http:
        page = await http.get(url)
        assert_sign_in_page(await http.get("/"))
    assert page.status_code == 200, page.text[:300]
    assert gate.title in page.text and 'name="decision"' in page.text
    assert "Sign in" not in page.text


# --- the console with a session, live --------------------------------------------------------------


@asynccontextmanager
async def worker(dev_env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[None]:
    async with create_worker(dev_env.client, settings, task_queue=settings.task_queue):
        yield


async def test_console_forms_with_a_session_act_as_its_principal(
    dev_env: WorkflowEnvironment, live_settings: Settings, live_api: AppClient
) -> None:
    settings = live_settings.model_copy(update={"api_keys": KEYS})
    async with worker(dev_env, settings), live_api(api_keys=KEYS) as http:
        await sign_in(http)
        token = token_in((await http.get("/new")).text, "/new")
        created = await http.post(
            "/new", data={"goal": "Sell tea bowls to tea houses", "form_token": token}, headers=SAME_SITE
        )
        assert created.status_code == 303, created.text
        pid = created.headers["location"].split("/")[2]
        engine = get_engine(settings.database_url)
        try:

            async def interview() -> Gate | None:
                with Session(engine) as session:
                    return session.get(Gate, f"{pid}-g1")

            gate = await eventually(interview, "the interview gate")
            with Session(engine) as session:
                project = session.get(Project, pid)
            assert project is not None and project.owner == "alice"
            action = f"/inbox/{gate.id}/decide"
            inbox = await eventually(
                lambda: _page_with(http, f"/inbox?project={pid}", action), "the interview in the inbox"
            )
            decided = await http.post(
                action, data={"decision": "approve", "form_token": token_in(inbox, action)}, headers=SAME_SITE
            )
            assert decided.status_code == 303, decided.text

            async def recorded() -> dict[str, Any] | None:
                resp = await http.get(f"/approvals/{gate.id}", headers=bearer(ALICE_KEY))
                body: dict[str, Any] = resp.json()
                return body if body["status"] != "pending" else None

            result = await eventually(recorded, "the decision")
            assert (result["status"], result["decided_by"], result["channel"]) == ("approved", "alice", "web")
        finally:
            await http.post(f"/projects/{pid}/cancel", headers=bearer(ALICE_KEY))


async def _page_with(http: httpx.AsyncClient, path: str, needle: str) -> str | None:
    html = (await http.get(path)).text
    return html if needle in html else None


async def test_cli_login_link(
    offline_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = offline_settings.model_copy(update={"api_keys": KEYS})
    async with serve(settings) as url:
        monkeypatch.setenv("BOARDROOM_API_URL", url)
        monkeypatch.delenv("BOARDROOM_API_KEY", raising=False)
        assert await cli("login-link") == 2
        assert capsys.readouterr().err.strip().startswith("boardroom: set BOARDROOM_API_KEY")

        monkeypatch.setenv("BOARDROOM_API_KEY", "k-wrong-000000")
        assert await cli("login-link") == 2
        assert capsys.readouterr().err.strip() == "boardroom: POST /auth/login-links: 401 invalid API key"

        monkeypatch.setenv("BOARDROOM_API_KEY", BOB_KEY)
        assert await cli("login-link") == 0
        captured = capsys.readouterr()
        link = captured.out.strip()
        assert re.fullmatch(r"http://testserver/auth/login/l1\.[\w-]+\.[\w-]+", link), link
        assert "signs in once" in captured.err and BOB_KEY not in captured.out + captured.err
        path = link.removeprefix("http://testserver")
        async with httpx.AsyncClient(base_url=url) as browser:
            opened = await browser.get(path)
            assert opened.status_code == 303 and opened.cookies.get(COOKIE)
            assert "Signed in as bob" in (await browser.get("/")).text
    async with serve(offline_settings) as url:
        monkeypatch.setenv("BOARDROOM_API_URL", url)
        assert await cli("login-link") == 2
        assert "409 sign-in is not needed" in capsys.readouterr().err
