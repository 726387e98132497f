"""Role budgets through the API: set at project creation, shown in the project's state; anything
but a known role with a finite, non-negative amount is refused with a 422 before a workflow starts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from boardroom.settings import Settings
from domain.project import MAX_ROLE_BUDGETS
from tests.api.conftest import AppClient
from tests.api.test_cli_client import cli, serve
from tests.api.test_console import token_in
from tests.api.test_lifecycle import eventually, worker

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


# --- the console's new-project form and `boardroom project new --role-budget` -------------------


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ("copywriter 40", "Role budgets: &#39;copywriter 40&#39; is not role=amount (like copywriter=40)"),
        ("=40", "Role budgets: &#39;=40&#39; is not role=amount"),
        ("copywriter=lots", "Role budgets: copywriter: &#39;lots&#39; is not a number of dollars"),
        ("copywriter=1\ncopywriter=2", "Role budgets: &#39;copywriter&#39; is given twice"),
        ("astrologer=5", "Role budgets: unknown role(s) astrologer; the catalog has: "),
        ("copywriter=-1", "Role budgets (copywriter): Input should be greater than or equal to 0"),
        ("copywriter=nan", "Role budgets (copywriter): Input should be a finite number"),
        ("copywriter=2000000", "Role budgets (copywriter): Input should be less than or equal to 1000000"),
    ],
)
async def test_bad_role_budgets_in_the_form_are_a_422_page(offline_api: AppClient, lines: str, problem: str) -> None:
    async with offline_api() as http:
        page = await http.get("/new")
        assert page.status_code == 200 and 'name="role_budgets"' in page.text
        assert "Roles: " in page.text and "copywriter" in page.text
        token = token_in(page.text, "/new")
        resp = await http.post("/new", data={"goal": "Sell mugs", "role_budgets": lines, "form_token": token})
        listed = (await http.get("/projects")).json()["items"]
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("text/html")
    assert problem in resp.text, resp.text
    kept = resp.text.split('name="role_budgets"', 1)[1].split("</textarea>", 1)[0]
    assert lines.splitlines()[0] in kept, "the form is kept"
    assert listed == []


async def test_role_budgets_from_the_form_and_the_cli(
    dev_env: WorkflowEnvironment,
    live_settings: Settings,
    live_api: AppClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with worker(dev_env, live_settings), live_api() as http:

        async def live_budgets(pid: str) -> dict[str, float] | None:
            detail = (await http.get(f"/projects/{pid}")).json()
            return detail["role_budgets"]["budgets_usd"] if detail["source"] == "live" else None

        # The console's form: `role=amount` lines, blank lines and a `$` allowed.
        token = token_in((await http.get("/new")).text, "/new")
        created = await http.post(
            "/new",
            data={
                "goal": "Sell hand-painted mugs online",
                "role_budgets": "copywriter = 12.5\n\nweb-developer=$0\n",
                "form_token": token,
            },
        )
        assert created.status_code == 303, created.text
        from_form = created.headers["location"].split("/")[2]
        budgets = await eventually(lambda: live_budgets(from_form), "the form's project")
        assert budgets == {"copywriter": 12.5, "web-developer": 0.0}

        # The CLI: repeatable --role-budget ROLE=USD; bad input is one line and exit code 2.
        async with serve(live_settings) as url:
            monkeypatch.setenv("BOARDROOM_API_URL", url)
            monkeypatch.delenv("BOARDROOM_API_KEY", raising=False)
            code = await cli(
                "project", "new", "Sell tea subscriptions", "--role-budget", "copywriter=40",
                "--role-budget", "pricing-strategist=7.5", "--wait", "0",
            )  # fmt: skip
            out = capsys.readouterr().out
            assert code == 0, out
            found = re.search(r"project (p-[0-9a-f]{12}) started", out)
            assert found, out
            from_cli = found.group(1)
            budgets = await eventually(lambda: live_budgets(from_cli), "the CLI's project")
            assert budgets == {"copywriter": 40.0, "pricing-strategist": 7.5}

            total = (await http.get("/projects")).json()["total"]
            for argv, problem in [
                (["--role-budget", "copywriter"], "boardroom: --role-budget: 'copywriter' is not role=amount"),
                (["--role-budget", "copywriter=ten"], "boardroom: --role-budget: copywriter: 'ten' is not a number"),
                (
                    ["--role-budget", "copywriter=1", "--role-budget", "copywriter=2"],
                    "boardroom: --role-budget: 'copywriter' is given twice",
                ),
                (
                    ["--role-budget", "astrologer=5"],
                    "boardroom: POST /projects: 422 role_budgets_usd: Value error, unknown role(s) astrologer",
                ),
                (
                    ["--role-budget", "copywriter=-3"],
                    "boardroom: POST /projects: 422 role_budgets_usd.copywriter: Input should be greater than",
                ),
            ]:
                assert await cli("project", "new", "Sell mugs", *argv, "--wait", "0") == 2
                captured = capsys.readouterr()
                assert captured.err.startswith(problem) and captured.err.count("\n") == 1, captured.err
                assert captured.out == ""
            assert (await http.get("/projects")).json()["total"] == total, "nothing started"
