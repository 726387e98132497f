"""Observability fixtures: settings for the session's dev server with this test's task queue,
and clean tracing/metrics/logging state around every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from temporalio.testing import WorkflowEnvironment

from boardroom.observability import shutdown_tracing, stop_metrics
from boardroom.settings import Settings


@pytest.fixture
def live(settings: Settings, dev_env: WorkflowEnvironment, task_queue: str) -> Settings:
    """Settings pointing at the session's dev server, with this test's own task queue."""
    return settings.model_copy(
        update={
            "temporal_address": dev_env.client.service_client.config.target_host,
            "temporal_namespace": dev_env.client.namespace,
            "task_queue": task_queue,
            "public_url": "http://testserver",
        }
    )


@pytest.fixture(autouse=True)
def _clean_observability() -> Iterator[None]:
    """No test leaves a tracer provider or a metrics endpoint behind for the next one."""
    yield
    shutdown_tracing()
    stop_metrics()
