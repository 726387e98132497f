"""Payload encryption and API keys together: the Temporal UI decodes a real workflow's encrypted
history through `/codec/k/<codec key>` (it cannot send an API key), CORS for the UI's origin;
the codec key opens the codec and nothing else; a wrong key decodes nothing."""

from __future__ import annotations

import base64
import os

from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from boardroom.logs import secret_values
from boardroom.settings import Settings
from tests.api.conftest import AppClient

ENCRYPTION = "k1:" + base64.b64encode(os.urandom(32)).decode()
API_KEY = "api-key-alice-123456"
CODEC_KEY = "codec-key-7f3e9a1c55"
UI = "http://localhost:8233"


async def test_the_ui_decodes_a_real_history_with_the_codec_key(
    live_api: AppClient, dev_env: WorkflowEnvironment
) -> None:
    auth = {"Authorization": f"Bearer {API_KEY}"}
    async with live_api(
        api_keys=f"alice:{API_KEY}", encryption_keys=ENCRYPTION, codec_key=CODEC_KEY, temporal_ui_url=UI
    ) as http:
        created = await http.post("/projects", json={"goal": "A secret plan for sea salt"}, headers=auth)
        assert created.status_code == 201, created.text
        handle = dev_env.client.get_workflow_handle(created.json()["workflow_id"])
        try:
            # what the UI fetches: the history, encrypted (the dev server's client has no codec)
            history = await handle.fetch_history()
            started = next(e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
            sealed = json_format.MessageToDict(started.workflow_execution_started_event_attributes.input)
            assert base64.b64decode(sealed["payloads"][0]["metadata"]["encoding"]) == b"binary/encrypted"
            assert b"sea salt" not in base64.b64decode(sealed["payloads"][0]["data"])

            endpoint = f"/codec/k/{CODEC_KEY}"
            preflight = await http.options(
                f"{endpoint}/decode",
                headers={
                    "Origin": UI,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type,x-namespace",
                },
            )
            decoded = await http.post(
                f"{endpoint}/decode", json=sealed, headers={"Origin": UI, "X-Namespace": "default"}
            )
            wrong = await http.post("/codec/k/not-the-key/decode", json=sealed, headers={"Origin": UI})
            unauthenticated = await http.post("/codec/decode", json=sealed)
            as_bearer = await http.post("/codec/decode", json=sealed, headers={"Authorization": f"Bearer {CODEC_KEY}"})
            with_api_key = await http.post("/codec/decode", json=sealed, headers=auth)
            # the codec key is for the codec only
            elsewhere = await http.get("/projects", headers={"Authorization": f"Bearer {CODEC_KEY}"})
        finally:
            await handle.terminate("test over")
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == UI
    assert decoded.status_code == 200, decoded.text
    assert decoded.headers["access-control-allow-origin"] == UI
    plain = json_format.ParseDict(decoded.json(), Payloads()).payloads[0]
    assert plain.metadata["encoding"] == b"json/plain"
    assert b"A secret plan for sea salt" in plain.data
    assert (wrong.status_code, wrong.json()) == (401, {"detail": "invalid codec key"})
    assert unauthenticated.status_code == 401
    assert as_bearer.json() == decoded.json() and with_api_key.json() == decoded.json()
    assert elsewhere.status_code == 401
    for refused in (wrong, unauthenticated, elsewhere):
        assert "sea salt" not in refused.text


async def test_without_a_codec_key_the_keyed_path_is_404(offline_api: AppClient) -> None:
    async with offline_api(encryption_keys=ENCRYPTION) as http:
        resp = await http.post(f"/codec/k/{CODEC_KEY}/decode", json={"payloads": []})
    assert resp.status_code == 404
    assert "BOARDROOM_CODEC_KEY" in resp.json()["detail"]


def test_the_codec_key_is_redacted_from_logs(settings: Settings) -> None:
    configured = settings.model_copy(update={"codec_key": CODEC_KEY, "api_keys": f"alice:{API_KEY}"})
    assert {CODEC_KEY, API_KEY} <= set(secret_values(configured))
    assert "alice" not in secret_values(configured)  # names are not secrets
