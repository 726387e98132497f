#!/usr/bin/env python3
"""The health probe baked into the Boardroom image, for Docker, Compose and Kubernetes alike.

    boardroom-healthcheck                   probe whichever `boardroom api|worker` runs here
    boardroom-healthcheck api [--ready]     GET /healthz (or /readyz) on the local API
    boardroom-healthcheck worker [--ready]  the worker process (and, with --ready, its dependencies)

Liveness (the default) asks "is the process alive and answering" and never depends on Temporal or
the database, so an outage of either does not make Kubernetes restart every pod. `--ready` adds
the dependencies: the API's /readyz (Temporal and the database), or for a worker a gRPC health
check against the configured Temporal (the worker's own TLS / API key settings) and `SELECT 1` —
not for a worker whose role is `workflows` (`--role` on its command line, else
BOARDROOM_WORKER_ROLE): it never touches the database.

Exit status 0 means healthy, 1 unhealthy (the reason goes to stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

ROLES = ("api", "worker")
# /proc/<pid>/stat states of a process that will not make progress: zombie, dead, stopped.
DEAD_STATES = frozenset("ZXxTt")


def role_of(argv: Sequence[str]) -> str | None:
    """`api` or `worker` when argv runs the `boardroom` console script (or `-m boardroom.cli`)."""
    for i, arg in enumerate(argv):
        if Path(arg).name == "boardroom" or arg == "boardroom.cli":
            for rest in argv[i + 1 :]:
                if rest in ROLES:
                    return rest
            return None
    return None


def worker_role_flag(argv: Sequence[str]) -> str | None:
    """The value of `--role` on a `boardroom worker` command line (None when not given)."""
    for i, arg in enumerate(argv):
        if arg == "--role" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--role="):
            return arg.partition("=")[2]
    return None


def cmdline(pid: int, proc_root: Path = Path("/proc")) -> list[str]:
    try:
        raw = (proc_root / str(pid) / "cmdline").read_bytes()
    except OSError:  # the process ended while we looked
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def boardroom_processes(proc_root: Path = Path("/proc")) -> Iterator[tuple[int, str, str]]:
    """(pid, role, state) of every `boardroom api|worker` process visible in this container."""
    own = os.getpid()
    for entry in proc_root.iterdir():
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended while we looked
            continue
        role = role_of(cmdline(int(entry.name), proc_root))
        if role is None:
            continue
        # stat is "pid (comm) state ...": comm may hold spaces and parentheses, state follows the last ")".
        fields = stat.rpartition(")")[2].split()
        yield int(entry.name), role, fields[0] if fields else "?"


def api_url(path: str) -> str:
    host = os.environ.get("BOARDROOM_API_HOST", "") or "127.0.0.1"
    if host in ("0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    port = os.environ.get("BOARDROOM_API_PORT", "") or "8000"
    return f"http://{host}:{port}{path}"


def probe_api(ready: bool, timeout: float) -> str | None:
    """None when the API answers 200 on /healthz (or /readyz), else the reason."""
    url = api_url("/readyz" if ready else "/healthz")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            if response.status != 200:
                return f"{url} answered {response.status}"
    except urllib.error.HTTPError as exc:
        return f"{url} answered {exc.code}"
    except (OSError, ValueError) as exc:
        return f"{url} did not answer ({exc})"
    return None


def sqlalchemy_url(url: str) -> str:
    """store.db.normalize_url without importing store.db (alembic: a second of import per probe)."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


async def _worker_dependencies(flags: Sequence[str | None]) -> None:
    """Temporal answers; and the database, unless every worker here has the `workflows` role
    (`flags`: each worker's `--role`, None where it runs with BOARDROOM_WORKER_ROLE)."""
    from boardroom.client import connect
    from boardroom.settings import load_settings

    settings = load_settings()
    client = await connect(settings)
    if not await client.service_client.check_health():
        raise RuntimeError(f"Temporal at {settings.temporal_address} is not serving")
    if all((flag or settings.worker_role) == "workflows" for flag in flags):
        return  # a workflows worker never touches the database: its outage is not this worker's
    from sqlalchemy import create_engine, text

    engine = create_engine(sqlalchemy_url(settings.database_url))
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()


def probe_worker(ready: bool, timeout: float, proc_root: Path = Path("/proc")) -> str | None:
    """None when a live worker process runs here (and, with ready, Temporal and, unless the worker's
    role is `workflows`, the database answer)."""
    workers = [(pid, state) for pid, role, state in boardroom_processes(proc_root) if role == "worker"]
    if not workers:
        return "no `boardroom worker` process is running"
    stuck = [f"pid {pid} is in state {state}" for pid, state in workers if state in DEAD_STATES]
    if len(stuck) == len(workers):
        return "; ".join(stuck)
    if ready:
        try:
            flags = [worker_role_flag(cmdline(pid, proc_root)) for pid, state in workers if state not in DEAD_STATES]
            asyncio.run(asyncio.wait_for(_worker_dependencies(flags), timeout))
        except Exception as exc:  # any failure is "not ready", reported in one line
            return f"dependencies not ready: {type(exc).__name__}: {exc}".splitlines()[0][:300]
    return None


def detect_role(proc_root: Path = Path("/proc")) -> str | None:
    roles = {role for _, role, _ in boardroom_processes(proc_root)}
    for role in ROLES:
        if role in roles:
            return role
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="boardroom-healthcheck", description=__doc__.splitlines()[0])
    parser.add_argument("role", nargs="?", choices=("auto", *ROLES), default="auto")
    parser.add_argument("--ready", action="store_true", help="also check Temporal and the database")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per check (default 5)")
    args = parser.parse_args(argv)
    role = detect_role() if args.role == "auto" else args.role
    if role == "api":
        problem = probe_api(args.ready, args.timeout)
    elif role == "worker":
        problem = probe_worker(args.ready, args.timeout)
    else:
        problem = "no `boardroom api` or `boardroom worker` process is running"
    if problem:
        sys.stderr.write(f"unhealthy: {problem}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
