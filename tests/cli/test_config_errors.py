"""Bad configuration stops `boardroom` with one line on stderr, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from boardroom.devstack import load_devstack
from boardroom.settings import load_settings
from domain.errors import ConfigError
from workers.devstack_runner import dev_server_command

BOARDROOM = [sys.executable, "-m", "boardroom.cli"]


def run(args: list[str], env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*BOARDROOM, *args], capture_output=True, text=True, timeout=timeout, env=full_env)


def assert_one_line(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_unknown_key_in_dev_stack_file(tmp_path: Path) -> None:
    bad = tmp_path / "temporal-dev.yaml"
    bad.write_text("namespace: default\nfrontend:\n  port: 7233\n  colour: blue\n")
    with pytest.raises(ConfigError, match="unknown key 'frontend.colour'"):
        load_devstack(bad)
    assert_one_line(run(["--config", str(bad), "up"]), "unknown key 'frontend.colour'")


def test_invalid_value_in_dev_stack_file(tmp_path: Path) -> None:
    bad = tmp_path / "temporal-dev.yaml"
    bad.write_text("ui:\n  port: 99999\n")
    assert_one_line(run(["--config", str(bad), "up"]), "ui.port")


def test_unreachable_temporal(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free, and nobody listens on it after the close
    proc = run(
        ["worker"],
        env={"TEMPORAL_ADDRESS": f"127.0.0.1:{port}", "DATABASE_URL": f"sqlite:///{tmp_path}/b.db"},
    )
    assert_one_line(proc, "cannot reach Temporal", f"127.0.0.1:{port}")


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = run(["api"], env={"BOARDROOM_API_PORT": str(port), "DATABASE_URL": f"sqlite:///{tmp_path}/b.db"})
    assert_one_line(proc, f"port {port}", "in use")


def test_placeholder_secrets_refused_in_production() -> None:
    with pytest.raises(ConfigError, match="placeholder secrets are refused"):
        load_settings(environment="production")
    assert_one_line(run(["worker"], env={"BOARDROOM_ENV": "production"}), "placeholder secrets")


def test_environment_overrides_dev_stack_file(monkeypatch: pytest.MonkeyPatch) -> None:
    dev = load_devstack()
    assert load_settings().temporal_address == dev.address
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.example:7233")
    assert load_settings().temporal_address == "temporal.example:7233"


def test_empty_optional_variables_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_TLS_CERT", "")
    monkeypatch.setenv("OPENAI_API_KEY", " ")
    settings = load_settings()
    assert settings.temporal_tls_cert is None
    assert settings.openai_api_key is None
    assert settings.provider == "offline"


def test_unknown_worker_role_is_one_line() -> None:
    assert_one_line(run(["worker"], env={"BOARDROOM_WORKER_ROLE": "both"}), "BOARDROOM_WORKER_ROLE", "'both'")


def test_worker_role_setting_and_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    from boardroom.cli import WORKER_ROLES, build_parser
    from boardroom.settings import WORKER_ROLES as SETTING_ROLES

    assert WORKER_ROLES == SETTING_ROLES
    assert load_settings().worker_role == "all"
    monkeypatch.setenv("BOARDROOM_WORKER_ROLE", " Workflows ")
    assert load_settings().worker_role == "workflows"
    # The CLI flag is an override: it wins over the environment.
    assert load_settings(worker_role="activities").worker_role == "activities"
    assert build_parser().parse_args(["worker", "--role", "activities"]).role == "activities"
    assert build_parser().parse_args(["worker"]).role is None
    with pytest.raises(ConfigError, match="BOARDROOM_WORKER_ROLE must be one of all, workflows, activities"):
        load_settings(worker_role="everything")


def test_the_dev_servers_sqlite_settings_are_checked_and_passed_on(tmp_path: Path) -> None:
    dev = load_devstack()
    assert (dev.sqlite.journal_mode, dev.sqlite.synchronous) == ("wal", "normal")
    cmd = dev_server_command(dev, load_settings(), tmp_path)
    pragmas = [cmd[i + 1] for i, arg in enumerate(cmd) if arg == "--sqlite-pragma"]
    assert pragmas == ["journal_mode=wal", "synchronous=normal"]
    bad = tmp_path / "temporal-dev.yaml"
    bad.write_text("sqlite:\n  journal_mode: fast\n")
    with pytest.raises(ConfigError, match="sqlite.journal_mode"):
        load_devstack(bad)
    assert_one_line(run(["--config", str(bad), "up"]), "sqlite.journal_mode")
