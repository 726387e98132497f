"""The one place that assembles a worker: which workflows and activities it runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.health import ping
from boardroom.settings import Settings
from workflows.smoke import SmokeWorkflow


def workflows() -> list[type]:
    return [SmokeWorkflow]


def activities(settings: Settings) -> list[Callable[..., Any]]:
    """Activity callables, bound to classes whose constructors take their clients."""
    _ = settings
    return [ping]


def create_worker(
    client: Client,
    settings: Settings,
    *,
    task_queue: str | None = None,
    extra_activities: Sequence[Callable[..., Any]] = (),
    **options: Any,
) -> Worker:
    """A worker for the project's task queue with the tuning knobs from settings."""
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=workflows(),
        activities=[*activities(settings), *extra_activities],
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        max_cached_workflows=settings.max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_s),
        **options,
    )
