"""Property-based fuzzing of every JSON route from the OpenAPI schema (schemathesis), against the
real app served over HTTP and the real dev server: no 5xx, and responses match the schema."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from boardroom.settings import Settings

# A long scenario (every JSON route, dozens of cases each): its own hang guard.
pytestmark = pytest.mark.timeout(360)

# HTML pages and signed endpoints are exercised by their own tests; here every JSON route.
HTML_ROUTES = ("/", "/a/{token}", "/projects/{project_id}/view")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served_api(dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from boardroom.settings import load_settings
    from store.db import migrate

    db = f"sqlite:///{tmp_path_factory.mktemp('fuzz')}/fuzz.db"
    migrate(db)
    port = free_port()
    app_settings: Settings = load_settings(
        environment="test",
        database_url=db,
        temporal_address=dev_env.client.service_client.config.target_host,
        temporal_namespace=dev_env.client.namespace,
        task_queue="fuzz-no-worker",
        public_url=f"http://127.0.0.1:{port}",
        secret_key="fuzz-secret",
        stripe_webhook_secret="whsec_fuzz",
        slack_signing_secret="slack-fuzz",
        github_webhook_secret="github-fuzz",
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(app_settings), host="127.0.0.1", port=port, log_level="error", lifespan="on")
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the API did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def api_schema(served_api: str) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(f"{served_api}/openapi.json")
    return schema.exclude(path=list(HTML_ROUTES))


def run_case(case: schemathesis.Case) -> None:
    response = case.call(timeout=30)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} query={case.query} body={case.body!r} → {response.status_code}"
    )
    case.validate_response(
        response, checks=[response_schema_conformance, status_code_conformance, content_type_conformance]
    )


def test_no_server_errors_and_responses_match_the_schema(api_schema: schemathesis.BaseSchema) -> None:
    # Driven through hypothesis directly: schemathesis' pytest plugin predates pytest 9.
    counts: dict[str, int] = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        label = f"{operation.method.upper()} {operation.path}"
        counts[label] = 0

        def make_check(label: str, operation: Any) -> Callable[[], None]:
            @given(case=operation.as_strategy())
            @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def check(case: schemathesis.Case) -> None:
                counts[label] += 1
                run_case(case)

            return check

        make_check(label, operation)()
    assert len(counts) >= 10, counts
    # Routes with inputs get the full 100 cases; input-less ones (healthz) run what exists.
    assert sum(1 for n in counts.values() if n >= 100) >= len(counts) - 4, counts
