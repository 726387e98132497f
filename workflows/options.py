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

AGENT: dict[str, Any] = {
    "start_to_close_timeout": timedelta(minutes=7),
    "heartbeat_timeout": HEARTBEAT,
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=60),
        maximum_attempts=6,
        non_retryable_error_types=NON_RETRYABLE,
    ),
}

# The database may be away for a while (failover, restart): ~75 s of retries.
STORE: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=10),
        maximum_attempts=12,
        non_retryable_error_types=["InvalidInput"],
    ),
}

# GitHub asks for ~1 s between content writes, so a launch with many files takes minutes.
INTEGRATION: dict[str, Any] = {
    "start_to_close_timeout": timedelta(minutes=10),
    "heartbeat_timeout": HEARTBEAT,
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=2),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=60),
        maximum_attempts=5,
        non_retryable_error_types=NON_RETRYABLE,
    ),
}

# Notifications beside Slack (workflows/notices.py). A receiver that stays down or refuses is
# given up on after the last attempt; the workflow logs it and the gate goes on waiting.
NOTIFY_REJECTED = ["NotificationRejected"]

EMAIL: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=60),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=2),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=60),
        maximum_attempts=5,
        non_retryable_error_types=NOTIFY_REJECTED,
    ),
}

# ~1 + 2 + 4 + 8 + 16 s between six attempts: a receiver restarting is waited for, a dead one not forever.
WEBHOOK: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=60),
        maximum_attempts=6,
        non_retryable_error_types=NOTIFY_REJECTED,
    ),
}

# A phase notice is a courtesy: a few quick tries, then the project goes on without it.
NOTICE: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=60),
    "heartbeat_timeout": HEARTBEAT,
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=2),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=10),
        maximum_attempts=3,
        non_retryable_error_types=NON_RETRYABLE,
    ),
}
