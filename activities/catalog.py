"""The agent catalog: roles, what they produce and review, and their default models.

The data lives in `catalog.yaml` beside this module (loaded through `Path(__file__).parent`
so it works from a source tree and from an installed wheel alike); this module only loads,
checks and looks it up.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

CATALOG_PATH = Path(__file__).parent / "catalog.yaml"
_KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
QA_CATEGORY = "qa"


class CatalogError(ValueError):
    """The catalog file is missing, malformed or inconsistent."""


class UnknownRoleError(KeyError):
    """A plan or a setting names a role the catalog does not have."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = known

    def __str__(self) -> str:
        return f"unknown role {self.name!r}; the catalog has: {', '.join(self.known)}"


class Role(BaseModel):
    """One agent role."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    title: str
    category: str
    instructions: str
    produces: list[str] = []
    reviews: list[str] = []
    model: str | None = None


class Catalog(BaseModel):
    """All roles, the deliverable kinds and which role speaks for each non-task activity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kinds: dict[str, str]
    activities: dict[str, str] = {}
    roles: list[Role] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Catalog:
        names = [r.name for r in self.roles]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate role names: {', '.join(duplicates)}")
        bad = [n for n in names if not _KEBAB.match(n)]
        if bad:
            raise ValueError(f"role names must be kebab-case: {', '.join(bad)}")
        for role in self.roles:
            unknown = sorted(set(role.produces + role.reviews) - set(self.kinds))
            if unknown:
                raise ValueError(f"role {role.name} uses unknown deliverable kinds: {', '.join(unknown)}")
        reviewed = {k for r in self.roles for k in r.reviews}
        unreviewed = sorted(set(self.kinds) - reviewed)
        if unreviewed:
            raise ValueError(f"deliverable kinds without a QA reviewer: {', '.join(unreviewed)}")
        for activity_name, role_name in self.activities.items():
            if role_name not in names:
                raise ValueError(f"activity {activity_name} names unknown role {role_name}")
        return self

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.roles]

    def role(self, name: str) -> Role:
        for r in self.roles:
            if r.name == name:
                return r
        raise UnknownRoleError(name, self.names)

    def has_role(self, name: str) -> bool:
        return any(r.name == name for r in self.roles)

    def producers(self) -> list[Role]:
        """Roles that can be assigned tasks (everything except the QA reviewers)."""
        return [r for r in self.roles if r.produces]

    def producers_of(self, kind: str) -> list[Role]:
        return [r for r in self.roles if kind in r.produces]

    def reviewer_for(self, kind: str) -> Role:
        """The QA role that scores deliverables of this kind; unknown kinds get the generic editor."""
        for r in self.roles:
            if kind in r.reviews:
                return r
        for r in self.roles:
            if "document" in r.reviews:
                return r
        raise CatalogError(f"no reviewer for deliverable kind {kind!r} and no generic document reviewer")

    def role_for_activity(self, activity_name: str) -> Role:
        name = self.activities.get(activity_name)
        if name is None:
            raise CatalogError(f"the catalog names no role for activity {activity_name!r}")
        return self.role(name)


def parse_catalog(text: str, source: str = "catalog") -> Catalog:
    """Parse and check catalog YAML; errors name the file and the first problem."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{source}: invalid YAML: {exc}") from None
    try:
        return Catalog.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CatalogError(f"{source}: {where + ': ' if where else ''}{first['msg']}") from None


@lru_cache(maxsize=4)
def load_catalog(path: Path = CATALOG_PATH) -> Catalog:
    """The catalog, parsed once per process (it is static data shipped with the code)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"cannot read the agent catalog {path}: {exc.strerror}") from None
    return parse_catalog(text, source=str(path))


def role(name: str) -> Role:
    """Look a role up by its kebab-case name; UnknownRoleError lists the known ones."""
    return load_catalog().role(name)


def reviewer_for(deliverable_kind: str) -> Role:
    """The QA reviewer role for a deliverable kind."""
    return load_catalog().reviewer_for(deliverable_kind)
