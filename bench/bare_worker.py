"""`python -m bench.bare_worker`: a worker for the bare baseline, configured like `boardroom worker`
(same settings, client factory, data converter and tuning knobs), stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta

from temporalio.worker import Worker

from bench.bare_workflows import (
    BareExecutionWorkflow,
    BareLeafWorkflow,
    BareProjectWorkflow,
    BareSingleWorkflow,
    noop,
)
from boardroom.client import connect
from boardroom.settings import load_settings


async def main() -> None:
    settings = load_settings()
    client = await connect(settings)
    worker = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[BareSingleWorkflow, BareProjectWorkflow, BareExecutionWorkflow, BareLeafWorkflow],
        activities=[noop],
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
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())
