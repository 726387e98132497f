"""Fixtures for the fault scenarios: a real stack (dev server subprocess, worker and API
subprocesses) and the protocol fakes its workers are wired to."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.faults.support import Fakes, running_fakes
from tests.stack import Stack, running_stack


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    with running_fakes(llm_delay_s=0.5) as f:
        yield f


@pytest.fixture
async def stack(tmp_path: Path, task_queue: str) -> AsyncIterator[Stack]:
    """Dev server state in memory: these scenarios never restart it, and the persistent store
    (an fsync per write) makes every scenario several times slower on a small machine."""
    async with running_stack(tmp_path, task_queue, persistent=False) as s:
        yield s


@pytest.fixture
async def persistent_stack(tmp_path: Path, task_queue: str) -> AsyncIterator[Stack]:
    """Dev server state in `tmp_path/temporal.db`, so the server can be restarted on it."""
    async with running_stack(tmp_path, task_queue, persistent=True) as s:
        yield s
