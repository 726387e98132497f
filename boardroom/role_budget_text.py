"""`role=amount` text (the console's new-project form, `boardroom project new --role-budget`) →
the `role_budgets_usd` of `POST /projects`. Only the shape is checked here; the API checks the
roles against the catalog and the amounts against their bounds (a 422 that says which)."""

from __future__ import annotations

EXAMPLE = "copywriter=40"


def parse_role_budgets(lines: list[str]) -> dict[str, float]:
    """Each non-empty line `role=amount` (spaces and a `$` allowed); ValueError saying which line
    is wrong and why."""
    budgets: dict[str, float] = {}
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        role, equals, amount = (part.strip() for part in line.partition("="))
        if not equals or not role:
            raise ValueError(f"{line[:80]!r} is not role=amount (like {EXAMPLE})")
        if role in budgets:
            raise ValueError(f"{role[:64]!r} is given twice")
        try:
            budgets[role] = float(amount.removeprefix("$"))
        except ValueError:
            raise ValueError(f"{role[:64]}: {amount[:40]!r} is not a number of dollars (like {EXAMPLE})") from None
    return budgets
