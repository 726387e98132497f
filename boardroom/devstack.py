"""The one loader of `temporal-dev.yaml`, shared by `boardroom up` and the test fixtures."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.errors import ConfigError

SearchAttributeType = Literal["Keyword", "Text", "Int", "Double", "Bool", "Datetime", "KeywordList"]

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = REPO_ROOT / "temporal-dev.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Frontend(_Strict):
    ip: str = "127.0.0.1"
    port: int = Field(default=7233, ge=1, le=65535)


class Ui(_Strict):
    enabled: bool = True
    port: int = Field(default=8233, ge=1, le=65535)


class Sqlite(_Strict):
    """The dev server's SQLite file: its journal and how often it syncs to disk (`--sqlite-pragma`)."""

    journal_mode: Literal["delete", "truncate", "persist", "wal"] = "wal"
    synchronous: Literal["off", "normal", "full", "extra"] = "normal"

    def pragmas(self) -> list[str]:
        return [f"journal_mode={self.journal_mode}", f"synchronous={self.synchronous}"]

    def args(self) -> list[str]:
        return [arg for pragma in self.pragmas() for arg in ("--sqlite-pragma", pragma)]

    def describe(self) -> str:
        return " ".join(self.pragmas())


class ApiListen(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)


class DevStackConfig(_Strict):
    """The dev stack: namespace, ports, database file and its SQLite settings, search attributes,
    dynamic config."""

    namespace: str = "default"
    frontend: Frontend = Frontend()
    ui: Ui = Ui()
    database_file: str = ".data/temporal.db"
    sqlite: Sqlite = Sqlite()
    task_queue: str = "boardroom"
    api: ApiListen = ApiListen()
    search_attributes: dict[str, SearchAttributeType] = {}
    dynamic_config: dict[str, Any] = {}

    @property
    def address(self) -> str:
        return f"{self.frontend.ip}:{self.frontend.port}"

    def database_path(self, base: Path | None = None) -> Path:
        path = Path(self.database_file)
        return path if path.is_absolute() else (base or Path.cwd()) / path

    def search_attribute_args(self) -> list[str]:
        args: list[str] = []
        for name, kind in self.search_attributes.items():
            args += ["--search-attribute", f"{name}={kind}"]
        return args

    def dynamic_config_args(self) -> list[str]:
        args: list[str] = []
        for key, value in self.dynamic_config.items():
            args += ["--dynamic-config-value", f"{key}={yaml_json(value)}"]
        return args


def yaml_json(value: Any) -> str:
    """Dynamic config values are given to the dev server as JSON literals."""
    import json

    return json.dumps(value)


def load_devstack(path: Path | str | None = None) -> DevStackConfig:
    """Read and validate the dev stack file; any problem is a one-line ConfigError."""
    file = Path(path) if path else DEFAULT_PATH
    if not file.exists():
        return DevStackConfig()
    try:
        raw = yaml.safe_load(file.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: expected a mapping at the top level")
    try:
        return DevStackConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        if first["type"] == "extra_forbidden":
            raise ConfigError(f"{file}: unknown key '{where}'") from None
        raise ConfigError(f"{file}: {where}: {first['msg']}") from None
