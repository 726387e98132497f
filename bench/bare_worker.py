"""`python -m bench.bare_worker`: a worker for the bare baseline, configured like `boardroom worker`
(same settings, client factory, data converter, interceptors, sandbox pass-through and tuning
knobs), stopped by SIGTERM. With BENCH_BARE_CALLS naming a calls file (bench/bare_calls.py), it
also registers every Boardroom activity, as a `boardroom worker` of role `all` does, and its
`bare-single` runs make the measured project's calls."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import timedelta

from temporalio.worker import Worker

from bench import bare_calls
from bench.bare_workflows import (
    BareExecutionWorkflow,
    BareLeafWorkflow,
    BareProjectWorkflow,
    BareSingleWorkflow,
    noop,
)
from boardroom.client import connect
from boardroom.logs import setup_logging
from boardroom.settings import load_settings
from workers.worker import activities, interceptors, workflow_runner


async def main() -> None:
    settings = load_settings()
    # Logs as `boardroom worker` writes them (the activities' INFO lines, JSON, redacted).
    setup_logging(settings, fmt=settings.log_format or "json")
    client = await connect(settings)
    same = bare_calls.load() > 0
    worker = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[BareSingleWorkflow, BareProjectWorkflow, BareExecutionWorkflow, BareLeafWorkflow],
        activities=[noop, *(activities(settings) if same else [])],
        # Like Boardroom's: its own deterministic modules imported once, and the calls shared.
        workflow_runner=workflow_runner("bench.bare_workflows", "bench.bare_calls"),
        interceptors=interceptors(client, settings),
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        max_cached_workflows=settings.max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_s),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    run = asyncio.create_task(worker.run())
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({run, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if run in done:
        stopper.cancel()
        run.result()
        return
    await worker.shutdown()
    with contextlib.suppress(asyncio.CancelledError):
        await run


if __name__ == "__main__":
    asyncio.run(main())
