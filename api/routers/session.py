"""Sign in from a browser when BOARDROOM_API_KEYS is set (api.signin has the tokens).

A key holder makes a one-time login link (`POST /auth/login-links`, `boardroom login-link`);
opening it spends the link and sets the session cookie (signed, HttpOnly, SameSite=Lax, Secure
when the public URL is https) that the pages accept in place of the bearer key. The page header's
sign-out form ends the session on the server too. Approval links need none of this.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import SIGN_IN, PrincipalDep, SignInRequired, bearer_token
from api.deps import EngineDep, SettingsDep
from api.forms import form_token_ok
from api.routers.pages import error_page, templates
from api.schemas import LoginLinkOut, errors
from api.signin import (
    COOKIE,
    SessionInvalid,
    cookie_secure,
    login_token_id,
    login_url,
    mint_login,
    mint_session,
    principal_for,
    read_session,
    session_token_id,
    verify_login,
)
from approvals.tokens import TokenError
from boardroom.settings import Settings
from store.tokens import spend

router = APIRouter(prefix="/auth", tags=["auth"])
pages = APIRouter(prefix="/auth", tags=["pages"], include_in_schema=False)

SIGNED_OUT = "/auth/signed-out"
NEW_LINK = "Ask for a new one: run boardroom login-link where your API key (BOARDROOM_API_KEY) is set."


@router.post(
    "/login-links",
    response_model=LoginLinkOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(401, 403, 409),
)
def create_login_link(request: Request, settings: SettingsDep, principal: PrincipalDep) -> LoginLinkOut:
    """A one-time sign-in link for a browser, bound to the caller's key and principal; it expires
    after BOARDROOM_LOGIN_LINK_TTL_S. Not idempotent: every call makes a new link."""
    key = bearer_token(request)
    if not settings.api_principals or key is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "sign-in is not needed: BOARDROOM_API_KEYS is not set, so the pages answer loopback browsers as they are",
        )
    token, grant = mint_login(settings, principal.name, key, datetime.now(UTC))
    return LoginLinkOut(url=login_url(settings, token), expires_at=grant.expires_at)


def _set_session(response: Response, settings: Settings, value: str) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=settings.session_ttl_s,
        path="/",
        secure=cookie_secure(settings),
        httponly=True,
        samesite="lax",
    )


@pages.get("/login/{token}", response_class=HTMLResponse)
async def open_login_link(request: Request, token: str, settings: SettingsDep, engine: EngineDep) -> Response:
    """Spend the link and sign this browser in (303 to the dashboard with the session cookie).
    Forged → 403, expired or already used → 410; nothing is set then."""
    now = datetime.now(UTC)
    try:
        grant = verify_login(settings, token, now)
    except TokenError as exc:
        title = "Sign-in link not valid" if exc.status_code == status.HTTP_403_FORBIDDEN else "Sign-in link expired"
        return error_page(request, exc.status_code, title, str(exc), hint=NEW_LINK)
    name = principal_for(settings, grant)
    if name is None:
        return error_page(
            request,
            status.HTTP_403_FORBIDDEN,
            "Sign-in link not valid",
            "The API key this link was made for is no longer configured on this Boardroom.",
            hint=NEW_LINK,
        )
    if not await run_in_threadpool(spend, engine, login_token_id(grant), "login", name, grant.expires_at):
        return error_page(
            request,
            status.HTTP_410_GONE,
            "Sign-in link already used",
            "This sign-in link was already opened; each link signs in one browser, once.",
            hint=NEW_LINK,
        )
    cookie, _session = mint_session(settings, grant, now)
    response = RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER, headers={"Cache-Control": "no-store"})
    _set_session(response, settings, cookie)
    return response


@pages.post("/logout", response_class=HTMLResponse)
async def sign_out(request: Request, settings: SettingsDep, engine: EngineDep) -> Response:
    """End this browser's session: the session id is recorded as spent (a copy of the cookie stops
    working too) and the cookie is cleared; then the signed-out page (303)."""
    form = await request.form()
    token = form.get("form_token")
    if not isinstance(token, str) or not form_token_ok(settings, "sign-out", token):
        return error_page(
            request,
            status.HTTP_403_FORBIDDEN,
            "Form not accepted",
            "This sign-out form did not come from this Boardroom page (or it is older than 12 hours). "
            "Reload the page and sign out again.",
        )
    cookie = request.cookies.get(COOKIE)
    if cookie:
        try:
            grant = read_session(settings, cookie)
        except SessionInvalid:
            grant = None
        if grant is not None and grant.expires_at > datetime.now(UTC):
            await run_in_threadpool(
                spend, engine, session_token_id(grant), "session", grant.principal, grant.expires_at
            )
    response = RedirectResponse(SIGNED_OUT, status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(COOKIE, path="/", secure=cookie_secure(settings), httponly=True, samesite="lax")
    return response


def _sign_in_page(request: Request, settings: Settings, code: int, title: str, reason: str) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "signin.html",
        {
            "code": code,
            "title": title,
            "reason": reason,
            "keys": bool(settings.api_principals),
            "ttl_min": settings.login_link_ttl_s // 60,
            "public_url": settings.public_url.rstrip("/"),
        },
        status_code=code,
        headers={"Cache-Control": "no-store"},
    )


@pages.get("/signed-out", response_class=HTMLResponse)
def signed_out(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Where sign-out lands: how to sign in again."""
    return _sign_in_page(request, settings, status.HTTP_200_OK, "Signed out", "this browser's session has ended")


async def sign_in_required(request: Request, exc: Exception) -> HTMLResponse:
    """The answer of a browser route without a usable credential: the sign-in page (401) with the
    reason, or the refusal (403) as a page — JSON routes answer these as JSON."""
    assert isinstance(exc, SignInRequired)
    settings: Settings = request.app.state.settings
    if exc.status_code != status.HTTP_401_UNAUTHORIZED:
        return error_page(request, exc.status_code, "Not allowed", str(exc.detail))
    reason = "" if exc.detail == SIGN_IN else str(exc.detail)
    page = _sign_in_page(request, settings, exc.status_code, "Sign in to Boardroom", reason)
    page.headers.update(exc.headers or {})
    return page
