"""Migrations: one head, no pending changes, and replicas that start together don't race."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from alembic import command
from sqlalchemy import inspect

from store.db import alembic_config, get_engine, migrate


def test_migrated_schema_matches_the_models(any_db_url: str) -> None:
    # `alembic check` raises when autogenerate would produce operations.
    command.check(alembic_config(any_db_url))
    tables = set(inspect(get_engine(any_db_url)).get_table_names())
    assert {"project", "gate", "decision", "document", "review", "usagerecord", "businesseventrecord"} <= tables


def test_migrating_again_is_a_no_op(any_db_url: str) -> None:
    migrate(any_db_url)
    command.check(alembic_config(any_db_url))


def test_processes_migrating_at_once_do_not_race(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path}/fresh.db"
    code = f"from store.db import migrate; migrate({url!r})"

    def run(_: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, range(4)))
    assert all(r.returncode == 0 for r in results), [r.stderr[-500:] for r in results]
    command.check(alembic_config(url))
