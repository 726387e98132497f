"""The codec server for the Temporal UI: 404 when encryption is off, round trip when on, CORS."""

from __future__ import annotations

import base64
import os

from tests.api.conftest import AppClient

KEY = "k1:" + base64.b64encode(os.urandom(32)).decode()
PAYLOADS = {
    "payloads": [
        {
            "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
            "data": base64.b64encode(b'{"goal": "secret plan"}').decode(),
        }
    ]
}


async def test_codec_is_404_without_keys(offline_api: AppClient) -> None:
    async with offline_api() as http:
        resp = await http.post("/codec/decode", json=PAYLOADS)
    assert resp.status_code == 404
    assert "BOARDROOM_ENCRYPTION_KEYS" in resp.json()["detail"]


async def test_codec_round_trip(offline_api: AppClient) -> None:
    async with offline_api(encryption_keys=KEY) as http:
        enc = await http.post("/codec/encode", json=PAYLOADS)
        assert enc.status_code == 200, enc.text
        sealed = enc.json()["payloads"][0]
        assert base64.b64decode(sealed["metadata"]["encoding"]) == b"binary/encrypted"
        assert b"secret plan" not in base64.b64decode(sealed["data"])
        dec = await http.post("/codec/decode", json=enc.json())
        assert dec.json() == PAYLOADS
        bad = await http.post(
            "/codec/decode",
            json={"payloads": [{"metadata": sealed["metadata"], "data": base64.b64encode(b"junk" * 8).decode()}]},
        )
        assert bad.status_code == 422
        malformed = await http.post("/codec/decode", json={"payloads": [{"data": 5, "bogus": 1}]})
        assert malformed.status_code == 422


async def test_cors_for_the_temporal_ui_only(offline_api: AppClient) -> None:
    async with offline_api(encryption_keys=KEY, temporal_ui_url="http://localhost:8233") as http:
        ok = await http.options(
            "/codec/decode",
            headers={
                "Origin": "http://localhost:8233",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-namespace",
            },
        )
        other = await http.options(
            "/codec/decode",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        )
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "http://localhost:8233"
    assert "access-control-allow-origin" not in other.headers
