"""`boardroom project new --role-budget ROLE=USD`: a malformed value stops the command with one
line on stderr and exit code 2 before anything is sent (nothing listens at the API address)."""

from __future__ import annotations

import pytest

from boardroom.role_budget_text import parse_role_budgets
from tests.api.conftest import closed_port
from tests.cli.test_config_errors import assert_one_line, run


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        (["copywriter"], "boardroom: --role-budget: 'copywriter' is not role=amount (like copywriter=40)"),
        (["copywriter=forty"], "boardroom: --role-budget: copywriter: 'forty' is not a number of dollars"),
        (["copywriter=1", "copywriter=2"], "boardroom: --role-budget: 'copywriter' is given twice"),
    ],
)
def test_malformed_role_budget_is_one_line(values: list[str], problem: str) -> None:
    argv = ["project", "new", "Sell mugs"]
    for value in values:
        argv += ["--role-budget", value]
    proc = run(argv, env={"BOARDROOM_API_URL": f"http://127.0.0.1:{closed_port()}"})
    assert_one_line(proc, problem)
    assert "cannot reach" not in proc.stderr, "refused before any request"


def test_role_budget_lines() -> None:
    assert parse_role_budgets(["copywriter=40", "  ", " web-developer = $12.5 ", "seo-specialist=0"]) == {
        "copywriter": 40.0,
        "web-developer": 12.5,
        "seo-specialist": 0.0,
    }
    assert parse_role_budgets([]) == {}
