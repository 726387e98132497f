"""Waiting for what is written in the background (audit records, projections, notifications):
poll with a deadline, never a bare read or a fixed sleep. The deadline only guards against hangs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

INTERVAL_S = 0.05


async def eventually(
    probe: Callable[[], Awaitable[Any]] | Callable[[], Any],
    what: str,
    timeout: float = 60.0,
    interval: float = INTERVAL_S,
) -> Any:
    """Call `probe` (sync or async) until it returns something other than None or False and
    return that; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        found = probe()
        if asyncio.iscoroutine(found):
            found = await found
        if found is not None and found is not False:
            return found
        last = found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")
        await asyncio.sleep(interval)
