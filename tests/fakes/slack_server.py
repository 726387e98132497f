"""A fake Slack Web API on loopback that unmodified slack-sdk clients talk to.

`POST /api/chat.postMessage` and `/api/chat.update` (JSON or form bodies), bearer token
checked, Slack-style `{"ok": false, "error": ...}` answers; every call recorded in `messages`.
Point the client at `fake.api_url` (it ends with '/', as slack-sdk expects).
"""

from __future__ import annotations

import itertools
import json
import re
import urllib.parse
from typing import Any

from tests.fakes.server import FakeServer, Recorded, Reply


class FakeSlack(FakeServer):
    def __init__(self, token: str = "xoxb-fake", channels: tuple[str, ...] = ("#boardroom",)) -> None:
        super().__init__()
        self.token = token
        self.channels = set(channels)
        self.messages: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self._ts = itertools.count(1)
        self.route("POST", r"/api/chat\.postMessage", self._post_message)
        self.route("POST", r"/api/chat\.update", self._update)
        self.route("POST", r"/api/auth\.test", self._auth_test)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    @staticmethod
    def args(rec: Recorded) -> dict[str, Any]:
        kind = rec.header("Content-Type") or ""
        if kind.startswith("application/json"):
            return dict(json.loads(rec.body or b"{}"))
        return dict(urllib.parse.parse_qsl(rec.body.decode()))

    def _handle(self, rec: Recorded) -> Reply:
        if rec.header("Authorization") != f"Bearer {self.token}":
            error = "not_authed" if not rec.header("Authorization") else "invalid_auth"
            return Reply(200, {"ok": False, "error": error})
        return super()._handle(rec)

    def not_found(self, rec: Recorded) -> Reply:
        return Reply(404, {"ok": False, "error": "unknown_method", "path": rec.path})

    def _channel_id(self, channel: str) -> str:
        return "C" + re.sub(r"[^A-Z0-9]", "", channel.upper())[:10]

    def _post_message(self, rec: Recorded, _m: re.Match[str]) -> Reply:
        args = self.args(rec)
        channel = args.get("channel")
        if not channel:
            return Reply(200, {"ok": False, "error": "channel_not_found"})
        if channel not in self.channels and self._channel_id(channel) != channel:
            return Reply(200, {"ok": False, "error": "channel_not_found"})
        if not args.get("text") and not args.get("blocks"):
            return Reply(200, {"ok": False, "error": "no_text"})
        ts = f"1700000000.{next(self._ts):06d}"
        message = {"channel": channel, "ts": ts, **args}
        self.messages.append(message)
        return Reply(200, {"ok": True, "channel": self._channel_id(channel), "ts": ts, "message": args})

    def _update(self, rec: Recorded, _m: re.Match[str]) -> Reply:
        args = self.args(rec)
        ts = args.get("ts")
        if not any(m["ts"] == ts for m in self.messages):
            return Reply(200, {"ok": False, "error": "message_not_found"})
        self.updates.append(args)
        return Reply(200, {"ok": True, "channel": args.get("channel"), "ts": ts, "text": args.get("text", "")})

    def _auth_test(self, _rec: Recorded, _m: re.Match[str]) -> Reply:
        return Reply(200, {"ok": True, "team": "fake", "user": "boardroom", "bot_id": "B1"})
