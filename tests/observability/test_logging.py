"""Structured logs over a real lifecycle: JSON lines with project, workflow and run ids from
workflows and activities, and no configured secret anywhere — in the logs or in the histories."""

from __future__ import annotations

import io
import json
import logging
import secrets as random
from typing import Any

import pytest

from boardroom.client import connect
from boardroom.logs import REDACTED, remove_logging, secret_values, setup_logging
from boardroom.settings import Settings
from domain.enums import AutoApprove, Phase
from domain.gates import GateDecision
from domain.project import BusinessEvent, Policy
from tests.observability.helpers import find_leaks, visible_bytes, workflow_tree
from tests.workflows.helpers import cancel_and_wait, start_project, wait_for
from workers.worker import create_worker
from workflows.project import ProjectWorkflow

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def secretive(live: Settings) -> Settings:
    """Every kind of secret configured (the agents stay offline: provider is set explicitly)."""
    return live.model_copy(
        update={
            "secret_key": "sk-link-" + random.token_hex(16),
            "stripe_webhook_secret": "whsec_" + random.token_hex(16),
            "slack_signing_secret": "slack-sign-" + random.token_hex(16),
            "github_webhook_secret": "gh-hook-" + random.token_hex(16),
            "openai_api_key": "sk-proj-" + random.token_hex(20),
            "api_keys": f"api-key-{random.token_hex(12)},api-key-{random.token_hex(12)}",
            "database_url": live.database_url,
        }
    )


def parse(lines: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines.splitlines() if line.strip()]


async def test_lifecycle_logs_have_context_and_no_secrets(secretive: Settings) -> None:
    configured = secret_values(secretive)
    assert len(configured) == 7  # four signing secrets, the OpenAI key, two API keys
    out = io.StringIO()
    handler = setup_logging(secretive, fmt="json", stream=out)
    try:
        client = await connect(secretive)
        async with create_worker(client, secretive):
            handle = await start_project(
                client,
                secretive.task_queue,
                goal="Sell tide-pool field guides",
                policy=Policy(auto_approve=AutoApprove.all),
            )
            await wait_for(handle, lambda s: s.phase == Phase.operations, what="operations")
            # A decision for a gate that does not exist: the workflow logs a warning.
            await handle.signal(ProjectWorkflow.decide_signal, GateDecision(gate_id="no-such-gate", decision="approve"))
            await handle.signal(
                ProjectWorkflow.business_event, BusinessEvent(id="evt_l1", kind="note", summary="customers love it")
            )
            await wait_for(handle, lambda s: s.kpis.notes == 1, what="the note")
            # Code that carelessly logs a secret, with it in an exception too: still redacted.
            careless = logging.getLogger("boardroom.careless")
            careless.warning("calling OpenAI with %s", secretive.openai_api_key)
            try:
                raise RuntimeError(f"webhook secret {secretive.stripe_webhook_secret} rejected")
            except RuntimeError:
                careless.exception("webhook failed", extra={"key": secretive.api_key_list[0]})
            await cancel_and_wait(handle)
        histories = await workflow_tree(client, handle.id)
    finally:
        remove_logging(handler)

    text = out.getvalue()
    lines = parse(text)
    assert lines, "nothing was logged"
    assert not find_leaks(text.encode(), configured)
    careless_lines = [entry for entry in lines if entry["logger"] == "boardroom.careless"]
    assert len(careless_lines) == 2
    assert all(REDACTED in json.dumps(entry) for entry in careless_lines)
    assert "RuntimeError" in careless_lines[1]["exc"]

    pid = handle.id.removeprefix("project-")
    from_workflow = [entry for entry in lines if "decide signal ignored" in entry["message"]]
    assert from_workflow, "the workflow's warning was not logged"
    for entry in from_workflow:
        assert entry["workflow_id"] == handle.id and entry["run_id"] and entry["project_id"] == pid
        assert entry["workflow_type"] == "project"
        assert "{" not in entry["message"], "workflow info belongs in fields, not in the message"
    from_activities = [entry for entry in lines if entry.get("activity_type")]
    assert {e["activity_type"] for e in from_activities} >= {"publish_github", "create_stripe_offer"}
    for entry in from_activities:
        assert entry["workflow_id"].startswith(handle.id) and entry["run_id"] and entry["project_id"] == pid

    # The project's history (one workflow: every phase and task runs in it) holds none of the
    # secrets either.
    assert list(histories) == [handle.id]
    # (The scan sees payload contents: the goal, which is no secret, is found in clear.)
    assert any(b"Sell tide-pool field guides" in visible_bytes(h) for h in histories.values())
    for wid, history in histories.items():
        assert not find_leaks(visible_bytes(history), configured), wid


def test_key_value_format_and_redaction_of_extras(live: Settings) -> None:
    token = "xoxb-" + random.token_hex(12)
    out = io.StringIO()
    handler = setup_logging(live.model_copy(update={"slack_bot_token": token}), fmt="text", stream=out)
    try:
        logging.getLogger("boardroom.kv").info("posting to slack", extra={"auth": f"Bearer {token}", "channel": "#ops"})
    finally:
        remove_logging(handler)
    line = out.getvalue().strip()
    assert token not in line
    assert "INFO boardroom.kv posting to slack" in line
    assert f'auth="Bearer {REDACTED}"' in line and "channel=#ops" in line
