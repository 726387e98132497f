"""Timeouts and bounded retry policies for every activity call (never the infinite default)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy

# Errors that retrying cannot fix: bad requests, auth, refusals, budget.
NON_RETRYABLE = [
    "BudgetExceeded",
    "LLMRequestRejected",
    "LLMAuthFailed",
    "LLMRefused",
    "LLMMalformedOutput",
    "InvalidInput",
    "IntegrationAuthFailed",
    "IntegrationRequestRejected",
    "LiveKeyRefused",
]

# The OpenAI client's own timeout (120 s) × a bounded re-ask for malformed output fits inside.
# Activities heartbeat from the worker (workers/heartbeat.py): a crashed worker's activity is
# retried elsewhere after HEARTBEAT, not after the whole start-to-close timeout.
HEARTBEAT = timedelta(seconds=20)


def options(
    timeout: timedelta,
    *,
    first_retry_s: float,
    max_interval_s: float,
    attempts: int,
    non_retryable: list[str],
    heartbeat: bool = False,
) -> dict[str, Any]:
    """Keyword arguments for `execute_activity`: a timeout and a bounded, doubling retry policy."""
    opts: dict[str, Any] = {
        "start_to_close_timeout": timeout,
        "retry_policy": RetryPolicy(
            initial_interval=timedelta(seconds=first_retry_s),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(seconds=max_interval_s),
            maximum_attempts=attempts,
            non_retryable_error_types=non_retryable,
        ),
    }
    if heartbeat:
        opts["heartbeat_timeout"] = HEARTBEAT
    return opts


AGENT = options(
    timedelta(minutes=7), first_retry_s=1, max_interval_s=60, attempts=6, non_retryable=NON_RETRYABLE, heartbeat=True
)

# The database may be away for a while (failover, restart): ~75 s of retries.
STORE = options(timedelta(seconds=30), first_retry_s=1, max_interval_s=10, attempts=12, non_retryable=["InvalidInput"])

# GitHub asks for ~1 s between content writes, so a launch with many files takes minutes.
INTEGRATION = options(
    timedelta(minutes=10), first_retry_s=2, max_interval_s=60, attempts=5, non_retryable=NON_RETRYABLE, heartbeat=True
)

# Notifications beside Slack (workflows/notices.py). A receiver that stays down or refuses is
# given up on after the last attempt; the workflow logs it and the gate goes on waiting.
NOTIFY_REJECTED = ["NotificationRejected"]

EMAIL = options(timedelta(seconds=60), first_retry_s=2, max_interval_s=60, attempts=5, non_retryable=NOTIFY_REJECTED)

# ~1 + 2 + 4 + 8 + 16 s between six attempts: a receiver restarting is waited for, a dead one not forever.
WEBHOOK = options(timedelta(seconds=30), first_retry_s=1, max_interval_s=60, attempts=6, non_retryable=NOTIFY_REJECTED)

# A phase notice is a courtesy: a few quick tries, then the project goes on without it.
NOTICE = options(
    timedelta(seconds=60), first_retry_s=2, max_interval_s=10, attempts=3, non_retryable=NON_RETRYABLE, heartbeat=True
)
