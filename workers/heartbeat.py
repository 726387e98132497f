"""Every activity heartbeats while it runs, so a crashed worker's activity is retried after the
heartbeat timeout (seconds) instead of its start-to-close timeout (minutes)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

DEFAULT_INTERVAL_S = 5.0


class _HeartbeatInbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, interval_s: float) -> None:
        super().__init__(next)
        self._interval_s = interval_s

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        if not asyncio.iscoroutinefunction(input.fn):
            return await super().execute_activity(input)
        info = activity.info()
        timeout = info.heartbeat_timeout.total_seconds() if info.heartbeat_timeout else None
        if not timeout:
            return await super().execute_activity(input)
        # Beat well inside the timeout; the SDK throttles what actually reaches the server.
        interval = min(self._interval_s, timeout / 3)
        beating = asyncio.create_task(self._beat(interval))
        try:
            return await super().execute_activity(input)
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating

    @staticmethod
    async def _beat(interval: float) -> None:
        # The first beat after one interval, not at the start: the heartbeat timeout already runs
        # from the start, and an activity that ends sooner (most do) costs the server no beat.
        while True:
            await asyncio.sleep(interval)
            activity.heartbeat()


class HeartbeatInterceptor(Interceptor):
    """Heartbeats from a background task for every async activity that has a heartbeat timeout."""

    def __init__(self, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self._interval_s = interval_s

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _HeartbeatInbound(next, self._interval_s)
