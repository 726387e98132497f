"""The image's health probe (infra/docker/boardroom_healthcheck.py): role detection from /proc,
the worker's liveness, and the API probe against a real local HTTP server."""

from __future__ import annotations

import importlib.util
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest
from temporalio.testing import WorkflowEnvironment

SCRIPT = Path(__file__).resolve().parents[2] / "infra" / "docker" / "boardroom_healthcheck.py"


@pytest.fixture(scope="module")
def probe() -> ModuleType:
    spec = importlib.util.spec_from_file_location("boardroom_healthcheck", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_proc(root: Path, processes: dict[int, tuple[list[str], str]]) -> Path:
    """A /proc with one directory per pid: cmdline (NUL-separated) and stat."""
    for pid, (argv, state) in processes.items():
        entry = root / str(pid)
        entry.mkdir(parents=True)
        (entry / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
        (entry / "stat").write_text(f"{pid} (python (x)) {state} 1 1 1 0 -1")
    (root / "self").mkdir(parents=True, exist_ok=True)  # non-numeric entries are skipped
    return root


WORKER = ["/opt/venv/bin/python", "/opt/venv/bin/boardroom", "worker"]
API = ["/opt/venv/bin/python", "/opt/venv/bin/boardroom", "--config", "x.yaml", "api"]


def test_role_of_reads_the_boardroom_command(probe: ModuleType) -> None:
    assert probe.role_of(WORKER) == "worker"
    assert probe.role_of(API) == "api"
    assert probe.role_of(["python", "-m", "boardroom.cli", "worker"]) == "worker"
    assert probe.role_of(["boardroom", "up"]) is None
    assert probe.role_of(["/usr/bin/python", "/opt/venv/bin/boardroom-healthcheck", "worker"]) is None
    assert probe.role_of(["sleep", "5"]) is None


def test_processes_and_role_detection(probe: ModuleType, tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, {1: (WORKER, "S"), 7: (["sleep", "5"], "S")})
    assert list(probe.boardroom_processes(proc)) == [(1, "worker", "S")]
    assert probe.detect_role(proc) == "worker"
    assert probe.detect_role(fake_proc(tmp_path / "empty", {})) is None


def test_worker_liveness(probe: ModuleType, tmp_path: Path) -> None:
    alive = fake_proc(tmp_path / "alive", {1: (WORKER, "S")})
    assert probe.probe_worker(False, 1.0, alive) is None
    zombie = fake_proc(tmp_path / "zombie", {1: (WORKER, "Z")})
    assert "state Z" in probe.probe_worker(False, 1.0, zombie)
    api_only = fake_proc(tmp_path / "api", {1: (API, "S")})
    assert "no `boardroom worker`" in probe.probe_worker(False, 1.0, api_only)


@pytest.mark.parametrize(
    ("env_role", "flag", "ready"),
    [
        ("workflows", None, True),
        ("activities", None, False),
        ("all", None, False),
        # `boardroom worker --role` wins over BOARDROOM_WORKER_ROLE, as in the worker itself.
        ("activities", "workflows", True),
        ("workflows", "activities", False),
    ],
)
def test_worker_readiness_needs_the_database_unless_the_role_is_workflows(
    probe: ModuleType,
    dev_env: WorkflowEnvironment,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    env_role: str,
    flag: str | None,
    ready: bool,
) -> None:
    """Temporal answers, the database does not (a closed port): only a workflows worker, which
    never touches the database, is ready."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    monkeypatch.setenv("TEMPORAL_ADDRESS", dev_env.client.service_client.config.target_host)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", dev_env.client.namespace)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://nobody@127.0.0.1:{closed}/none?connect_timeout=2")
    monkeypatch.setenv("BOARDROOM_WORKER_ROLE", env_role)
    proc = fake_proc(tmp_path, {41: ([*WORKER, *(["--role", flag] if flag else [])], "S")})
    problem = probe.probe_worker(True, 20.0, proc)
    if ready:
        assert problem is None
    else:
        assert problem is not None and problem.startswith("dependencies not ready: OperationalError"), problem


def test_the_worker_role_flag_is_read_from_the_command_line(probe: ModuleType) -> None:
    assert probe.worker_role_flag([*WORKER, "--role", "workflows"]) == "workflows"
    assert probe.worker_role_flag([*WORKER, "--role=activities"]) == "activities"
    assert probe.worker_role_flag(WORKER) is None


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def api_port(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    port = server.server_address[1]
    monkeypatch.setenv("BOARDROOM_API_HOST", "0.0.0.0")
    monkeypatch.setenv("BOARDROOM_API_PORT", str(port))
    yield port
    server.shutdown()
    server.server_close()


def test_api_probe_uses_healthz_and_readyz(probe: ModuleType, api_port: int) -> None:
    assert probe.api_url("/healthz") == f"http://127.0.0.1:{api_port}/healthz"
    assert probe.probe_api(False, 2.0) is None
    assert "answered 503" in probe.probe_api(True, 2.0)
    assert probe.main(["api"]) == 0
    assert probe.main(["api", "--ready"]) == 1


def test_api_probe_reports_a_closed_port(probe: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("BOARDROOM_API_PORT", str(port))
    assert "did not answer" in probe.probe_api(False, 1.0)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@db:5432/x", "postgresql+psycopg://u:p@db:5432/x"),
        ("postgres://u@db/x", "postgresql+psycopg://u@db/x"),
        ("postgresql+psycopg://db/x", "postgresql+psycopg://db/x"),
        ("sqlite:///.data/b.db", "sqlite:///.data/b.db"),
    ],
)
def test_database_url_uses_psycopg_like_the_store(probe: ModuleType, url: str, expected: str) -> None:
    # The same rule as store.db.normalize_url (not imported by the probe: alembic costs a second).
    assert probe.sqlalchemy_url(url) == expected
