"""A real Boardroom stack in processes, for fault and scale tests.

`Stack` runs a `temporal server start-dev` subprocess on a persistent database file (headless,
free ports, search attributes and dynamic config from temporal-dev.yaml), `boardroom worker` and
`boardroom api` subprocesses pointed at it (their own SQLite database and task queue), and hands
out a Temporal client through `boardroom.client.connect`. Every process runs in a process group
of its own, logs to a file under the test's tmp_path and is killed when the stack closes.

Workers have no identity option: the SDK's default identity is `pid@host`, so a worker's share
of the work is counted from the `identity` of WorkflowTaskStarted / ActivityTaskStarted events.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle

from boardroom.client import connect
from boardroom.devstack import Frontend, Ui, load_devstack
from boardroom.settings import Settings, load_settings
from domain.enums import Phase, Status, TaskStatus
from domain.project import ProjectState
from store.db import migrate
from tests.fakes.openai_server import FakeOpenAI, RecordedRequest, Reply, chat_completion
from workers.devstack_runner import dev_server_command
from workflows.project import ProjectWorkflow

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = socket.gethostname()

# Secrets the API and worker share with the tests (webhook signing, link signing).
SECRETS = {
    "BOARDROOM_SECRET_KEY": "stack-secret-key",
    "STRIPE_WEBHOOK_SECRET": "whsec_stack",
    "GITHUB_WEBHOOK_SECRET": "github-stack-secret",
    "SLACK_SIGNING_SECRET": "slack-stack-secret",
}
# Inherited variables that would point a subprocess somewhere else.
PR_SET_PDEATHSIG = 1
_SCRUB_PREFIXES = ("TEMPORAL_", "BOARDROOM_", "OPENAI_", "STRIPE_", "GITHUB_", "SLACK_", "OTEL_")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Resolved once in the parent: the child only makes the call (no dlopen between fork and exec).
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL when the test process dies, even without teardown."""
    _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)


def _kill_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _reap(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> int | None:
    """SIGKILL the whole group if needed and wait; no orphans, no zombies."""
    if proc.poll() is None:
        _kill_group(proc, signal.SIGKILL)
    else:
        # The leader is gone; children it left in its group must go too.
        _kill_group(proc, signal.SIGKILL)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


class Fatal(AssertionError):
    """Raised by a check to stop waiting at once (a process died, a project failed)."""


async def _until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll an (async or sync) check until it returns something truthy; a hang guard only.

    Other errors (a query while a server restarts...) are retried; `Fatal` ends the wait."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return result
        except Fatal:
            raise
        except Exception as exc:  # noqa: BLE001 (kept for the failure message)
            last_error = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last_error!r})")
        await asyncio.sleep(interval)


# What `boardroom worker` logs once it polls its task queue.
READY_LINE = "worker polling task queue"


# --- processes ----------------------------------------------------------------------------------


@dataclass
class Proc:
    """One subprocess of the stack, in its own process group, logging to a file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def identity(self) -> str:
        """The Temporal SDK's default worker identity for this process."""
        return f"{self.pid}@{HOST}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def sigkill(self) -> int | None:
        """Kill the process (and its group) without warning."""
        return _reap(self.popen)

    def sigterm(self) -> None:
        """Ask the process to stop (graceful shutdown); see `wait`."""
        with contextlib.suppress(ProcessLookupError):
            self.popen.send_signal(signal.SIGTERM)

    async def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.popen.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} (pid {self.pid}) still running after {timeout:.0f}s")
            await asyncio.sleep(0.1)
        return int(self.popen.returncode)


@dataclass
class DevServer:
    """`temporal server start-dev` on a persistent database file; restartable on the same file."""

    tmp: Path
    # Without a database file the server keeps its state in memory: faster, not restartable.
    persistent: bool = True
    port: int = field(default_factory=free_port)
    proc: Proc | None = None
    starts: int = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def db_file(self) -> Path:
        return self.tmp / "temporal.db"

    def command(self) -> list[str]:
        dev = load_devstack().model_copy(
            update={
                "frontend": Frontend(ip="127.0.0.1", port=self.port),
                "ui": Ui(enabled=False),
                "database_file": str(self.db_file),
            }
        )
        settings = load_settings(temporal_address=self.address)
        cmd = dev_server_command(dev, settings, self.tmp)
        if not self.persistent:
            at = cmd.index("--db-filename")
            del cmd[at : at + 2]
            while "--sqlite-pragma" in cmd:
                at = cmd.index("--sqlite-pragma")
                del cmd[at : at + 2]
        # Each restart gets fresh HTTP and metrics ports (the old ones may linger in TIME_WAIT).
        return [*cmd, "--http-port", str(free_port()), "--metrics-port", str(free_port())]

    async def start(self, timeout: float = 60.0) -> None:
        assert self.proc is None or not self.proc.alive(), "the dev server is already running"
        self.starts += 1
        log = self.tmp / "temporal.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                self.command(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.tmp,
                preexec_fn=_die_with_parent,
            )
        self.proc = Proc(f"temporal#{self.starts}", popen, log)
        settings = load_settings(temporal_address=self.address)

        async def healthy() -> bool:
            if not self.proc or not self.proc.alive():
                raise Fatal(f"the dev server exited:\n{log.read_text(errors='replace')[-2000:]}")
            client = await connect(settings)
            return bool(await client.service_client.check_health())

        await _until(healthy, timeout, "the Temporal dev server", interval=0.3)

    async def stop(self, graceful: bool = True, timeout: float = 20.0) -> None:
        if self.proc is None or not self.proc.alive():
            return
        if graceful:
            _kill_group(self.proc.popen, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.proc.alive() and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
        self.proc.sigkill()

    def close(self) -> None:
        if self.proc is not None:
            self.proc.sigkill()


# --- fakes ---------------------------------------------------------------------------------------


def _schema_name(request: RecordedRequest) -> str:
    return str(request.response_format.get("json_schema", {}).get("name", ""))


PLAN_TASKS = [
    {
        "id": "positioning",
        "title": "Positioning statement",
        "role": "business-strategist",
        "description": "Who we serve and why us.",
        "deliverable_kind": "strategy",
        "depends_on": [],
        "acceptance_criteria": ["names the segment", "one-sentence value proposition"],
        "risk": "low",
        "cost_estimate_usd": 0.01,
    },
    {
        "id": "landing-copy",
        "title": "Landing page copy",
        "role": "copywriter",
        "description": "Copy for the launch page.",
        "deliverable_kind": "content",
        "depends_on": ["positioning"],
        "acceptance_criteria": ["headline", "three benefits", "call to action"],
        "risk": "low",
        "cost_estimate_usd": 0.01,
    },
    {
        "id": "pricing",
        "title": "Launch pricing",
        "role": "pricing-strategist",
        "description": "The launch price and why.",
        "deliverable_kind": "pricing",
        "depends_on": [],
        "acceptance_criteria": ["one price", "rationale"],
        "risk": "high",
        "cost_estimate_usd": 0.01,
    },
]


def structured_answer(request: RecordedRequest) -> dict[str, Any]:
    """A valid structured output for whichever agent schema the request asks for."""
    name = _schema_name(request)
    if name == "QuestionsOut":
        return {"questions": ["Who buys?", "At what price?", "What would success look like?"]}
    if name == "ResearchOut":
        return {"summary": "A small, loyal niche.", "report_markdown": "# Research\nA small, loyal niche."}
    if name == "PlanOut":
        return {
            "summary": "Position, price, write the page, launch.",
            "kind": "business",
            "tasks": PLAN_TASKS,
            "offer": {
                "product_name": "Starter kit",
                "description": "Everything to begin",
                "price": 29.0,
                "currency": "USD",
                "unit": "",
                "audience": "first-time founders",
                "region": "",
                "constraints": [],
            },
            "risks": ["a small market"],
        }
    if name == "DeliverableOut":
        user = request.messages[-1]["content"] if request.messages else ""
        return {
            "title": "Deliverable",
            "summary": "Done as asked.",
            "content_markdown": f"# Deliverable\n\n{str(user)[:200]}",
            "files": [],
        }
    if name == "ReviewOut":
        return {"score": 8.5, "summary": "Meets the criteria.", "issues": []}
    if name == "KpiOut":
        return {"summary": "Steady; no change needed.", "improvements": []}
    if name == "ComplianceOut":
        return {"summary": "Nothing beyond the rule checks.", "findings": []}
    raise AssertionError(f"the fake LLM has no answer for schema {name!r}")


class ScriptedLLM(FakeOpenAI):
    """The fake OpenAI server answering every agent call with a valid structured output.

    Scripted replies (`script(...)`) still come first; after them `default` answers (a callable
    returning a Reply; by default a valid answer after `delay_s`). `fault(request)` may return a
    Reply to inject instead (a burst of 429s, a slow answer...).
    """

    def __init__(self, *, delay_s: float = 0.0, lifetime_s: float = 900.0) -> None:
        super().__init__(lifetime_s=lifetime_s)
        self.delay_s = delay_s
        self.fault: Callable[[RecordedRequest], Reply | None] | None = None

    def answer(self, request: RecordedRequest) -> Reply:
        reply = chat_completion(structured_answer(request), prompt_tokens=200, completion_tokens=80)
        reply.delay_s = self.delay_s
        return reply

    def _next(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            scripted = self._script.popleft() if self._script else None
        if scripted is not None:
            return scripted(request) if callable(scripted) else scripted
        injected = self.fault(request) if self.fault is not None else None
        return injected if injected is not None else self.answer(request)

    def calls_by_schema(self) -> Counter[str]:
        return Counter(_schema_name(r) for r in self.chat_requests())


# --- the stack -----------------------------------------------------------------------------------


@dataclass
class Stack:
    """Dev server, workers, API and a client for one test; `close()` kills every process."""

    tmp: Path
    task_queue: str
    env: dict[str, str] = field(default_factory=dict)
    server: DevServer = field(init=False)
    workers: list[Proc] = field(default_factory=list)
    api: Proc | None = None
    api_port: int = 0
    _client: Client | None = None

    def __post_init__(self) -> None:
        self.server = DevServer(self.tmp)
        self.db_file = self.tmp / "boardroom.db"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.db_file}"

    def settings(self, **overrides: Any) -> Settings:
        return load_settings(
            temporal_address=self.server.address,
            task_queue=self.task_queue,
            database_url=self.database_url,
            environment="test",
            agent_provider="offline",
            openai_api_key=None,
            **overrides,
        )

    def base_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB_PREFIXES) and k != "DATABASE_URL"}
        env.update(
            {
                "TEMPORAL_ADDRESS": self.server.address,
                "TEMPORAL_NAMESPACE": "default",
                "TEMPORAL_TASK_QUEUE": self.task_queue,
                "DATABASE_URL": self.database_url,
                "BOARDROOM_ENV": "test",
                "BOARDROOM_AGENT_PROVIDER": "offline",
                "BOARDROOM_GRACEFUL_SHUTDOWN_S": "30",
                "PYTHONUNBUFFERED": "1",
                **SECRETS,
            }
        )
        env.update(self.env)
        env.update(extra or {})
        return env

    async def client(self) -> Client:
        if self._client is None:
            self._client = await connect(self.settings())
        return self._client

    # -- processes ----------------------------------------------------------------------------

    def _spawn(self, name: str, cmd: list[str], env: dict[str, str]) -> Proc:
        log = self.tmp / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=REPO_ROOT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        return Proc(name, popen, log)

    async def start_worker(
        self,
        env: dict[str, str] | None = None,
        *,
        module: str | None = None,
        timeout: float = 60.0,
    ) -> Proc:
        """`boardroom worker` (or `python -m module`), ready once it polls the task queue."""
        (proc,) = await self.start_workers(1, env, module=module, timeout=timeout)
        return proc

    async def start_workers(
        self,
        count: int,
        env: dict[str, str] | None = None,
        *,
        module: str | None = None,
        timeout: float = 90.0,
    ) -> list[Proc]:
        """Several workers started together (their imports overlap), each ready once polling."""
        cmd = [sys.executable, "-m", module] if module else [str(BIN / "boardroom"), "worker"]
        procs = []
        for _ in range(count):
            proc = self._spawn(f"worker-{len(self.workers) + 1}", cmd, self.base_env(env))
            self.workers.append(proc)
            procs.append(proc)

        def ready() -> bool:
            for proc in procs:
                if not proc.alive():
                    raise Fatal(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.output()[-3000:]}")
            return all(READY_LINE in proc.output() for proc in procs)

        await _until(ready, timeout, f"{count} worker(s) to poll", interval=0.1)
        return procs

    async def start_api(self, env: dict[str, str] | None = None, timeout: float = 60.0) -> Proc:
        """`boardroom api` on a free port, ready once /healthz answers."""
        self.api_port = self.api_port or free_port()
        extra = {"BOARDROOM_API_HOST": "127.0.0.1", "BOARDROOM_API_PORT": str(self.api_port)}
        extra["BOARDROOM_PUBLIC_URL"] = self.api_url
        proc = self._spawn("api", [str(BIN / "boardroom"), "api"], self.base_env({**extra, **(env or {})}))
        self.api = proc

        async def ready() -> bool:
            if not proc.alive():
                raise Fatal(f"the API exited with {proc.popen.returncode}:\n{proc.output()[-3000:]}")
            async with httpx.AsyncClient(timeout=2) as http:
                return (await http.get(f"{self.api_url}/healthz")).status_code == 200

        await _until(ready, timeout, "the API", interval=0.2)
        return proc

    async def stop_api(self) -> None:
        if self.api is not None and self.api.alive():
            self.api.sigterm()
            with contextlib.suppress(AssertionError):
                await self.api.wait(15)
            self.api.sigkill()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def close(self) -> None:
        for proc in [*self.workers, *([self.api] if self.api else [])]:
            proc.sigkill()
        self.server.close()

    # -- reading Temporal ---------------------------------------------------------------------

    async def workflow_ids(self) -> list[str]:
        client = await self.client()
        return [w.id async for w in client.list_workflows(f'TaskQueue="{self.task_queue}"')]

    async def participation(self, workflow_ids: Iterable[str] | None = None) -> dict[str, Counter[str]]:
        """Per worker identity: how many workflow and activity tasks it started."""
        client = await self.client()
        ids = list(workflow_ids) if workflow_ids is not None else await self.workflow_ids()
        counts: dict[str, Counter[str]] = {"workflow_tasks": Counter(), "activity_tasks": Counter()}
        for wid in ids:
            async for event in client.get_workflow_handle(wid).fetch_history_events():
                if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                    counts["workflow_tasks"][event.workflow_task_started_event_attributes.identity] += 1
                elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                    counts["activity_tasks"][event.activity_task_started_event_attributes.identity] += 1
        return counts

    async def started_activities(self, worker: Proc | None = None) -> list[tuple[str, str, int]]:
        """(workflow id, activity type, attempt) of activities running now (on `worker`, if given)."""
        client = await self.client()
        running: list[tuple[str, str, int]] = []
        async for wf in client.list_workflows(f'TaskQueue="{self.task_queue}" AND ExecutionStatus="Running"'):
            desc = await client.get_workflow_handle(wf.id).describe()
            for act in desc.raw_description.pending_activities:
                if act.state != PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
                    continue
                if worker is not None and act.last_worker_identity != worker.identity:
                    continue
                running.append((wf.id, act.activity_type.name, act.attempt))
        return running


@contextlib.asynccontextmanager
async def running_stack(tmp: Path, task_queue: str, *, persistent: bool = True, **env: str) -> AsyncIterator[Stack]:
    """A started dev server (no workers yet); everything killed on exit, whatever happened."""
    stack = Stack(tmp, task_queue, env=dict(env))
    stack.server.persistent = persistent
    # Migrated here, once: workers started together on a fresh database race each other's
    # migrations at startup (see the report on `boardroom worker`).
    migrate(stack.database_url)
    try:
        await stack.server.start()
        yield stack
    finally:
        stack.close()


# --- waiting on projects -------------------------------------------------------------------------

DONE = (TaskStatus.passed, TaskStatus.accepted)


def planned_tasks(state: ProjectState) -> list[Any]:
    return [t for t in state.tasks if not t.id.startswith("launch-")]


def in_operations(state: ProjectState) -> bool:
    return state.phase == Phase.operations


async def wait_state(
    handle: WorkflowHandle[ProjectWorkflow, ProjectState],
    predicate: Callable[[ProjectState], bool],
    timeout: float,
    what: str,
) -> ProjectState:
    """Query until the predicate holds; queries that fail while a server or worker is away are retried."""
    last: list[ProjectState] = []

    async def check() -> bool:
        state = await handle.query(ProjectWorkflow.get_state, rpc_timeout=timedelta(seconds=5))
        last[:] = [state]
        if state.status in (Status.failed, Status.cancelled):
            raise Fatal(f"project ended {state.status.value}: {state.error}")
        return predicate(state)

    try:
        await _until(check, timeout, what, interval=0.25)
    except AssertionError as exc:
        detail = ""
        if last:
            seen = last[0]
            detail = f"; phase={seen.phase} status={seen.status} tasks={[(t.id, t.status.value) for t in seen.tasks]}"
        raise AssertionError(str(exc) + detail) from None
    return last[0]


async def still_running(handle: WorkflowHandle[Any, Any]) -> bool:
    return (await handle.describe()).status == WorkflowExecutionStatus.RUNNING


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, default=str)
