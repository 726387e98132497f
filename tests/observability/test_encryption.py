"""Payload encryption against the real dev server and the real CLI: histories hold no business
text in clear, the API's codec endpoint gives it back, keys rotate, replay still works, failure
messages are encoded, and none of the configured secrets is anywhere in a history."""

from __future__ import annotations

import base64
import json
import os
import secrets as random
import uuid

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import Replayer, Worker

from boardroom.client import connect, data_converter
from boardroom.codec import ENCODING, EncryptionCodec
from boardroom.logs import secret_values
from boardroom.settings import Settings
from domain.enums import AutoApprove, Phase
from domain.project import Policy, ProjectInput
from tests.api.conftest import running_app
from tests.observability.failing import FailingWorkflow, refuse
from tests.observability.helpers import b64, cli_show, encoding, find_leaks, payload_dicts, visible_bytes
from tests.workflows.helpers import cancel_and_wait, start_project, wait_for
from workers.worker import create_worker, workflows

pytestmark = pytest.mark.timeout(240)


def key(kid: str) -> str:
    return f"{kid}:{base64.b64encode(os.urandom(32)).decode()}"


@pytest.fixture
def old_key() -> str:
    return key("k2025")


@pytest.fixture
def encrypted(live: Settings, old_key: str) -> Settings:
    return live.model_copy(
        update={
            "encryption_keys": old_key,
            "openai_api_key": "sk-proj-" + random.token_hex(20),
            "secret_key": "link-key-" + random.token_hex(16),
        }
    )


async def test_encrypted_lifecycle_cli_codec_rotation_replay(encrypted: Settings, old_key: str) -> None:
    marker = uuid.uuid4().hex[:8]
    goal = f"Sell moss terrariums {marker} to offices"
    client = await connect(encrypted)
    async with create_worker(client, encrypted):
        handle = await start_project(
            client, encrypted.task_queue, goal=goal, policy=Policy(auto_approve=AutoApprove.all)
        )
        state = await wait_for(handle, lambda s: s.phase == Phase.operations, what="operations")
        await cancel_and_wait(handle)
    assert state.plan is not None and state.plan.summary and state.research_summary
    clear_texts = [goal, state.plan.summary, state.research_summary, state.plan.tasks[0].title]

    address, namespace = encrypted.temporal_address, encrypted.temporal_namespace
    exported = cli_show(address, namespace, handle.id)
    doc = json.loads(exported)
    seen = visible_bytes(exported)
    for text in clear_texts:
        assert text.encode() not in seen, f"in clear in the history: {text[:60]!r}"
    sealed = [p for p in payload_dicts(doc) if encoding(p) == ENCODING]
    assert len(sealed) >= 5
    assert all(b64(p["metadata"]["encryption-key-id"]) == b"k2025" for p in sealed)
    # Every phase and task runs inside the project workflow: this one history is all there is.
    # Nothing configured as a secret is in any of it.
    secrets = secret_values(encrypted)
    assert not find_leaks(seen, secrets)

    # Rotation: a new key goes first; the API decodes the old history through the codec server.
    new_key = key("k2026")
    rotated = encrypted.model_copy(update={"encryption_keys": f"{new_key},{old_key}"})
    async with running_app(rotated) as (_app, http):
        decoded = await http.post("/codec/decode", json={"payloads": sealed})
        assert decoded.status_code == 200, decoded.text
        clear = b"\n".join(b64(p["data"]) for p in decoded.json()["payloads"])
        assert goal.encode() in clear and state.plan.summary.encode() in clear
        assert ENCODING not in {encoding(p) for p in decoded.json()["payloads"]}
        # New payloads are sealed with the new key; a codec without it cannot read them.
        resealed = (await http.post("/codec/encode", json=decoded.json())).json()["payloads"]
        assert {b64(p["metadata"]["encryption-key-id"]) for p in resealed} == {b"k2026"}
    with pytest.raises(ValueError, match="unknown key id 'k2026'"):
        from temporalio.api.common.v1 import Payload

        await EncryptionCodec.from_setting(old_key).decode(
            [Payload(metadata={k: b64(v) for k, v in p["metadata"].items()}, data=b64(p["data"])) for p in resealed]
        )

    # A client with the rotated keys reads the old run's input, and the exported history replays.
    rotated_client = await connect(rotated)
    history = await rotated_client.get_workflow_handle(handle.id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    (project_input,) = await rotated_client.data_converter.decode(started.input.payloads, [ProjectInput])
    assert isinstance(project_input, ProjectInput) and project_input.goal == goal
    from temporalio.client import WorkflowHistory

    replayer = Replayer(workflows=workflows(), data_converter=data_converter(rotated))
    result = await replayer.replay_workflow(
        WorkflowHistory.from_json(handle.id, exported), raise_on_replay_failure=True
    )
    assert result.replay_failure is None


async def test_failure_messages_are_encoded(encrypted: Settings, dev_env: object) -> None:
    secret_text = f"the {uuid.uuid4().hex[:8]} launch plan"
    client: Client = await connect(encrypted)
    queue = f"{encrypted.task_queue}-fail"
    async with Worker(client, task_queue=queue, workflows=[FailingWorkflow], activities=[refuse]):
        handle = await client.start_workflow(
            FailingWorkflow.run,
            secret_text,
            id=f"obs-failing-{uuid.uuid4().hex[:8]}",
            task_queue=queue,
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    # The client decodes the failure: the real message and type are back.
    cause = failed.value.cause
    assert isinstance(cause, ActivityError) and isinstance(cause.cause, ApplicationError)
    assert cause.cause.message == f"cannot publish: {secret_text}" and cause.cause.type == "Refused"
    # The history only says "Encoded failure".
    exported = cli_show(encrypted.temporal_address, encrypted.temporal_namespace, handle.id)
    assert secret_text.encode() not in visible_bytes(exported)
    assert "Encoded failure" in exported
