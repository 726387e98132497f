"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives.

`with FakeSMTP() as smtp:` serves on `smtp.host:smtp.port` until the block ends. Optional login
(AUTH PLAIN / LOGIN with one username and password, without TLS: loopback only) and injected
answers to DATA (`fail_next("451 4.3.0 try again later")`).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass
class Received:
    """One message as the server took it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    login: str | None

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return str(body.get_content())  # type: ignore[attr-defined]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeSMTP:
    def __init__(self, username: str | None = None, password: str | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.username = username
        self.password = password
        self.messages: list[Received] = []
        self.data_attempts = 0
        self.lock = threading.Lock()
        self._answers: list[str] = []
        self._controller: Controller | None = None

    def fail_next(self, answer: str, times: int = 1) -> None:
        """The next `times` DATA commands get this answer instead of being accepted."""
        with self.lock:
            self._answers.extend([answer] * times)

    # -- aiosmtpd handler ----------------------------------------------------------------

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802, ARG002
        with self.lock:
            self.data_attempts += 1
            if self._answers:
                return self._answers.pop(0)
            login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
            self.messages.append(
                Received(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=list(envelope.rcpt_tos),
                    raw=bytes(envelope.original_content or b""),
                    login=login,
                )
            )
        return "250 2.0.0 Message accepted"

    def _authenticate(
        self,
        server: SMTP,  # noqa: ARG002
        session: Session,  # noqa: ARG002
        envelope: Envelope,  # noqa: ARG002
        mechanism: str,  # noqa: ARG002
        auth_data: Any,
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> Self:
        kwargs: dict[str, Any] = {}
        if self.username is not None:
            kwargs = {"authenticator": self._authenticate, "auth_required": True, "auth_require_tls": False}
        for attempt in range(5):
            # aiosmtpd checks its own readiness by connecting to the port it was given, so the
            # port is picked free first (and picked again in the rare case someone took it).
            self.port = free_port()
            controller = Controller(self, hostname=self.host, port=self.port, ready_timeout=10, **kwargs)
            try:
                controller.start()
            except (OSError, RuntimeError):
                if attempt == 4:
                    raise
                time.sleep(0.1)
                continue
            self._controller = controller
            return self
        raise AssertionError("unreachable")

    def __exit__(self, *exc: object) -> None:
        if self._controller is not None:
            self._controller.stop()

    @classmethod
    def running(cls, *args: Any, **kwargs: Any) -> Iterator[Self]:
        with cls(*args, **kwargs) as server:
            yield server

    async def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        """Polls (with a deadline) until at least `count` messages arrived."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            assert time.monotonic() < deadline, f"{count} message(s) expected; got {len(self.messages)}"
            await asyncio.sleep(0.05)
        return list(self.messages)
