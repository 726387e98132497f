"""Structural checks of the production files: Dockerfile, the Compose stack, the Kubernetes manifests.

No Docker engine and no cluster: the files are parsed (PyYAML, multi-document) and the invariants an
operator relies on are asserted: health checks and restart policies, pinned images, no literal
secrets, grace periods longer than the worker's graceful shutdown, selectors that select.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices

from boardroom.devstack import load_devstack
from boardroom.settings import SECRET_FIELDS, WORKER_ROLES, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
COMPOSE_DIR = INFRA / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
ENV_EXAMPLE = COMPOSE_DIR / ".env.example"
OTEL_CONFIG = COMPOSE_DIR / "otel-collector.yaml"
DYNAMIC_CONFIG = COMPOSE_DIR / "dynamicconfig" / "boardroom.yaml"
K8S = INFRA / "k8s"
SECRET_TEMPLATE = K8S / "secret.template.yaml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

# Compose services that run once and exit; every other service must have a health check.
ONE_SHOT_JOBS = frozenset({"temporal-search-attributes"})
# One worker service / Deployment per worker role (BOARDROOM_WORKER_ROLE), on the same task queue.
WORKER_SERVICES = {"workflows": "worker-workflows", "activities": "worker-activities"}
WORKER_DEPLOYMENTS = {"workflows": "boardroom-worker-workflows", "activities": "boardroom-worker-activities"}
# The backlog each role's autoscaler watches (KEDA temporal scaler `queueTypes`).
QUEUE_TYPES = {"workflows": "workflow", "activities": "activity"}
API_DEPLOYMENT = "boardroom-api"
# Dev-server-only dynamic config that production deliberately leaves out (a DB read per request).
DEV_ONLY_DYNAMIC_CONFIG = frozenset({"system.forceSearchAttributesCacheRefreshOnRead"})

SECRET_WORDS = frozenset(
    {
        "password", "passwords", "passwd", "pwd", "secret", "secrets", "token", "tokens",
        "key", "keys", "apikey", "credential", "credentials",
    }
)  # fmt: skip
# A whole-value reference without a default: ${NAME}, ${NAME:?message}, ${env:NAME} (collector).
REFERENCE = re.compile(r"^\$\{(?:env:)?[A-Za-z_][A-Za-z0-9_]*(?::?\?[^}]*)?\}$")
VARIABLE = re.compile(r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
URL_CREDENTIALS = re.compile(r"://(?P<user>[^/\s:@]+):(?P<password>\$\{[^}]*\}|[^@\s/]+)@")
SETTINGS = Settings.model_fields


def env_name(field: str) -> str:
    alias = SETTINGS[field].validation_alias
    assert isinstance(alias, AliasChoices)
    return str(alias.choices[0])


# The secrets Settings refuses to run without in production.
REQUIRED_SECRET_ENV = frozenset(env_name(field) for field in SECRET_FIELDS)


# ---- loading ------------------------------------------------------------------------------------


@cache
def load_docs(path: Path) -> tuple[Any, ...]:
    with path.open() as fh:
        return tuple(doc for doc in yaml.safe_load_all(fh) if doc is not None)


def yaml_files(root: Path) -> list[Path]:
    return sorted([*root.rglob("*.yaml"), *root.rglob("*.yml")])


def compose() -> dict[str, Any]:
    (doc,) = load_docs(COMPOSE_FILE)
    return doc  # type: ignore[no-any-return]


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]  # type: ignore[no-any-return]


@cache
def env_example() -> dict[str, str]:
    """KEY=value lines of .env.example that are not commented out."""
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f".env.example: not KEY=value: {line!r}"
            values[key.strip()] = value.strip()
    return values


def k8s_docs() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, doc) for path in yaml_files(K8S) for doc in load_docs(path)]


def k8s_objects(kind: str) -> dict[str, dict[str, Any]]:
    return {
        doc["metadata"]["name"]: doc
        for path, doc in k8s_docs()
        if doc.get("kind") == kind and path.name != SECRET_TEMPLATE.name
    }


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, args = line.partition(" ")
            result.append((instruction.upper(), args.strip()))
    return result


# ---- helpers (tested below, so the checks that use them mean something) ---------------------------


def image_problem(ref: str) -> str | None:
    """Why an image reference is not pinned, or None when it is (a tag other than latest, or a digest)."""
    if "$" in ref:
        return f"{ref}: unresolved variable"
    if "@sha256:" in ref:
        return None
    last = ref.rsplit("/", 1)[-1]  # a registry port (host:5000/x) is not a tag
    if ":" not in last:
        return f"{ref}: no tag (means latest)"
    if last.rsplit(":", 1)[1] in ("", "latest"):
        return f"{ref}: uses latest"
    return None


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose-style ${VAR}, ${VAR:-default}, ${VAR:?err} against the operator's .env."""

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if env.get(name):
            return env[name]
        if op in (":-", "-"):
            return arg or ""
        return match[0]  # required or unset: stays visible to the caller

    return VARIABLE.sub(substitute, value)


def secret_like(key: str) -> bool:
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key).lower()
    return any(word in SECRET_WORDS for word in re.findall(r"[a-z]+", words))


def literal_secrets(node: Any, where: str = "") -> Iterator[str]:
    """Paths of secret-like keys holding a literal value (not empty, not a ${...} reference, not a bool)."""
    if isinstance(node, dict):
        if {"name", "value"} <= node.keys() and isinstance(node["name"], str):  # k8s env entry
            if secret_like(node["name"]) and not _allowed_secret_value(node["value"]):
                yield f"{where}.{node['name']}"
        for key, value in node.items():
            path = f"{where}.{key}"
            if key in ("secretKeyRef", "configMapKeyRef", "secretTargetRef"):
                continue  # `key:` there names an entry of a Secret, it is not one
            if isinstance(value, dict | list):
                yield from literal_secrets(value, path)
            elif secret_like(str(key)) and not _allowed_secret_value(value):
                yield path
            elif isinstance(value, str):
                yield from _url_secrets(value, path)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            path = f"{where}[{i}]"
            if isinstance(item, str) and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", item):  # KEY=value entry
                key, _, value = item.partition("=")
                if secret_like(key) and not _allowed_secret_value(value):
                    yield path
                else:
                    yield from _url_secrets(value, path)
            elif isinstance(item, str):
                yield from _url_secrets(item, path)
            else:
                yield from literal_secrets(item, path)


def _allowed_secret_value(value: Any) -> bool:
    return value is None or isinstance(value, bool) or value == "" or bool(REFERENCE.match(str(value)))


def _url_secrets(value: str, where: str) -> Iterator[str]:
    for match in URL_CREDENTIALS.finditer(value):
        if not REFERENCE.match(match["password"]):
            yield f"{where} (password in URL)"


def seconds(duration: str | int | float) -> float:
    """Compose durations: 180s, 2m30s, 1h, 500ms, or a bare number of seconds."""
    if isinstance(duration, int | float):
        return float(duration)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, f"not a duration: {duration!r}"
    scale = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 0.000001}
    return sum(float(n) * scale[u] for n, u in parts)


def settings_default(name: str) -> float:
    default = SETTINGS[name].default
    assert isinstance(default, int | float)
    return float(default)


def longest_activity_timeout() -> float:
    """Seconds: the longest activity timeout in workflows/options.py, or of one LLM call."""
    import workflows.options as options

    found = [
        value.total_seconds()
        for preset in vars(options).values()
        if isinstance(preset, dict)
        for key, value in preset.items()
        if key.endswith("_timeout") and isinstance(value, timedelta)
    ]
    assert found, "workflows/options.py defines no activity timeouts"
    return max([*found, settings_default("openai_timeout_s")])


@pytest.mark.parametrize(
    ("ref", "pinned"),
    [
        ("postgres:16.9-bookworm", True),
        ("temporalio/admin-tools:1.29.1-tctl-1.18.4-cli-1.5.0", True),
        ("ghcr.io/acme/boardroom@sha256:" + "a" * 64, True),
        ("registry.local:5000/boardroom:0.1.0", True),
        ("postgres", False),
        ("postgres:latest", False),
        ("registry.local:5000/boardroom", False),
        ("${IMAGE}", False),
    ],
)
def test_image_problem_recognises_unpinned_references(ref: str, pinned: bool) -> None:
    assert (image_problem(ref) is None) is pinned


def test_secret_scanner_flags_literals_and_accepts_references() -> None:
    bad = {
        "environment": {"POSTGRES_PASSWORD2": "hunter2", "OPENAI_API_KEY": "sk-123"},
        "env": [{"name": "SLACK_BOT_TOKEN", "value": "xoxb-1"}],
        "list": ["GITHUB_WEBHOOK_SECRET=abc", "DATABASE_URL=postgresql://u:pw@db/x"],
    }
    assert len(list(literal_secrets(bad))) == 5
    good = {
        "environment": {"POSTGRES_PASSWORD": "${POSTGRES_PASSWORD:?set it}", "BOARDROOM_API_KEYS": ""},
        "url": "postgresql://u:${PW:?set it in infra/compose/.env}@db/x",
        "env": [{"name": "X_TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "X_TOKEN"}}}],
        "automountServiceAccountToken": False,
        "collector": {"api_key": "${env:OTLP_KEY}"},
    }
    assert list(literal_secrets(good)) == []
    # A default is a default password.
    assert list(literal_secrets({"POSTGRES_PASSWORD": "${POSTGRES_PASSWORD:-temporal}"}))


def test_duration_parsing() -> None:
    assert seconds("180s") == 180
    assert seconds("2m30s") == 150
    assert seconds(45) == 45
    with pytest.raises(AssertionError):
        seconds("soon")


# ---- every YAML file ---------------------------------------------------------------------------


def test_every_yaml_file_parses() -> None:
    files = yaml_files(INFRA)
    names = {p.relative_to(INFRA).as_posix() for p in files}
    assert {
        "compose/docker-compose.yml",
        "compose/otel-collector.yaml",
        "compose/dynamicconfig/boardroom.yaml",
        "k8s/kustomization.yaml",
        "k8s/worker-deployment.yaml",
        "k8s/worker-pdb.yaml",
        "k8s/api-deployment.yaml",
        "k8s/api-service.yaml",
    } <= names
    for path in files:
        assert load_docs(path), f"{path} holds no YAML document"


def test_no_literal_secrets_in_yaml() -> None:
    found = []
    for path in yaml_files(INFRA):
        found += [f"{path.relative_to(ROOT)}{hit}" for hit in literal_secrets(load_docs(path))]
    assert found == []


def test_no_literal_secrets_in_env_example() -> None:
    env = env_example()
    assert "POSTGRES_PASSWORD" in env and "BOARDROOM_SECRET_KEY" in env
    filled = [key for key, value in env.items() if secret_like(key) and value]
    assert filled == [], f".env.example must leave secrets empty: {filled}"


def test_no_secrets_baked_into_the_dockerfile() -> None:
    baked = []
    for instruction, args in dockerfile_instructions():
        if instruction in ("ENV", "ARG"):
            for key in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", args):
                if secret_like(key):
                    baked.append(key)
    assert baked == []


# ---- Dockerfile --------------------------------------------------------------------------------


def test_dockerfile_base_images_are_pinned_python_311_slim() -> None:
    stages: set[str] = set()
    bases = []
    for instruction, args in dockerfile_instructions():
        if instruction == "FROM":
            words = [w for w in args.split() if not w.startswith("--platform")]
            if words[0] not in stages:
                bases.append(words[0])
            if len(words) == 3 and words[1].upper() == "AS":
                stages.add(words[2])
    assert bases, "no FROM line"
    assert [image_problem(ref) for ref in bases if image_problem(ref)] == []
    assert all(re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", ref) for ref in bases), bases


def test_dockerfile_runs_boardroom_as_non_root() -> None:
    instructions = dockerfile_instructions()
    users = [args for instruction, args in instructions if instruction == "USER"]
    assert users, "the image must set USER"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) != 0, f"USER {users[-1]}: numeric non-root (runAsNonRoot checks it)"
    last = dict(instructions)  # the last of each instruction wins
    assert last["ENTRYPOINT"] == '["boardroom"]'
    assert last["CMD"] == '["worker"]'
    assert "HEALTHCHECK" in last and "CMD" in last["HEALTHCHECK"]
    assert "boardroom-healthcheck" in last["HEALTHCHECK"]


def test_dockerfile_installs_every_package_not_editable() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]]
    instructions = dockerfile_instructions()
    copied = {
        source.rstrip("/")
        for instruction, args in instructions
        if instruction == "COPY" and "--from" not in args
        for source in [w for w in args.split() if not w.startswith("--")][:-1]
    }
    runs = " ".join(args for instruction, args in instructions if instruction == "RUN")
    assert set(packages) <= copied, f"packages not copied into the image: {set(packages) - copied}"
    assert "infra/docker/boardroom_healthcheck.py" in copied, "the probe the orchestrators call"
    assert re.search(r"pip install [^&]*\.(\s|$)", runs), "the project is installed with `pip install .`"
    assert not re.search(r"pip install [^&]*(-e|--editable)\b", runs)
    # .dockerignore is an allow-list: everything the Dockerfile copies must be let back in.
    lines = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()]
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert "*" in lines
    assert copied <= allowed, f"copied but excluded by .dockerignore: {copied - allowed}"


# ---- Compose -----------------------------------------------------------------------------------


def test_compose_has_the_production_services() -> None:
    assert {
        "temporal-db",
        "temporal",
        "temporal-search-attributes",
        "temporal-ui",
        "app-db",
        "api",
        *WORKER_SERVICES.values(),
        "otel-collector",
    } <= services().keys()
    assert "worker" not in services(), "one service per worker role"
    assert ONE_SHOT_JOBS <= services().keys()


def test_every_compose_service_has_a_healthcheck_and_a_restart_policy() -> None:
    for name, service in services().items():
        if name in ONE_SHOT_JOBS:
            # Retried until it succeeds, never restarted after it did.
            assert service.get("restart") == "on-failure", name
            continue
        assert service.get("restart") in ("always", "unless-stopped"), name
        check = service.get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no health check"
        assert check["test"] and check["test"] != ["NONE"], name
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_depends_on_conditions_can_be_met() -> None:
    all_services = services()
    completed_by = set()
    for name, service in all_services.items():
        for target, spec in (service.get("depends_on") or {}).items():
            assert target in all_services, f"{name} depends on unknown {target}"
            condition = spec["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in all_services[target], f"{name} waits for {target} to be healthy"
            elif condition == "service_completed_successfully":
                assert target in ONE_SHOT_JOBS, f"{name} waits for long-running {target} to exit"
                completed_by.add(target)
    assert completed_by == ONE_SHOT_JOBS, "every one-shot job gates something"
    # Workers wait for the API, which migrates the database first.
    for worker in WORKER_SERVICES.values():
        assert all_services[worker]["depends_on"]["api"]["condition"] == "service_healthy", worker


def test_compose_images_are_pinned() -> None:
    env = env_example()
    for name, service in services().items():
        assert "image" in service, f"{name} has no image"
        assert image_problem(interpolate(service["image"], env)) is None, name


def test_boardroom_services_build_the_repository_image() -> None:
    for name, command in [("api", "api"), *((worker, "worker") for worker in WORKER_SERVICES.values())]:
        service = services()[name]
        assert (COMPOSE_DIR / service["build"]["context"]).resolve() == ROOT, name
        assert (ROOT / service["build"].get("dockerfile", "Dockerfile")).resolve() == DOCKERFILE
        assert ".env" in service["env_file"], f"{name} takes its secrets from .env"
        assert service["command"] == [command]


def test_compose_secrets_are_required_variables_without_defaults() -> None:
    text = COMPOSE_FILE.read_text()
    env = env_example()
    for match in VARIABLE.finditer(text):
        if secret_like(match["name"]):
            assert match["op"] in (":?", "?"), f"${{{match['name']}}} must be required (:?), no default"
            assert match["name"] in env, f"{match['name']} is missing from .env.example"
    # Every required variable is listed in .env.example for the operator to fill.
    required = {m["name"] for m in VARIABLE.finditer(text) if m["op"] in (":?", "?")}
    assert required and required <= env.keys()
    # What the app refuses to start without, compose refuses to start without.
    assert REQUIRED_SECRET_ENV <= required
    boardroom_env = compose()["x-boardroom-env"]
    for name in REQUIRED_SECRET_ENV:
        assert boardroom_env[name] == f"${{{name}:?set it in infra/compose/.env}}", name


@pytest.mark.parametrize("role", WORKER_SERVICES)
def test_worker_stop_grace_period_outlasts_graceful_shutdown_and_activities(role: str) -> None:
    worker = services()[WORKER_SERVICES[role]]
    graceful = float(worker["environment"]["BOARDROOM_GRACEFUL_SHUTDOWN_S"])
    grace = seconds(worker["stop_grace_period"])
    assert graceful >= settings_default("graceful_shutdown_s")
    assert graceful >= longest_activity_timeout(), "a running activity can finish during shutdown"
    assert grace > graceful, f"stop_grace_period {grace}s must exceed BOARDROOM_GRACEFUL_SHUTDOWN_S"
    assert "BOARDROOM_GRACEFUL_SHUTDOWN_S" not in env_example(), ".env would silently drift from it"


@pytest.mark.parametrize("role", WORKER_SERVICES)
def test_workers_scale_out(role: str) -> None:
    worker = services()[WORKER_SERVICES[role]]
    assert worker["deploy"]["replicas"] >= 2
    assert "container_name" not in worker and "ports" not in worker, "replicas cannot share a name or port"


def test_each_worker_service_runs_its_role() -> None:
    """The role is set per service (never in .env, which both read) and is one Settings accepts."""
    assert set(WORKER_SERVICES) == set(WORKER_ROLES) - {"all"}
    for role, name in WORKER_SERVICES.items():
        assert services()[name]["environment"]["BOARDROOM_WORKER_ROLE"] == role, name
        assert load_settings(worker_role=role).worker_role == role
    assert "BOARDROOM_WORKER_ROLE" not in env_example(), "one .env for both kinds of worker"
    assert "BOARDROOM_WORKER_ROLE" not in compose()["x-boardroom-env"]
    assert "BOARDROOM_WORKER_ROLE" not in services()["api"]["environment"]


def test_search_attribute_job_registers_the_devstack_attributes() -> None:
    job = services()["temporal-search-attributes"]
    script = " ".join(job["command"]) if isinstance(job["command"], list) else job["command"]
    expected = load_devstack().search_attributes
    assert {"ProjectId", "Phase", "PendingGates", "CostUsd", "Owner"} <= expected.keys()
    for name, kind in expected.items():
        assert f"{name}={kind}" in script, f"{name} ({kind}) is not registered"
    assert "temporal operator search-attribute create" in script
    assert services()["temporal"]["environment"]["SKIP_ADD_CUSTOM_SEARCH_ATTRIBUTES"] == "true"


def test_temporal_ui_decodes_through_the_boardroom_codec() -> None:
    ui = services()["temporal-ui"]["environment"]
    endpoint = interpolate(ui["TEMPORAL_CODEC_ENDPOINT"], {})
    assert ui["TEMPORAL_CODEC_ENDPOINT"].startswith("${BOARDROOM_PUBLIC_URL")
    assert endpoint == f"{SETTINGS['public_url'].default}/codec"


def test_bind_mounts_exist() -> None:
    mounts = 0
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                mounts += 1
                assert (COMPOSE_DIR / source).exists(), f"{name} mounts missing {source}"
    assert mounts >= 2


def test_production_dynamic_config_matches_the_dev_stack() -> None:
    (prod,) = load_docs(DYNAMIC_CONFIG)
    dev = load_devstack().dynamic_config
    for key, value in dev.items():
        if key in DEV_ONLY_DYNAMIC_CONFIG:
            assert key not in prod
            continue
        assert key in prod, f"{key} missing from {DYNAMIC_CONFIG.name}"
        assert [entry["value"] for entry in prod[key]] == [value], key


def test_otel_pipelines_use_defined_components_and_receive_boardroom() -> None:
    (config,) = load_docs(OTEL_CONFIG)
    for signal, pipeline in config["service"]["pipelines"].items():
        for section in ("receivers", "processors", "exporters"):
            assert set(pipeline.get(section, [])) <= config[section].keys(), f"{signal}.{section}"
    endpoint = compose()["x-boardroom-env"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
    port = endpoint.rsplit(":", 1)[1]
    assert config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].endswith(f":{port}")
    assert endpoint.startswith("http://otel-collector:")


# ---- Kubernetes --------------------------------------------------------------------------------


def kustomization() -> dict[str, Any]:
    (doc,) = load_docs(K8S / "kustomization.yaml")
    return doc  # type: ignore[no-any-return]


def pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    return deployment["spec"]["template"]["metadata"]["labels"]  # type: ignore[no-any-return]


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    spec = deployment["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def test_kustomization_lists_every_manifest_but_the_secret_template() -> None:
    resources = kustomization()["resources"]
    for resource in resources:
        assert (K8S / resource).is_file(), resource
    top_level = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(resources) == top_level - {SECRET_TEMPLATE.name}
    namespaces = k8s_objects("Namespace")
    assert list(namespaces) == [kustomization()["namespace"]]


def test_k8s_images_are_pinned() -> None:
    for image in kustomization().get("images", []):
        assert image_problem(f"{image.get('newName', image['name'])}:{image['newTag']}") is None
    for name, deployment in k8s_objects("Deployment").items():
        for container in containers(deployment):
            assert image_problem(container["image"]) is None, f"{name}/{container['name']}"


def test_every_deployment_has_resources_probes_and_runs_non_root() -> None:
    deployments = k8s_objects("Deployment")
    assert {*WORKER_DEPLOYMENTS.values(), API_DEPLOYMENT} <= deployments.keys()
    assert "boardroom-worker" not in deployments, "one Deployment per worker role"
    for name, deployment in deployments.items():
        assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels(deployment).items(), name
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        for container in pod["containers"]:
            where = f"{name}/{container['name']}"
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= container["resources"][bound].keys(), f"{where} {bound}"
            assert "livenessProbe" in container and "readinessProbe" in container, where
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, where


@pytest.mark.parametrize("role", WORKER_DEPLOYMENTS)
def test_worker_termination_grace_outlasts_shutdown_and_activities(role: str) -> None:
    worker = k8s_objects("Deployment")[WORKER_DEPLOYMENTS[role]]
    (container,) = worker["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    assert "BOARDROOM_GRACEFUL_SHUTDOWN_S" in env, "set explicitly, beside terminationGracePeriodSeconds"
    graceful = float(env["BOARDROOM_GRACEFUL_SHUTDOWN_S"])
    grace = worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    config = k8s_objects("ConfigMap")["boardroom-config"]["data"]
    assert "BOARDROOM_GRACEFUL_SHUTDOWN_S" not in config, "one place only: the worker Deployment"
    assert "OPENAI_TIMEOUT_S" not in config, "the settings default is what the checks assume"
    assert graceful >= settings_default("graceful_shutdown_s")
    assert graceful >= longest_activity_timeout(), "a running activity can finish during shutdown"
    assert grace > graceful and grace > longest_activity_timeout()
    assert env["BOARDROOM_WORKER_ROLE"] == role
    assert load_settings(worker_role=role).worker_role == role
    assert "BOARDROOM_WORKER_ROLE" not in config, "per Deployment: the ConfigMap is shared"


def test_worker_deployments_select_only_their_own_pods() -> None:
    deployments = k8s_objects("Deployment")
    for name, deployment in deployments.items():
        selector = deployment["spec"]["selector"]["matchLabels"].items()
        selected = [other for other, d in deployments.items() if selector <= pod_labels(d).items()]
        assert selected == [name], f"{name} selects the pods of {selected}"


@pytest.mark.parametrize("role", WORKER_DEPLOYMENTS)
def test_pod_disruption_budget_selects_the_workers_only(role: str) -> None:
    deployments = k8s_objects("Deployment")
    pdbs = [
        pdb
        for pdb in k8s_objects("PodDisruptionBudget").values()
        if pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels(deployments[WORKER_DEPLOYMENTS[role]]).items()
    ]
    (pdb,) = pdbs
    selector = pdb["spec"]["selector"]["matchLabels"]
    others = [name for name in deployments if name != WORKER_DEPLOYMENTS[role]]
    assert not any(selector.items() <= pod_labels(deployments[name]).items() for name in others)
    replicas = deployments[WORKER_DEPLOYMENTS[role]]["spec"]["replicas"]
    if "minAvailable" in pdb["spec"]:
        assert pdb["spec"]["minAvailable"] < replicas, "a drain must be able to evict a worker"
    else:
        assert 1 <= pdb["spec"]["maxUnavailable"] < replicas


def test_api_service_reaches_the_api_pods() -> None:
    api = k8s_objects("Deployment")[API_DEPLOYMENT]
    (service,) = k8s_objects("Service").values()
    assert service["spec"]["selector"].items() <= pod_labels(api).items()
    (container,) = api["spec"]["template"]["spec"]["containers"]
    port_names = {p["name"] for p in container["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names
    probes = {container[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe")}
    assert probes == {"/healthz", "/readyz"}


def test_env_sources_exist_and_secret_template_is_empty() -> None:
    configmaps = k8s_objects("ConfigMap")
    (template,) = load_docs(SECRET_TEMPLATE)
    assert template["kind"] == "Secret"
    values = {**template.get("stringData", {}), **template.get("data", {})}
    assert values and all(v in ("", None) for v in values.values()), "the template holds no secret values"
    assert {"DATABASE_URL", *REQUIRED_SECRET_ENV} <= values.keys()
    for name, deployment in k8s_objects("Deployment").items():
        for container in containers(deployment):
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in configmaps, name
                if "secretRef" in source:
                    assert source["secretRef"]["name"] == template["metadata"]["name"], name


@pytest.mark.parametrize("role", WORKER_DEPLOYMENTS)
def test_keda_scaler_targets_the_worker_task_queue(role: str) -> None:
    scaled = [doc for path, doc in k8s_docs() if doc.get("kind") == "ScaledObject"]
    assert len(scaled) == len(WORKER_DEPLOYMENTS)
    (obj,) = [o for o in scaled if o["spec"]["scaleTargetRef"]["name"] == WORKER_DEPLOYMENTS[role]]
    config = k8s_objects("ConfigMap")["boardroom-config"]["data"]
    (trigger,) = obj["spec"]["triggers"]
    assert trigger["type"] == "temporal"
    assert trigger["metadata"]["queueTypes"] == QUEUE_TYPES[role], "each role scales on its own backlog"
    assert trigger["metadata"]["taskQueue"] == config["TEMPORAL_TASK_QUEUE"]
    assert trigger["metadata"]["endpoint"] == config["TEMPORAL_ADDRESS"]
    assert obj["spec"]["minReplicaCount"] >= 1
