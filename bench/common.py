"""Small helpers the bench sections share: starting projects, waiting on visibility, statistics."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from datetime import UTC, datetime

from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from domain.enums import Phase
from domain.project import Policy, ProjectInput, ProjectState
from workflows.ids import project_workflow_id
from workflows.project import ProjectWorkflow
from workflows.search import SA_OWNER, SA_PHASE, SA_PROJECT_ID

GOALS = (
    "Sell handmade ceramic mugs online",
    "A weekly newsletter about urban gardening with a paid tier",
    "Bookkeeping templates for freelance designers",
    "An online course on sourdough baking",
)

# Start calls in flight at once when opening many projects.
START_CONCURRENCY = 50


def utc(dt: datetime) -> datetime:
    """Aware UTC (protobuf timestamps come back naive, workflow times aware)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) — no interpolation, so p99 of 500 is a real sample."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def rnd(value: float, digits: int = 1) -> float:
    return round(value, digits)


async def start_projects(
    client: Client, task_queue: str, prefix: str, count: int, policy: Policy
) -> list[WorkflowHandle[ProjectWorkflow, ProjectState]]:
    """Start `count` projects the way the API does (same search attributes at start)."""
    sem = asyncio.Semaphore(START_CONCURRENCY)

    async def one(i: int) -> WorkflowHandle[ProjectWorkflow, ProjectState]:
        project_id = f"{prefix}-{i:04d}"
        async with sem:
            return await client.start_workflow(
                ProjectWorkflow.run,
                ProjectInput(
                    project_id=project_id,
                    name=f"Bench project {i}",
                    goal=GOALS[i % len(GOALS)],
                    budget_usd=50.0,
                    policy=policy,
                ),
                id=project_workflow_id(project_id),
                task_queue=task_queue,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(SA_PROJECT_ID, project_id),
                        SearchAttributePair(SA_OWNER, "ceo"),
                        SearchAttributePair(SA_PHASE, Phase.discovery.value),
                    ]
                ),
            )

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def wait_count(client: Client, query: str, expected: int, timeout: float, what: str, poll_s: float = 0.5) -> None:
    """Poll visibility (one cheap call, not a query per workflow) until `expected` runs match."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = (await client.count_workflows(query)).count
        if found >= expected:
            return
        if loop.time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}: {found}/{expected} after {timeout:.0f}s")
        await asyncio.sleep(poll_s)
