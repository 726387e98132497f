"""ASGI middleware that guards every route before it runs: body size limits, allowed hosts and
the Origin of state-changing requests, and the security headers of every response.

Pure ASGI (no BaseHTTPMiddleware): the body limit must count bytes while they stream in and stop
at the limit, without buffering the body first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from fastapi import HTTPException, status
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from boardroom.settings import Settings

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# Probes (Kubernetes, load balancers) call these with the pod's address as Host; they reveal nothing.
HOST_EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

# HTML pages load their stylesheet and the live-update script from /static and nothing else: no inline
# script, no third party; the script's EventSource and fetch go to this origin only.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# Everything that is not a page (JSON, CSS, metrics) may not be framed or run anything either.
OTHER_CSP = "default-src 'none'; frame-ancestors 'none'"
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def send_json(send: Send, code: int, detail: str, *, close: bool = False) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# --- body size -------------------------------------------------------------------------------


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes its limit. An HTTPException, so FastAPI's
    body parsing re-raises it as it is and the app answers 413 JSON; the connection is closed so
    the client stops sending."""

    def __init__(self, limit: int, what: str) -> None:
        super().__init__(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"request body too large: {what} accept at most {limit} bytes",
            headers={"Connection": "close"},
        )


class BodyLimitMiddleware:
    """Refuses a body past its route's limit before reading it (Content-Length), or as soon as
    the streamed bytes pass it (chunked bodies with no Content-Length)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.limits: list[tuple[str, int, str]] = [
            ("/webhooks/", settings.max_webhook_body_bytes, "webhooks"),
            ("/slack/", settings.max_webhook_body_bytes, "Slack interactions"),
            ("/codec/", settings.max_codec_body_bytes, "codec requests"),
            ("/a/", settings.max_form_body_bytes, "approval forms"),
        ]
        self.default = (settings.max_body_bytes, "JSON API requests")

    def limit_for(self, path: str) -> tuple[int, str]:
        for prefix, limit, what in self.limits:
            if path.startswith(prefix):
                return limit, what
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, what = self.limit_for(scope["path"])
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await send_json(send, status.HTTP_400_BAD_REQUEST, "Content-Length is not a number", close=True)
                return
            if int(declared) > limit:
                await send_json(send, 413, BodyTooLarge(limit, what).detail, close=True)
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit, what)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as exc:
            # Reached here only where no handler turned it into a response (e.g. a raw ASGI route).
            if started:
                raise
            await send_json(send, exc.status_code, exc.detail, close=True)


# --- hosts and origins -----------------------------------------------------------------------


def host_name(host_header: str) -> str:
    """`example.com:8000` → `example.com`; `[::1]:8000` → `::1`; lowercased."""
    value = host_header.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def origin_of(url: str) -> str:
    """scheme://host[:port] with the default port dropped, as browsers send `Origin`."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        return ""
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def allowed_hosts(settings: Settings) -> list[str]:
    public = urlsplit(settings.public_url).hostname
    return sorted({*LOOPBACK_HOSTS, *([public.lower()] if public else []), *settings.allowed_host_list})


def host_allowed(name: str, allowed: Iterable[str]) -> bool:
    for pattern in allowed:
        if pattern == "*" or pattern == name:
            return True
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
    return False


class HostOriginMiddleware:
    """400 for a Host this instance does not serve (DNS rebinding: a page that resolves its own
    name to 127.0.0.1 is same-origin with us, but its Host header names it); 403 for a
    state-changing request a browser sends from another site (cross-site form posts)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.hosts = allowed_hosts(settings)
        self.public_origin = origin_of(settings.public_url)
        # The Temporal UI calls the codec from its own origin (CORS allows it there only).
        self.codec_origin = origin_of(settings.temporal_ui_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host")
        if scope["path"] not in HOST_EXEMPT_PATHS:
            name = host_name(host or "")
            if not name or not host_allowed(name, self.hosts):
                await send_json(
                    send,
                    status.HTTP_400_BAD_REQUEST,
                    f"host {name or '(none)'!r} is not served here (allowed: loopback, the host of "
                    "BOARDROOM_PUBLIC_URL and BOARDROOM_ALLOWED_HOSTS)",
                )
                return
        if scope["method"] not in SAFE_METHODS and not self._origin_ok(scope, host or ""):
            await send_json(send, status.HTTP_403_FORBIDDEN, "cross-site request refused (Origin is not this site)")
            return
        await self.app(scope, receive, send)

    def _origin_ok(self, scope: Scope, host: str) -> bool:
        origin = (_header(scope, b"origin") or "").strip()
        if origin and origin.lower() != "null":
            trusted = {self.public_origin, origin_of(f"{scope.get('scheme', 'http')}://{host}")}
            if scope["path"].startswith("/codec/"):
                trusted.add(self.codec_origin)
            return origin_of(origin) in trusted
        # Our pages send `Referrer-Policy: no-referrer`, under which a browser's own form post
        # carries `Origin: null`; Fetch Metadata (a header pages cannot forge) tells where it came
        # from. A request with neither header is not from a browser (the CLI, webhooks).
        site = (_header(scope, b"sec-fetch-site") or "").strip().lower()
        if site:
            return site in ("same-origin", "none")
        return not origin


# --- response headers ------------------------------------------------------------------------


class SecurityHeadersMiddleware:
    """nosniff, no referrer, no framing on every response; the page CSP on HTML. A route that
    sets its own Content-Security-Policy keeps it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {key.lower() for key, _ in headers}
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                csp = PAGE_CSP if content_type.startswith(b"text/html") else OTHER_CSP
                extra = [*SECURITY_HEADERS, (b"content-security-policy", csp.encode())]
                headers += [(k, v) for k, v in extra if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
