"""Bearer API keys (BOARDROOM_API_KEYS); with none configured, loopback clients only.

Each key has a name (`alice:KEY`): the caller is that principal, and a decision it takes is
recorded under that name — whatever the request body says. A bare key (the older form) is the
default owner, `ceo`. A loopback client with no keys configured is the owner of every project.

Browser pages (routes of class `BrowserRoute`: the dashboard, the console and its form posts,
deliverable pages, the live streams) also take the session cookie a one-time login link sets
(api.signin, api.routers.session), and answer a missing credential with the sign-in page rather
than JSON. JSON routes never take the cookie: a page on another origin of the same site (the
Temporal UI, which CORS lets read answers) cannot use a browser's session there.

Signed endpoints (approval links, Slack, webhooks) do not use this: their signature is the
credential. Keys are never logged.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.routing import APIRoute

from api.forms import form_token
from api.signin import COOKIE, SessionInvalid, session_token_id, verify_session
from approvals.policy import normalize_approver
from boardroom.settings import DEFAULT_PRINCIPAL, Settings
from store.tokens import is_spent

log = logging.getLogger("boardroom.api")


@dataclass(frozen=True)
class Principal:
    """Who is calling. `owner`: the local user of an instance without keys, who decides as
    each gate's own approver; otherwise decisions are taken as `name`."""

    name: str
    owner: bool = False

    def acts_as(self, approver: str | None) -> str:
        """The approver a decision by this principal is recorded under."""
        if self.owner and approver:
            return approver
        return self.name

    def may_claim(self, claimed: str, approver: str | None = None) -> bool:
        """Whether a name sent in a body is this principal (compared normalised)."""
        return normalize_approver(claimed) == normalize_approver(self.acts_as(approver))


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def key_matches(presented: str, keys: list[str]) -> bool:
    """Constant-time comparison against every configured key (no early exit on a match)."""
    return match_key(presented, [(key, key) for key in keys]) is not None


def match_key(presented: str, named: list[tuple[str, str]]) -> str | None:
    """The name of the key that matches, compared in constant time against every key."""
    found: str | None = None
    for name, key in named:
        if hmac.compare_digest(presented.encode(), key.encode()) and found is None:
            found = name
    return found


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


SIGN_IN = "sign in to open this page"


class BrowserRoute(APIRoute):
    """A route a browser opens (`APIRouter(route_class=BrowserRoute)`): it accepts the session
    cookie besides the bearer key, and answers a missing credential with an HTML page."""


class SignInRequired(HTTPException):
    """Raised for a browser route: the app renders it as the sign-in (401) or refusal (403) page."""


@dataclass(frozen=True)
class SignedIn:
    """A browser signed in by session cookie, as the page header shows it (with its sign-out form)."""

    name: str
    form_token: str


def is_browser_route(request: Request) -> bool:
    return isinstance(request.scope.get("route"), BrowserRoute)


def _refuse(browser: bool, code: int, detail: str) -> HTTPException:
    headers = {"WWW-Authenticate": "Bearer"} if code == status.HTTP_401_UNAUTHORIZED else None
    return (SignInRequired if browser else HTTPException)(code, detail, headers=headers)


def _session_principal(request: Request, settings: Settings) -> Principal:
    """The principal of the request's session cookie; SignInRequired (401) with the reason."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        raise _refuse(True, status.HTTP_401_UNAUTHORIZED, SIGN_IN)
    try:
        name, grant = verify_session(settings, cookie, datetime.now(UTC))
    except SessionInvalid as exc:
        raise _refuse(True, status.HTTP_401_UNAUTHORIZED, str(exc)) from None
    if is_spent(request.app.state.engine, session_token_id(grant)):
        raise _refuse(True, status.HTTP_401_UNAUTHORIZED, "you signed out of this session")
    request.state.signed_in = SignedIn(name=name, form_token=form_token(settings, "sign-out"))
    return Principal(name)


def authenticate(request: Request) -> Principal:
    """Dependency for the JSON APIs and the pages: the calling principal, or 401/403. Browser
    routes take the session cookie too (only when no Authorization header is sent)."""
    settings: Settings = request.app.state.settings
    browser = is_browser_route(request)
    principals = settings.api_principals
    if not principals:
        host = request.client.host if request.client else None
        if not is_loopback(host):
            raise _refuse(
                browser,
                status.HTTP_403_FORBIDDEN,
                "BOARDROOM_API_KEYS is not set: this API answers loopback clients only",
            )
        return Principal(DEFAULT_PRINCIPAL, owner=True)
    token = bearer_token(request)
    if token is None:
        if browser:
            return _session_principal(request, settings)
        raise _refuse(False, status.HTTP_401_UNAUTHORIZED, "missing bearer token (Authorization: Bearer <key>)")
    name = match_key(token, [(name, key) for name, key in principals])
    if name is None:
        raise _refuse(browser, status.HTTP_401_UNAUTHORIZED, "invalid API key")
    return Principal(name)


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def warn_if_open(settings: Settings) -> None:
    if not settings.api_key_list:
        log.warning("BOARDROOM_API_KEYS is not set: the JSON API and dashboard answer loopback clients only")
