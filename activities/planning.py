"""Agent work shared by both providers: plan validation, team assembly, and the drafts a
provider hands back to the activities.

Pure functions, no I/O. An LLM plan that fails validation is re-asked with the error
appended (like malformed output); an offline plan that fails is a bug and fails loudly.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, Field

from activities.catalog import Catalog, load_catalog
from domain.work import (
    REVIEW_METHOD_LLM,
    InterviewInput,
    KpiInput,
    Plan,
    PlanInput,
    ProduceInput,
    Question,
    ResearchInput,
    ReviewInput,
    ReviewIssue,
    TaskSpec,
    TeamMember,
)

if TYPE_CHECKING:
    from activities.context import Brief
    from activities.usage import Meter


class PlanValidationError(ValueError):
    """The plan cannot be executed as written; the message lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid plan: " + "; ".join(problems))
        self.problems = problems


def find_cycle(tasks: list[TaskSpec]) -> list[str] | None:
    """A dependency cycle as a list of task ids (first id repeated at the end), or None."""
    graph = {t.id: list(t.depends_on) for t in tasks}
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = grey
        stack.append(node)
        for dep in graph.get(node, []):
            if dep not in graph:
                continue  # dangling: reported separately
            if colour[dep] == grey:
                return stack[stack.index(dep) :] + [dep]
            if colour[dep] == white:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        colour[node] = black
        return None

    for node in graph:
        if colour[node] == white:
            found = visit(node)
            if found:
                return found
    return None


def topological_order(tasks: list[TaskSpec]) -> list[str]:
    """Task ids with every dependency before its dependents (stable for equal rank)."""
    remaining = {t.id: set(t.depends_on) for t in tasks}
    order: list[str] = []
    while remaining:
        ready = [tid for tid, deps in remaining.items() if not deps - set(order)]
        if not ready:
            raise PlanValidationError([f"dependency cycle among: {', '.join(sorted(remaining))}"])
        for tid in ready:
            order.append(tid)
            del remaining[tid]
    return order


def validate_plan(
    plan: Plan,
    catalog: Catalog | None = None,
    *,
    keep_task_ids: Iterable[str] = (),
) -> None:
    """Raise PlanValidationError unless the plan is executable.

    Checks: at least one task; unique, non-empty task ids; every role is a producing role of
    the catalog; every deliverable kind is known; no dependency on a missing task or on the
    task itself; no dependency cycle; every id in `keep_task_ids` (done work) still present.
    """
    catalog = catalog or load_catalog()
    problems: list[str] = []
    if not plan.tasks:
        problems.append("the plan has no tasks")
    ids = [t.id for t in plan.tasks]
    seen: set[str] = set()
    for tid in ids:
        if not tid.strip():
            problems.append("a task has an empty id")
        elif tid in seen:
            problems.append(f"duplicate task id {tid!r}")
        seen.add(tid)
    producer_names = {r.name for r in catalog.producers()}
    for task in plan.tasks:
        if not catalog.has_role(task.role):
            choices = ", ".join(sorted(producer_names))
            problems.append(f"task {task.id!r} has unknown role {task.role!r} (choose one of: {choices})")
        elif task.role not in producer_names:
            problems.append(f"task {task.id!r} is assigned to {task.role!r}, a QA role that does not produce work")
        if task.deliverable_kind not in catalog.kinds:
            problems.append(
                f"task {task.id!r} has unknown deliverable kind {task.deliverable_kind!r} "
                f"(choose one of: {', '.join(catalog.kinds)})"
            )
        for dep in task.depends_on:
            if dep == task.id:
                problems.append(f"task {task.id!r} depends on itself")
            elif dep not in seen:
                problems.append(f"task {task.id!r} depends on missing task {dep!r}")
        if not task.title.strip():
            problems.append(f"task {task.id!r} has no title")
    missing = [tid for tid in keep_task_ids if tid not in seen]
    if missing:
        problems.append(f"completed tasks must be kept: {', '.join(missing)}")
    if not problems:
        cycle = find_cycle(plan.tasks)
        if cycle:
            problems.append(f"dependency cycle: {' -> '.join(cycle)}")
    if problems:
        raise PlanValidationError(problems)


# --- what providers hand back to the activities --------------------------------------------


class Draft(BaseModel):
    """A piece of written work before it is stored: the activity stores it and returns its id."""

    title: str = ""
    summary: str
    content: str
    files: dict[str, str] = {}


class ReviewDraft(BaseModel):
    score: float = Field(ge=0, le=10)
    summary: str = ""
    issues: list[ReviewIssue] = []
    # REVIEW_METHOD_LLM or REVIEW_METHOD_OFFLINE_RUBRIC: how the score was reached.
    method: str = REVIEW_METHOD_LLM


class Deliverable(BaseModel):
    """A stored deliverable version as a reviewer reads it."""

    content: str
    files: dict[str, str] = {}


class KpiDraft(BaseModel):
    summary: str
    improvements: list[TaskSpec] = []


class Provider(Protocol):
    """What an agent provider does; the activities around it store results and record usage."""

    name: str

    async def interview(self, data: InterviewInput, meter: Meter) -> list[Question]: ...

    async def research(self, data: ResearchInput, meter: Meter) -> Draft: ...

    async def plan(self, data: PlanInput, meter: Meter) -> Plan: ...

    async def produce(self, data: ProduceInput, brief: Brief, meter: Meter) -> Draft: ...

    async def review(self, data: ReviewInput, brief: Brief, deliverable: Deliverable, meter: Meter) -> ReviewDraft: ...

    async def analyze_kpis(self, data: KpiInput, meter: Meter) -> KpiDraft: ...


# --- helpers both providers use --------------------------------------------------------------


def stable_hash(*parts: str) -> int:
    """A process-independent hash (Python's hash() is randomised per process)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def slug(text: str, max_len: int = 40) -> str:
    """kebab-case ASCII slug of a title."""
    out = ""
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        candidate = f"{out}-{word}" if out else word
        if len(candidate) > max_len:
            break
        out = candidate
    return out or (re.sub(r"[^a-z0-9]", "", text.lower())[:max_len] or "task")


def improvement_ids(review_number: int, tasks: list[TaskSpec]) -> list[TaskSpec]:
    """Give improvement tasks ids unique per review (`r{n}-{slug}`) and no cross-plan dependencies."""
    seen: set[str] = set()
    result: list[TaskSpec] = []
    for task in tasks:
        base = f"r{review_number}-{slug(task.title)}"
        tid, n = base, 2
        while tid in seen:
            tid, n = f"{base}-{n}", n + 1
        seen.add(tid)
        result.append(task.model_copy(update={"id": tid, "depends_on": []}))
    return result


FIRST_NAMES = (
    "Ada",
    "Grace",
    "Alan",
    "Katherine",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Radia",
    "Tim",
    "Frances",
    "Vint",
    "Hedy",
    "Guido",
    "Shafi",
    "Donald",
    "Fei-Fei",
    "John",
    "Annie",
)
LAST_NAMES = (
    "Lovelace",
    "Hopper",
    "Turing",
    "Johnson",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Perlman",
    "Berners-Lee",
    "Allen",
    "Cerf",
    "Lamarr",
    "van Rossum",
    "Goldwasser",
    "Knuth",
    "Li",
    "McCarthy",
    "Easley",
)


def assemble_team(plan: Plan, catalog: Catalog | None = None) -> list[TeamMember]:
    """One named member per role in the plan, with the tasks they own and the reviewers they need.

    Deterministic (a stable hash of the role picks the name) for both providers: staffing is a
    catalog lookup and needs no LLM call.
    """
    catalog = catalog or load_catalog()
    order: list[str] = []
    tasks_by_role: dict[str, list[str]] = {}
    for task in plan.tasks:
        if task.role not in tasks_by_role:
            order.append(task.role)
            tasks_by_role[task.role] = []
        tasks_by_role[task.role].append(task.id)
        reviewer = catalog.reviewer_for(task.deliverable_kind).name
        if reviewer not in tasks_by_role:
            order.append(reviewer)
            tasks_by_role[reviewer] = []
    members: list[TeamMember] = []
    used: set[str] = set()
    for role_name in order:
        r = catalog.role(role_name)
        h = stable_hash("team", role_name)
        first, last = FIRST_NAMES[h % len(FIRST_NAMES)], LAST_NAMES[(h // 7) % len(LAST_NAMES)]
        name = f"{first} {last}"
        n = 2
        while name in used:
            name = f"{first} {last} {n}"
            n += 1
        used.add(name)
        members.append(TeamMember(role=role_name, name=f"{name} — {r.title}", task_ids=tasks_by_role[role_name]))
    return members
