"""Bearer API keys when configured; loopback only when not. Signed pages need no key."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from api import links
from api.auth import is_loopback, key_matches
from boardroom.settings import Settings
from tests.api.conftest import AppClient, Seed

KEYS = "k-one-1234567890,k-two-0987654321"


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.8.0.1") and is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("10.0.0.5") and not is_loopback("testclient") and not is_loopback(None)


def test_key_matching() -> None:
    assert key_matches("b", ["a", "b"])
    assert not key_matches("c", ["a", "b"])
    assert not key_matches("", ["a"])


async def test_without_keys_only_loopback_is_answered(offline_api: AppClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="boardroom.api"):
        async with offline_api() as http:
            assert (await http.get("/projects")).status_code == 200
            assert (await http.get("/")).status_code == 200
    assert "BOARDROOM_API_KEYS is not set" in caplog.text
    async with offline_api(client_host="10.1.2.3") as http:
        for path in ("/projects", "/approvals"):
            resp = await http.get(path)
            assert resp.status_code == 403, path
            assert "loopback" in resp.json()["detail"]
        # a page answers a browser with a page, not JSON
        page = await http.get("/")
        assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
        assert "loopback clients only" in page.text
        assert (await http.post("/projects", json={"goal": "x"})).status_code == 403
        assert (await http.get("/healthz")).status_code == 200


async def test_with_keys_a_bearer_is_required(offline_api: AppClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        async with offline_api(client_host="10.1.2.3", api_keys=KEYS) as http:
            missing = await http.get("/projects")
            assert missing.status_code == 401
            assert missing.headers["www-authenticate"] == "Bearer"
            wrong = await http.get("/projects", headers={"Authorization": "Bearer k-one-1234567891"})
            assert wrong.status_code == 401
            assert wrong.json() == {"detail": "invalid API key"}
            basic = await http.get("/projects", headers={"Authorization": "Basic azE6azI="})
            assert basic.status_code == 401
            for key in KEYS.split(","):
                ok = await http.get("/projects", headers={"Authorization": f"Bearer {key}"})
                assert ok.status_code == 200
            # a key is required from loopback too once keys are configured
        async with offline_api(api_keys=KEYS) as http:
            assert (await http.get("/approvals")).status_code == 401
            assert (await http.get("/healthz")).status_code == 200
    assert "k-one" not in caplog.text and "k-two" not in caplog.text
    assert "BOARDROOM_API_KEYS is not set" not in caplog.text


async def test_signed_pages_need_no_key(offline_api: AppClient, offline_settings: Settings, seed: Seed) -> None:
    seed.project()
    gate = seed.gate()
    url = links.approve_url(offline_settings, gate.id, gate.approver, gate.created_at)
    async with offline_api(client_host="10.1.2.3", api_keys=KEYS) as http:
        page = await http.get(url)
        slack = await http.post("/slack/interactions", content=b"payload={}")
    assert page.status_code == 200
    assert slack.status_code == 401  # signature, not bearer
    assert "signature" in slack.json()["detail"]
    assert datetime.now(UTC)  # keep the import honest
