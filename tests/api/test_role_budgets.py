"""Role budgets through the API: set at project creation, shown in the project's state; anything
but a known role with a finite, non-negative amount is refused with a 422 before a workflow starts."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from boardroom.settings import Settings
from tests.api.conftest import AppClient
from tests.api.test_lifecycle import eventually, worker
from workflows.models import MAX_ROLE_BUDGETS

pytestmark = pytest.mark.timeout(180)

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("budgets", "problem"),
    [
        ('{"astrologer": 10}', "unknown role(s) astrologer"),
        ('{"copywriter": -1}', "greater than or equal to 0"),
        ('{"copywriter": NaN}', "finite number"),
        ('{"copywriter": 1e309}', "finite number"),
        ('{"copywriter": true}', "valid number"),
        ('{"copywriter": "10"}', "valid number"),
        ('{"copywriter": 2000000}', "less than or equal to 1000000"),
        ('{"": 5}', "at least 1 character"),
        ('["copywriter"]', "valid dictionary"),
    ],
)
async def test_bad_role_budgets_are_422(offline_api: AppClient, budgets: str, problem: str) -> None:
    async with offline_api() as http:
        resp = await http.post(
            "/projects", content=f'{{"goal": "Sell mugs", "role_budgets_usd": {budgets}}}', headers=JSON
        )
        listed = (await http.get("/projects")).json()["items"]
    assert resp.status_code == 422, resp.text
    assert problem in resp.text
    assert listed == []


async def test_too_many_role_budgets_are_422(offline_api: AppClient) -> None:
    roles = [
        "copywriter",
        "web-developer",
        "pricing-strategist",
        "legal-counsel",
        "product-manager",
        "market-researcher",
        "customer-success-manager",
        "seo-specialist",
        "email-marketer",
        "growth-marketer",
        "brand-designer",
        "ui-designer",
        "technical-writer",
    ]
    assert len(roles) > MAX_ROLE_BUDGETS
    async with offline_api() as http:
        resp = await http.post("/projects", json={"goal": "Sell mugs", "role_budgets_usd": dict.fromkeys(roles, 5)})
    assert resp.status_code == 422, resp.text
    assert f"at most {MAX_ROLE_BUDGETS} items" in resp.text


async def test_role_budgets_set_at_creation_show_in_the_state(
    dev_env: WorkflowEnvironment, live_settings: Settings, live_api: AppClient
) -> None:
    async with worker(dev_env, live_settings), live_api() as http:
        body = {"goal": "Sell hand-painted mugs online", "role_budgets_usd": {"copywriter": 12.5, "web-developer": 0}}
        created = await http.post("/projects", json=body)
        assert created.status_code == 201, created.text
        pid = created.json()["id"]

        async def live() -> dict[str, Any] | None:
            detail = (await http.get(f"/projects/{pid}")).json()
            return detail if detail["source"] == "live" else None

        detail = await eventually(live, "the live state")
        assert detail["role_budgets"]["budgets_usd"] == {"copywriter": 12.5, "web-developer": 0.0}
        assert detail["role_budgets"]["notices"] == []
        page = await http.get(f"/projects/{pid}/view")
        assert page.status_code == 200
        assert "Role budgets" in page.text and "copywriter" in page.text and "$12.50" in page.text

        # Changed on the running project: the update answers the new state; bad input changes nothing.
        changed = await http.put(f"/projects/{pid}/role-budgets", json={"role_budgets_usd": {"copywriter": 30}})
        assert changed.status_code == 200, changed.text
        assert changed.json()["budgets_usd"] == {"copywriter": 30.0}
        assert changed.json()["notices"] == ["role budgets set: copywriter $30.00"]
        bad = await http.put(f"/projects/{pid}/role-budgets", json={"role_budgets_usd": {"astrologer": 1}})
        assert bad.status_code == 422 and "unknown role(s) astrologer" in bad.text
        detail = (await http.get(f"/projects/{pid}")).json()
        assert detail["role_budgets"]["budgets_usd"] == {"copywriter": 30.0}
        missing = await http.put("/projects/p-nope/role-budgets", json={"role_budgets_usd": {}})
        assert missing.status_code == 404

        assert (await http.post(f"/projects/{pid}/cancel")).status_code == 202

        async def ended() -> bool:
            return (await http.get(f"/projects/{pid}")).json()["status"] == "cancelled"

        await eventually(ended, "the project to end")
        late = await http.put(f"/projects/{pid}/role-budgets", json={"role_budgets_usd": {"copywriter": 5}})
        assert late.status_code == 409, late.text
