"""The CEO's console in the real app, on the real dev server and worker: start a project from the
form, decide from the inbox, steer and cancel from the project page. Forged or bad forms change
nothing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from boardroom.settings import Settings
from tests.api.conftest import AppClient
from tests.waiting import eventually
from workers.worker import create_worker

pytestmark = pytest.mark.timeout(180)


@asynccontextmanager
async def worker(dev_env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[None]:
    async with create_worker(dev_env.client, settings, task_queue=settings.task_queue):
        yield


def token_in(html: str, action: str) -> str:
    """The form token of the form that posts to `action`."""
    forms = re.findall(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', html, re.S)
    for found_action, body in forms:
        if found_action == action:
            match = re.search(r'name="form_token" value="([^"]+)"', body)
            assert match, f"no token in the form for {action}"
            return match.group(1)
    raise AssertionError(f"no form posts to {action}: {[a for a, _ in forms]}")


async def project_count(http: httpx.AsyncClient) -> int:
    return int((await http.get("/projects")).json()["total"])


async def test_start_decide_steer_cancel_from_the_browser(
    dev_env: WorkflowEnvironment, live_settings: Settings, live_api: AppClient
) -> None:
    async with worker(dev_env, live_settings), live_api() as http:
        page = await http.get("/new")
        assert page.status_code == 200 and "New project" in page.text
        token = token_in(page.text, "/new")

        # Bad input: a missing goal, a forged token, a non-number budget → nothing is created.
        missing = await http.post("/new", data={"goal": "  ", "form_token": token})
        assert missing.status_code == 422 and "Goal" in missing.text
        forged = await http.post("/new", data={"goal": "Sell mugs", "form_token": "1700000000.deadbeef"})
        assert forged.status_code == 403 and "did not come from this Boardroom page" in forged.text
        budget = await http.post("/new", data={"goal": "Sell mugs", "budget_usd": "lots", "form_token": token})
        assert budget.status_code == 422 and "Budget" in budget.text and 'value="lots"' in budget.text
        assert await project_count(http) == 0

        created = await http.post(
            "/new",
            data={"goal": "Sell handmade ceramic mugs online", "name": "Mugs", "budget_usd": "30", "form_token": token},
        )
        assert created.status_code == 303, created.text
        view = created.headers["location"]
        pid = view.split("/")[2]
        assert view == f"/projects/{pid}/view"
        detail = (await http.get(f"/projects/{pid}")).json()
        assert (detail["name"], detail["cost"]["budget_usd"]) == ("Mugs", 30.0)

        # The inbox lists the interview; filters narrow it; decided in place.
        async def interview_in_inbox() -> str | None:
            html = (await http.get("/inbox", params={"project": pid})).text
            return html if f"/inbox/{pid}-g1/decide" in html else None

        inbox = await eventually(interview_in_inbox, "the interview in the inbox")
        assert f"/inbox/{pid}-g1/decide" not in (await http.get("/inbox", params={"kind": "plan"})).text
        assert f"/inbox/{pid}-g1/decide" in (await http.get("/inbox", params={"kind": "interview"})).text
        action = f"/inbox/{pid}-g1/decide"
        wrong = await http.post(action, data={"decision": "approve", "form_token": token})  # the /new form's token
        assert wrong.status_code == 403
        revise_empty = await http.post(action, data={"decision": "revise", "form_token": token_in(inbox, action)})
        assert revise_empty.status_code == 422
        decided = await http.post(action, data={"decision": "approve", "form_token": token_in(inbox, action)})
        assert decided.status_code == 303 and decided.headers["location"] == f"/inbox?done={pid}-g1"

        async def interview_decided() -> dict[str, Any] | None:
            gate = (await http.get(f"/approvals/{pid}-g1")).json()
            return gate if gate["status"] != "pending" else None

        gate = await eventually(interview_decided, "the inbox decision")
        assert gate["status"] == "approved" and gate["channel"] == "web"
        again = await http.post(action, data={"decision": "reject", "form_token": token_in(inbox, action)})
        assert again.status_code == 409

        # Steer from the project page.
        project_page = (await http.get(view)).text
        steer_action = f"/projects/{pid}/view/steer"
        steer_token = token_in(project_page, steer_action)
        forged_steer = await http.post(steer_action, data={"instruction": "x", "form_token": token})
        assert forged_steer.status_code == 403
        steered = await http.post(
            steer_action, data={"instruction": "Focus on corporate gifts", "form_token": steer_token}
        )
        assert steered.status_code == 303

        async def steering_shows() -> dict[str, Any] | None:
            d = (await http.get(f"/projects/{pid}")).json()
            return d if "Focus on corporate gifts" in d["steering"] else None

        await eventually(steering_shows, "the steering note")

        # Cancel, after the confirmation page.
        confirm = await http.get(f"/projects/{pid}/view/cancel")
        assert confirm.status_code == 200 and "cannot be undone" in confirm.text
        cancel_action = f"/projects/{pid}/view/cancel"
        cancel_token = token_in(confirm.text, cancel_action)
        unconfirmed = await http.post(cancel_action, data={"form_token": cancel_token})
        assert unconfirmed.status_code == 422
        assert (await http.get(f"/projects/{pid}")).json()["status"] != "cancelled"
        cancelled = await http.post(cancel_action, data={"form_token": cancel_token, "confirm": "yes"})
        assert cancelled.status_code == 303

        async def ended() -> dict[str, Any] | None:
            d = (await http.get(f"/projects/{pid}")).json()
            return d if d["status"] == "cancelled" else None

        await eventually(ended, "the cancellation")
        assert "Steer the team" not in (await http.get(view)).text


async def test_console_pages_need_the_same_auth_as_the_api(offline_api: AppClient) -> None:
    async with offline_api(client_host="203.0.113.9") as http:
        for path in ("/new", "/inbox", "/projects/p-000000000000/view/cancel"):
            assert (await http.get(path)).status_code == 403, path
        assert (await http.post("/new", data={"goal": "x"})).status_code == 403
