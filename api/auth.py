"""Bearer API keys (BOARDROOM_API_KEYS); with none configured, loopback clients only.

Each key has a name (`alice:KEY`): the caller is that principal, and a decision it takes is
recorded under that name — whatever the request body says. A bare key (the older form) is the
default owner, `ceo`. A loopback client with no keys configured is the owner of every project.

Signed endpoints (approval links, Slack, webhooks) do not use this: their signature is the
credential. Keys are never logged.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from approvals.policy import normalize_approver
from boardroom.settings import DEFAULT_PRINCIPAL, Settings

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


def authenticate(request: Request) -> Principal:
    """Dependency for the JSON APIs and the dashboard: the calling principal, or 401/403."""
    settings: Settings = request.app.state.settings
    principals = settings.api_principals
    if not principals:
        host = request.client.host if request.client else None
        if not is_loopback(host):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "BOARDROOM_API_KEYS is not set: this API answers loopback clients only",
            )
        return Principal(DEFAULT_PRINCIPAL, owner=True)
    token = bearer_token(request)
    if token is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token (Authorization: Bearer <key>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    name = match_key(token, [(name, key) for name, key in principals])
    if name is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid API key", headers={"WWW-Authenticate": "Bearer"})
    return Principal(name)


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def warn_if_open(settings: Settings) -> None:
    if not settings.api_key_list:
        log.warning("BOARDROOM_API_KEYS is not set: the JSON API and dashboard answer loopback clients only")
