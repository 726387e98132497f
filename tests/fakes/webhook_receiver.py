"""A receiver of Boardroom's notification webhook, as a customer would write one: it verifies the
signature with `approvals.webhook_signing.verify_webhook` over the raw body and answers 401 when
it does not hold, 204 when it does. `fail_next` (from FakeServer) makes it fail before checking.
"""

from __future__ import annotations

import re
from typing import Any

from approvals.webhook_signing import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookSignatureError,
    verify_webhook,
)
from tests.fakes.server import FakeServer, Recorded, Reply

PATH = "/hooks/boardroom"


class FakeReceiver(FakeServer):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret
        self.accepted: list[Recorded] = []
        self.refused: list[tuple[Recorded, str]] = []
        self.route("POST", PATH, self._receive)

    @property
    def url(self) -> str:
        return self.base_url + PATH

    def _receive(self, rec: Recorded, _m: re.Match[str]) -> Reply:
        try:
            verify_webhook(self.secret, rec.body, rec.header(TIMESTAMP_HEADER), rec.header(SIGNATURE_HEADER))
        except WebhookSignatureError as exc:
            self.refused.append((rec, str(exc)))
            return Reply(401, {"error": str(exc)})
        self.accepted.append(rec)
        return Reply(204)

    def payloads(self) -> list[Any]:
        with self.lock:
            return [r.json() for r in self.accepted]

    def deliveries(self) -> list[str | None]:
        with self.lock:
            return [r.header(DELIVERY_HEADER) for r in self.accepted]
