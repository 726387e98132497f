"""A fake OpenAI-compatible HTTP server: real sockets on loopback, scripted replies, every request kept.

The `openai` client runs unmodified against it (`base_url=fake.base_url`), so tests see the real
request shape (model, messages, response_format JSON schema, headers) and the real error handling
of the client library. Replies are scripted in order (`fake.script(...)`): chat completions with a
usage block, HTTP errors (429, 500, 401, …), malformed content, slow answers. Unscripted requests
get a 500 that says so. The server picks a free port by binding port 0, listens on 127.0.0.1 only,
and stops on leaving the `with` block — or by itself after `lifetime_s`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from pydantic import BaseModel


@dataclass
class RecordedRequest:
    """One request as the fake server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def bearer(self) -> str:
        return self.headers.get("authorization", "").removeprefix("Bearer ")

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.json().get("messages", []))

    @property
    def model(self) -> str:
        return str(self.json().get("model", ""))

    @property
    def response_format(self) -> dict[str, Any]:
        return dict(self.json().get("response_format") or {})


@dataclass
class Reply:
    """What the fake answers: a status, a JSON (dict/list) or raw (str/bytes) body, headers, a delay."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


Scripted = Reply | Callable[[RecordedRequest], Reply]


def chat_completion(
    content: str | dict[str, Any] | BaseModel | None,
    *,
    model: str = "gpt-4o-mini",
    prompt_tokens: int = 120,
    completion_tokens: int = 60,
    cached_tokens: int = 0,
    refusal: str | None = None,
    finish_reason: str = "stop",
    usage: bool = True,
) -> Reply:
    """A `chat.completion` object as OpenAI returns it, with a usage block unless `usage=False`."""
    if isinstance(content, BaseModel):
        text: str | None = content.model_dump_json()
    elif isinstance(content, dict):
        text = json.dumps(content)
    else:
        text = content
    body: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": refusal},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "system_fingerprint": "fp_fake",
    }
    if usage:
        body["usage"] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        }
    return Reply(200, body)


def api_error(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """An error in OpenAI's envelope: {"error": {"message", "type", "param", "code"}}."""
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return Reply(status, body, headers or {})


def rate_limited(retry_after_s: int = 1) -> Reply:
    return api_error(
        429,
        "Rate limit reached for requests",
        type_="requests",
        code="rate_limit_exceeded",
        headers={"retry-after": str(retry_after_s)},
    )


def server_error() -> Reply:
    return api_error(500, "The server had an error while processing your request.", type_="server_error")


def bad_key(request: RecordedRequest) -> Reply:
    """401 that echoes the key back, as OpenAI does (partly masked there; in full here, to prove
    that the activity never repeats it)."""
    return api_error(
        401, f"Incorrect API key provided: {request.bearer}.", type_="invalid_request_error", code="invalid_api_key"
    )


class FakeOpenAI:
    """`with FakeOpenAI() as fake:` serves an OpenAI-compatible API on `fake.base_url`."""

    def __init__(self, *, lifetime_s: float = 60.0) -> None:
        self.requests: list[RecordedRequest] = []
        self.lifetime_s = lifetime_s
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    # --- scripting ----------------------------------------------------------------------------

    def script(self, *replies: Scripted) -> None:
        """Queue replies; each request takes the next one (a callable gets the request)."""
        with self._lock:
            self._script.extend(replies)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._script)

    def chat_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def _next(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            scripted = self._script.popleft() if self._script else None
        if scripted is None:
            return api_error(500, f"fake OpenAI server: no reply scripted for {request.method} {request.path}")
        return scripted(request) if callable(scripted) else scripted

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._server is not None, "the fake server is not running"
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/v1"

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                request = RecordedRequest(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                reply = fake._next(request)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if isinstance(reply.body, bytes):
                    payload, content_type = reply.body, "application/octet-stream"
                elif isinstance(reply.body, str):
                    payload, content_type = reply.body.encode(), "text/plain"
                else:
                    payload, content_type = json.dumps(reply.body).encode(), "application/json"
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", content_type)
                    self.send_header("content-length", str(len(payload)))
                    self.send_header("x-request-id", f"req_fake_{len(fake.requests)}")
                    # One request per connection: no pooled sockets outlive a test.
                    self.send_header("connection", "close")
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test): nothing to answer

            do_POST = _handle
            do_GET = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        server.timeout = 5
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )
        self._thread.start()
        # Stops by itself even if a test forgets to: no fake outlives its usefulness.
        self._timer = threading.Timer(self.lifetime_s, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if self._timer is not None:
            self._timer.cancel()
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def fake_openai(lifetime_s: float = 60.0) -> Iterator[FakeOpenAI]:
    with FakeOpenAI(lifetime_s=lifetime_s) as fake:
        yield fake
