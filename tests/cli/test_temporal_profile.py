"""Temporal's own environment configuration (`temporalio.envconfig`): a TOML profile and the SDK's
TEMPORAL_* variables reach the session's real dev server; Boardroom's variables win over them."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.health import PingInput
from boardroom.client import connect, tls_config
from boardroom.devstack import REPO_ROOT, load_devstack
from boardroom.settings import load_dev_stack_settings, load_settings
from domain.errors import ConfigError
from workers.schedules import ensure_digest_schedule
from workers.worker import create_worker
from workflows.smoke import SmokeWorkflow

# Variables either convention reads: cleared so that only what a test sets counts.
CONNECTION_VARIABLES = (
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TEMPORAL_API_KEY",
    "TEMPORAL_TLS",
    "TEMPORAL_TLS_CERT",
    "TEMPORAL_TLS_KEY",
    "TEMPORAL_TLS_CA",
    "TEMPORAL_TLS_SERVER_NAME",
    "TEMPORAL_TLS_CLIENT_CERT_PATH",
    "TEMPORAL_TLS_CLIENT_KEY_PATH",
    "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
    "TEMPORAL_PROFILE",
    "TEMPORAL_CONFIG_FILE",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in CONNECTION_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    # The default profile file lives under the user's config directory: point it at nothing.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))


def setenv(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def profile_file(tmp_path: Path, address: str, namespace: str, extra: str = "") -> Path:
    path = tmp_path / "temporal.toml"
    path.write_text(
        f'[profile.default]\naddress = "127.0.0.1:1"\n\n'
        f'[profile.boardroom-test]\naddress = "{address}"\nnamespace = "{namespace}"\n{extra}'
    )
    return path


async def test_a_toml_profile_reaches_the_dev_server(
    dev_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str
) -> None:
    target, namespace = dev_env.client.service_client.config.target_host, dev_env.client.namespace
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(profile_file(tmp_path, target, namespace)))
    monkeypatch.setenv("TEMPORAL_PROFILE", "boardroom-test")
    task_queue = f"profile-{uuid.uuid4().hex[:8]}"
    settings = load_settings(
        environment="test", database_url=db_url, task_queue=task_queue, secret_key="profile-secret-key"
    )
    assert (settings.temporal_address, settings.temporal_namespace) == (target, namespace)
    client = await connect(settings)
    async with create_worker(client, settings):
        out = await client.execute_workflow(
            SmokeWorkflow.run, PingInput(message="profile"), id=task_queue, task_queue=task_queue
        )
    assert out.message == "profile"

    # The CLI in a process of its own finds the same server from the same two variables.
    await ensure_digest_schedule(client, settings)
    # Only the two profile variables (set above) say where Temporal is.
    env = {**os.environ, "TEMPORAL_TASK_QUEUE": task_queue}
    assert "TEMPORAL_ADDRESS" not in env and env["TEMPORAL_PROFILE"] == "boardroom-test"
    shown = subprocess.run(
        [sys.executable, "-m", "boardroom.cli", "digest"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f"digest schedule {task_queue}-digest: 0 8 * * * UTC"), shown.stdout


def test_boardroom_variables_win_over_the_profile_and_the_sdk_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tls = tmp_path / "tls"
    tls.mkdir()
    for name in ("profile.crt", "profile.key", "ca.pem", "own.crt", "own.key"):
        (tls / name).write_text(f"-----{name}-----")
    extra = (
        "[profile.boardroom-test.tls]\n"
        f'client_cert_path = "{tls / "profile.crt"}"\n'
        f'client_key_path = "{tls / "profile.key"}"\n'
        f'server_ca_cert_path = "{tls / "ca.pem"}"\n'
        'server_name = "temporal.internal"\n'
    )
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(profile_file(tmp_path, "file.example:7233", "from-file", extra)))
    monkeypatch.setenv("TEMPORAL_PROFILE", "boardroom-test")

    from_profile = load_settings()
    assert from_profile.temporal_address == "file.example:7233"
    assert from_profile.temporal_namespace == "from-file"
    assert from_profile.temporal_tls is True
    assert (from_profile.temporal_tls_cert, from_profile.temporal_tls_key) == (tls / "profile.crt", tls / "profile.key")
    assert from_profile.temporal_tls_ca == tls / "ca.pem"
    config = tls_config(from_profile)
    assert not isinstance(config, bool)
    assert config.client_cert == b"-----profile.crt-----" and config.client_private_key == b"-----profile.key-----"
    assert config.server_root_ca_cert == b"-----ca.pem-----" and config.domain == "temporal.internal"

    # The SDK's variables override the file (the SDK's own rule) …
    setenv(
        monkeypatch,
        TEMPORAL_NAMESPACE="from-env",
        TEMPORAL_TLS_CLIENT_CERT_PATH=str(tls / "own.crt"),
        TEMPORAL_TLS_CLIENT_KEY_PATH=str(tls / "own.key"),
    )
    from_sdk_env = load_settings()
    assert from_sdk_env.temporal_namespace == "from-env"
    assert from_sdk_env.temporal_tls_cert == tls / "own.crt"
    # … and Boardroom's own variables override both.
    setenv(
        monkeypatch,
        TEMPORAL_ADDRESS="boardroom.example:7233",
        TEMPORAL_TLS_CERT=str(tls / "profile.crt"),
        TEMPORAL_TLS_KEY=str(tls / "profile.key"),
    )
    ours = load_settings()
    assert ours.temporal_address == "boardroom.example:7233"
    assert ours.temporal_tls_cert == tls / "profile.crt"
    # `boardroom up` runs its own dev server and reads no profile.
    dev = load_devstack()
    monkeypatch.delenv("TEMPORAL_ADDRESS")
    monkeypatch.delenv("TEMPORAL_NAMESPACE")
    up = load_dev_stack_settings()
    assert (up.temporal_address, up.temporal_namespace) == (dev.address, dev.namespace)


def test_sdk_variables_alone_and_an_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "acct.tmprl.cloud:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "ns.acct")
    monkeypatch.setenv("TEMPORAL_API_KEY", "cloud-key")
    settings = load_settings()
    assert settings.temporal_api_key == "cloud-key"
    assert tls_config(settings) is True  # an API key always speaks TLS


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        (None, {"TEMPORAL_CONFIG_FILE": "/nonexistent/temporal.toml"}, "TEMPORAL_CONFIG_FILE: no such file"),
        ('[profile.default]\naddress = "a:1"\n', {"TEMPORAL_PROFILE": "nope"}, "Profile 'nope' not found"),
        ("[profile.default\n", {}, "Temporal environment configuration"),
        (
            '[profile.default.tls]\nclient_cert_data = "PEM"\nclient_key_data = "PEM"\n',
            {},
            "give the TLS client_cert as a file (client_cert_path)",
        ),
        ('[profile.default.grpc_meta]\nx-tenant = "a"\n', {}, "grpc_meta is not supported"),
    ],
)
def test_a_bad_profile_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, toml: str | None, env: dict[str, str], message: str
) -> None:
    if toml is not None:
        path = tmp_path / "temporal.toml"
        path.write_text(toml)
        monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(path))
    setenv(monkeypatch, **env)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings()
