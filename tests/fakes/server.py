"""A tiny threaded HTTP server on loopback for protocol fakes (Stripe, GitHub, Slack).

Real sockets, a port chosen by binding 0, started and stopped by a context manager, every
request recorded. Subclasses register routes as (method, regex) → handler.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass
class Recorded:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Recorded, re.Match[str]], Reply]


class FakeServer:
    """Base class: `with Fake() as fake:` serves on `fake.base_url` until the block ends."""

    # Bounds every socket operation of a connection, so a stuck client cannot hang a test.
    socket_timeout_s = 10.0

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.lock = threading.RLock()
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._failures: list[tuple[str | None, str | None, Reply]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- configuration -------------------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method, re.compile(f"^{pattern}$"), handler))

    def fail_next(
        self, status: int, body: Any = None, *, times: int = 1, method: str | None = None, path: str | None = None
    ) -> None:
        """The next `times` requests (matching method and path regex, when given) get this reply
        instead of being handled: a provider outage or a crash in the middle of a sequence."""
        with self.lock:
            self._failures.extend((method, path, Reply(status, body)) for _ in range(times))

    def _injected_failure(self, rec: Recorded) -> Reply | None:
        for i, (method, path, reply) in enumerate(self._failures):
            if (method is None or method == rec.method) and (path is None or re.fullmatch(path, rec.path)):
                del self._failures[i]
                return reply
        return None

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        with self.lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and (path is None or re.fullmatch(path, r.path))
            ]

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._server is not None, "the fake is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            timeout = fake.socket_timeout_s

            def _serve(self) -> None:
                fake._dispatch(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @classmethod
    def running(cls, *args: Any, **kwargs: Any) -> Iterator[Self]:
        """For fixtures: `yield from Fake.running()`."""
        with cls(*args, **kwargs) as fake:
            yield fake

    # -- request handling ----------------------------------------------------------------

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        rec = Recorded(
            method=h.command,
            path=urllib.parse.unquote(parsed.path),
            query=urllib.parse.parse_qs(parsed.query),
            headers={k.lower(): v for k, v in h.headers.items()},
            body=body,
        )
        with self.lock:
            self.requests.append(rec)
            reply = self._injected_failure(rec) or self._handle(rec)
        self._send(h, reply)

    def _handle(self, rec: Recorded) -> Reply:
        for method, pattern, handler in self._routes:
            if method == rec.method and (m := pattern.match(rec.path)):
                return handler(rec, m)
        return self.not_found(rec)

    def not_found(self, rec: Recorded) -> Reply:
        return Reply(404, {"message": f"no route for {rec.method} {rec.path}"})

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, reply: Reply) -> None:
        payload = b"" if reply.body is None else json.dumps(reply.body).encode()
        h.send_response(reply.status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(payload)
