"""Temporal Schedules the deployment owns: the daily digest.

The worker creates (or brings in line with the settings) the `<task queue>-digest` schedule when it
starts — `boardroom-digest` with the default task queue — so whoever runs the worker owns it and
every replica agrees on it. A paused schedule stays paused. BOARDROOM_DIGEST_CRON="" (or "off")
deletes it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowHandle,
)
from temporalio.service import RPCError, RPCStatusCode

from boardroom.settings import Settings
from domain.errors import ConfigError
from workflows.digest import DigestInput, DigestResult, DigestWorkflow

log = logging.getLogger(__name__)

NOTE = "Boardroom: the daily digest of decisions waiting for the CEO (BOARDROOM_DIGEST_CRON)"


def digest_schedule_id(task_queue: str) -> str:
    return f"{task_queue}-digest"


def digest_schedule(settings: Settings, task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            DigestWorkflow.run,
            DigestInput(),
            # Temporal appends the scheduled time, so each run has an id of its own.
            id=f"{digest_schedule_id(task_queue)}-run",
            task_queue=task_queue,
            execution_timeout=timedelta(minutes=30),
        ),
        spec=ScheduleSpec(cron_expressions=[settings.digest_cron], time_zone_name=settings.digest_timezone),
        # One digest at a time; after a server outage only the last hour's missed run is made up.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=1)),
        state=ScheduleState(note=NOTE),
    )


async def ensure_digest_schedule(client: Client, settings: Settings, task_queue: str | None = None) -> str | None:
    """Creates or updates the digest schedule (deletes it when disabled); its id, or None when
    disabled or not possible now (logged). Idempotent."""
    queue = task_queue or settings.task_queue
    schedule_id = digest_schedule_id(queue)
    handle = client.get_schedule_handle(schedule_id)
    try:
        if not settings.digest_cron:
            try:
                await handle.delete()
                log.info("digest schedule %s deleted (BOARDROOM_DIGEST_CRON is off)", schedule_id)
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise
            return None
        schedule = digest_schedule(settings, queue)
        try:
            await client.create_schedule(schedule_id, schedule)
            log.info("digest schedule %s created (%s %s)", schedule_id, settings.digest_cron, settings.digest_timezone)
        except ScheduleAlreadyRunningError:

            def keep_state(current: ScheduleUpdateInput) -> ScheduleUpdate:
                # Whoever paused it (the Temporal UI, `temporal schedule toggle`) keeps it paused.
                schedule.state = current.description.schedule.state
                return ScheduleUpdate(schedule=schedule)

            await handle.update(keep_state)
            log.info("digest schedule %s updated (%s %s)", schedule_id, settings.digest_cron, settings.digest_timezone)
    except RPCError as exc:
        if exc.status == RPCStatusCode.INVALID_ARGUMENT:  # the server refused the cron or the time zone
            raise ConfigError(f"the digest schedule {schedule_id} could not be set up: {exc.message}") from None
        # Anything else (the server busy, no permission for schedules) must not stop the worker
        # from serving projects; the next start tries again.
        log.warning("digest schedule %s not set up: %s (%s)", schedule_id, exc.message, exc.status.name)
        return None
    return schedule_id


async def run_digest_now(
    client: Client, settings: Settings, task_queue: str | None = None, timeout_s: float = 120
) -> DigestResult:
    """Triggers the digest schedule once and waits for that run's result (`boardroom digest --now`)."""
    schedule_id = digest_schedule_id(task_queue or settings.task_queue)
    handle = client.get_schedule_handle(schedule_id)
    try:
        before = await handle.describe()
        await handle.trigger()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ConfigError(
                f"there is no digest schedule {schedule_id}: start a worker (boardroom worker / up) first"
            ) from None
        raise ConfigError(f"could not trigger the digest schedule {schedule_id}: {exc.message}") from None
    run = await _new_run(client, handle, before, timeout_s)
    try:
        return await asyncio.wait_for(run.result(), timeout=timeout_s)
    except TimeoutError:
        raise ConfigError(
            f"the digest run {run.id} did not finish within {timeout_s:.0f} s: is a worker running on this task queue?"
        ) from None


async def _new_run(
    client: Client, handle: ScheduleHandle, before: ScheduleDescription, timeout_s: float
) -> WorkflowHandle[DigestWorkflow, DigestResult]:
    """The run the trigger started: the schedule lists it among its running or recent actions.
    Runs are told apart by run id: two triggers in the same second share a workflow id."""

    def runs(described: ScheduleDescription) -> list[tuple[str, str]]:
        started = [*described.info.running_actions, *(a.action for a in described.info.recent_actions)]
        return [
            (str(getattr(a, "workflow_id", "")), str(getattr(a, "first_execution_run_id", "")))
            for a in started
            if getattr(a, "workflow_id", None)
        ]

    seen = set(runs(before))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + min(timeout_s, 30)
    while True:
        for workflow_id, run_id in runs(await handle.describe()):
            if (workflow_id, run_id) not in seen:
                return client.get_workflow_handle_for(DigestWorkflow.run, workflow_id, run_id=run_id or None)
        if loop.time() > deadline:
            raise ConfigError(f"the digest schedule {handle.id} did not start a run (is it paused?)")
        await asyncio.sleep(0.2)


async def describe_digest(client: Client, settings: Settings, task_queue: str | None = None) -> str:
    """One line about the digest schedule: its cron, whether it is paused, the next and last runs."""
    schedule_id = digest_schedule_id(task_queue or settings.task_queue)
    try:
        described = await client.get_schedule_handle(schedule_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ConfigError(
                f"there is no digest schedule {schedule_id}: start a worker (boardroom worker / up) first"
            ) from None
        raise ConfigError(f"could not read the digest schedule {schedule_id}: {exc.message}") from None
    spec = described.schedule.spec
    cron = ", ".join([*spec.cron_expressions, *(as_cron(c) for c in spec.calendars)]) or "custom spec"
    paused = " (paused)" if described.schedule.state.paused else ""
    upcoming = described.info.next_action_times[:1]
    following = f"; next run {upcoming[0]:%Y-%m-%d %H:%M %Z}" if upcoming else ""
    recent = described.info.recent_actions[-1:]
    last = f"; last run {recent[0].started_at:%Y-%m-%d %H:%M %Z}" if recent else "; not run yet"
    return f"digest schedule {schedule_id}: {cron} {spec.time_zone_name or 'UTC'}{paused}{following}{last}"


_FULL = {"day_of_month": (1, 31), "month": (1, 12), "day_of_week": (0, 6)}


def as_cron(calendar: ScheduleCalendarSpec) -> str:
    """The five cron fields of a calendar (the server stores a cron expression as one)."""

    def field(name: str) -> str:
        ranges: tuple[ScheduleRange, ...] = getattr(calendar, name)
        full = _FULL.get(name)
        if not ranges or (full and len(ranges) == 1 and (ranges[0].start, ranges[0].end, ranges[0].step) == (*full, 1)):
            return "*"
        parts = []
        for r in ranges:
            end = max(r.end, r.start)
            text = str(r.start) if end == r.start else f"{r.start}-{end}"
            parts.append(text + (f"/{r.step}" if r.step > 1 else ""))
        return ",".join(parts)

    return " ".join(field(name) for name in ("minute", "hour", "day_of_month", "month", "day_of_week"))
