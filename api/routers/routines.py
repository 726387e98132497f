"""Routines: recurring work the CEO defines on an operating project.

Each routine is a Temporal Schedule `routine-<project id>-<n>` (visible under Schedules in the
Temporal UI) whose action starts the `routine` workflow (workflows/routine.py): every run puts
a task on the project's board and goes through Producer+QA and the gates of the project's policy.

JSON: `GET/POST /projects/{id}/routines`, `POST /projects/{id}/routines/{rid}/pause|resume|run`,
`DELETE /projects/{id}/routines/{rid}`. Console: `/projects/{id}/routines/view`.

No table of its own: a project has at most MAX_ROUTINES routines, numbered 1..MAX_ROUTINES, and
they are read by describing those schedule ids (strongly consistent, unlike listing schedules).
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field, StringConstraints, ValidationError
from sqlalchemy import Engine
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleDescription,
    ScheduleIntervalSpec,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from activities.catalog import load_catalog
from api import service
from api.auth import BrowserRoute, Principal, PrincipalDep
from api.deps import ApiKey, EngineDep, MaybeTemporalDep, SettingsDep
from api.domain_errors import status_for
from api.forms import form_token, form_token_ok, read_form
from api.routers.pages import error_page, forged_form, templates
from api.schemas import Input, errors
from boardroom.settings import Settings
from domain.enums import Phase, Risk, Status
from domain.errors import Conflict, DomainError, Invalid, NotFound
from store.tables import Project
from workflows.routine import (
    MAX_CRITERIA,
    MAX_CRITERION,
    MAX_DESCRIPTION,
    MAX_TITLE,
    RoutineInput,
    RoutineWorkflow,
    schedule_id,
)
from workflows.search import SA_PROJECT_ID

MAX_ROUTINES = 20
MAX_SCHEDULE_TEXT = 100
MIN_INTERVAL = timedelta(minutes=1)
MAX_INTERVAL = timedelta(days=366)
RUNNING = (Status.running.value, Status.waiting_approval.value)

# --- schedules: cron expressions and intervals ---------------------------------------------------

CRON_MACROS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
MONTHS = {m: i + 1 for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())}
DAYS = {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split())}
# name, lowest, highest, names
CRON_FIELDS: list[tuple[str, int, int, dict[str, int]]] = [
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 6, DAYS),
]
INTERVAL = re.compile(r"^(?:every\s+)?(\d{1,7})\s*([a-z]+)$", re.IGNORECASE)
UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 7 * 86400,
    "week": 7 * 86400,
    "weeks": 7 * 86400,
}
SCHEDULE_HELP = (
    "a cron expression like '0 9 * * MON' (minute hour day-of-month month day-of-week, UTC) "
    "or an interval like 'every 7d' or '24h'"
)


class InvalidSchedule(ValueError):
    """The schedule text is neither a valid cron expression nor a valid interval."""


def _cron_value(text: str, low: int, high: int, names: dict[str, int], field: str) -> int:
    value = names.get(text.upper()) if names else None
    if value is None:
        if not text.isdigit():
            raise InvalidSchedule(f"{field}: {text!r} is not a number" + (" or a name" if names else ""))
        value = int(text)
    if not low <= value <= high:
        raise InvalidSchedule(f"{field}: {value} is outside {low}-{high}")
    return value


def _check_cron_field(text: str, field: str, low: int, high: int, names: dict[str, int]) -> None:
    for item in text.split(","):
        if not item:
            raise InvalidSchedule(f"{field}: empty item in {text!r}")
        base, slash, step = item.partition("/")
        if slash and not (step.isdigit() and 1 <= int(step) <= high - low + 1):
            raise InvalidSchedule(f"{field}: step {step!r} must be a number from 1 to {high - low + 1}")
        if base in ("*", "?"):
            continue
        first, dash, last = base.partition("-")
        a = _cron_value(first, low, high, names, field)
        if dash and _cron_value(last, low, high, names, field) < a:
            raise InvalidSchedule(f"{field}: range {base!r} ends before it starts")


def check_cron(text: str) -> None:
    if text.startswith("@"):
        if text.lower() not in CRON_MACROS:
            raise InvalidSchedule(f"unknown cron macro {text!r} (known: {', '.join(sorted(CRON_MACROS))})")
        return
    fields = text.split()
    if len(fields) != len(CRON_FIELDS):
        raise InvalidSchedule(
            f"a cron expression has {len(CRON_FIELDS)} fields (minute hour day-of-month month day-of-week), "
            f"{len(fields)} given"
        )
    for value, (field, low, high, names) in zip(fields, CRON_FIELDS, strict=True):
        _check_cron_field(value, field, low, high, names)


def parse_interval(text: str) -> timedelta | None:
    """The interval of 'every 7d', '24h', '90 minutes'; None when the text is not one."""
    match = INTERVAL.match(text.strip())
    if match is None:
        return None
    number, unit = int(match.group(1)), match.group(2).lower()
    if unit not in UNITS:
        raise InvalidSchedule(f"unknown unit {unit!r} in {text!r} (use s, m, h, d or w)")
    every = timedelta(seconds=number * UNITS[unit])
    if not MIN_INTERVAL <= every <= MAX_INTERVAL:
        raise InvalidSchedule(f"an interval is between 1 minute and 366 days ({text!r} given)")
    return every


def schedule_spec(text: str) -> tuple[Literal["cron", "interval"], ScheduleSpec]:
    """The Temporal schedule spec of a routine's schedule text; InvalidSchedule with the reason."""
    text = " ".join(text.split())
    if not text:
        raise InvalidSchedule(f"the schedule is empty; give {SCHEDULE_HELP}")
    lowered = text.lower()
    if lowered.startswith("every") or INTERVAL.match(text):
        every = parse_interval(text)
        if every is None:
            raise InvalidSchedule(f"{text!r} is not an interval; give {SCHEDULE_HELP}")
        return "interval", ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)])
    try:
        check_cron(text)
    except InvalidSchedule as exc:
        raise InvalidSchedule(f"malformed cron expression {text!r}: {exc}; give {SCHEDULE_HELP}") from None
    return "cron", ScheduleSpec(cron_expressions=[text])


# --- models ---------------------------------------------------------------------------------------

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TITLE)]
RoleName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
ScheduleText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_SCHEDULE_TEXT)]
Criterion = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_CRITERION)]


class RoutineCreate(Input):
    title: Title
    role: RoleName = Field(description="a producing role of the agent catalog (activities/catalog.yaml)")
    schedule: ScheduleText = Field(description="cron ('0 9 * * MON', UTC) or interval ('every 7d', '24h')")
    acceptance_criteria: list[Criterion] = Field(default=[], max_length=MAX_CRITERIA)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    risk: Risk = Risk.low


class RoutineOut(BaseModel):
    id: str
    project_id: str
    number: int
    title: str
    role: str
    schedule: str
    schedule_kind: Literal["cron", "interval"]
    acceptance_criteria: list[str] = []
    paused: bool
    note: str = ""
    runs: int = 0
    next_run_at: datetime | None = None
    last_run_at: datetime | None = None
    recent_workflow_ids: list[str] = []
    created_at: datetime | None = None
    created_by: str = ""
    temporal_ui_url: str


class RoutineList(BaseModel):
    items: list[RoutineOut]
    total: int


# --- service --------------------------------------------------------------------------------------


def schedule_ui_url(settings: Settings, sid: str) -> str:
    base = settings.temporal_ui_url.rstrip("/")
    return f"{base}/namespaces/{quote(settings.temporal_namespace, safe='')}/schedules/{quote(sid, safe='')}"


def producer_role(name: str) -> tuple[str, str]:
    """(role, its first deliverable kind); 422 unless the catalog has it as a producing role."""
    catalog = load_catalog()
    producers = catalog.producers()
    found = next((r for r in producers if r.name == name), None)
    if found is None:
        known = ", ".join(r.name for r in producers)
        raise Invalid(f"unknown role {name!r}: a routine's role is one of {known}")
    return found.name, found.produces[0]


def spec_or_422(text: str) -> tuple[Literal["cron", "interval"], ScheduleSpec]:
    try:
        return schedule_spec(text)
    except InvalidSchedule as exc:
        raise Invalid(f"schedule: {exc}") from None


async def owned_project(engine: Engine, project_id: str, principal: Principal) -> Project:
    """The caller's project; 404 for an unknown one and for another owner's."""
    row = await service.load_project(engine, project_id[:64])
    if not principal.owner and row.owner != principal.name:
        raise NotFound(f"unknown project {project_id}")
    return row


def require_operating(row: Project) -> None:
    if row.status not in RUNNING:
        raise Conflict(f"project {row.id} is {row.status}: routines run on an operating project")
    if row.phase != Phase.operations.value:
        raise Conflict(f"project {row.id} is in {row.phase}: routines can be added once it operates (after launch)")


def routine_number(project_id: str, routine_id: str) -> int:
    prefix = schedule_id(project_id, 0)[:-1]
    tail = routine_id.removeprefix(prefix) if routine_id.startswith(prefix) else ""
    if not tail.isdigit() or not 1 <= int(tail) <= MAX_ROUTINES or schedule_id(project_id, int(tail)) != routine_id:
        raise NotFound(f"unknown routine {routine_id[:100]}")
    return int(tail)


async def describe(client: Client, sid: str) -> ScheduleDescription | None:
    try:
        return await client.get_schedule_handle(sid).describe(rpc_timeout=service.QUERY_TIMEOUT)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def routine_out(settings: Settings, project_id: str, number: int, desc: ScheduleDescription) -> RoutineOut:
    memo = await desc.memo()
    info = desc.info
    recent = sorted(info.recent_actions, key=lambda a: a.started_at)
    created = memo.get("created_at")
    text = str(memo.get("schedule", ""))
    return RoutineOut(
        id=desc.id,
        project_id=project_id,
        number=number,
        title=str(memo.get("title", "")),
        role=str(memo.get("role", "")),
        schedule=text,
        schedule_kind="interval" if desc.schedule.spec.intervals else "cron",
        acceptance_criteria=[str(c) for c in memo.get("acceptance_criteria", [])],
        paused=desc.schedule.state.paused,
        note=desc.schedule.state.note or "",
        runs=info.num_actions,
        next_run_at=info.next_action_times[0] if info.next_action_times else None,
        last_run_at=recent[-1].started_at if recent else None,
        recent_workflow_ids=[a.action.workflow_id for a in recent[-5:] if hasattr(a.action, "workflow_id")],
        created_at=datetime.fromisoformat(created) if isinstance(created, str) else info.created_at,
        created_by=str(memo.get("created_by", "")),
        temporal_ui_url=schedule_ui_url(settings, desc.id),
    )


async def described(client: Client, project_id: str) -> dict[int, ScheduleDescription]:
    numbers = range(1, MAX_ROUTINES + 1)
    found = await asyncio.gather(*(describe(client, schedule_id(project_id, n)) for n in numbers))
    return {n: d for n, d in zip(numbers, found, strict=True) if d is not None}


async def list_routines(
    client: Client | None, settings: Settings, engine: Engine, project_id: str, principal: Principal
) -> list[RoutineOut]:
    row = await owned_project(engine, project_id, principal)
    found = await described(service.require(client), row.id)
    return [await routine_out(settings, row.id, n, d) for n, d in sorted(found.items())]


async def create_routine(
    client: Client | None,
    settings: Settings,
    engine: Engine,
    project_id: str,
    body: RoutineCreate,
    principal: Principal,
) -> RoutineOut:
    """Validate, then create the schedule under the lowest free number (422/404/409/503)."""
    kind, spec = spec_or_422(body.schedule)
    role, deliverable_kind = producer_role(body.role)
    row = await owned_project(engine, project_id, principal)
    require_operating(row)
    client = service.require(client)
    project_input = service.project_input(row)
    taken = set(await described(client, row.id))
    for number in range(1, MAX_ROUTINES + 1):
        if number in taken:
            continue
        sid = schedule_id(row.id, number)
        run_input = RoutineInput(
            project_id=row.id,
            project_workflow_id=row.workflow_id,
            routine_id=sid,
            number=number,
            title=body.title,
            role=role,
            description=body.description.strip(),
            deliverable_kind=deliverable_kind,
            acceptance_criteria=body.acceptance_criteria,
            risk=body.risk,
            goal=row.goal,
            policy=project_input.policy,
        )
        schedule = Schedule(
            action=ScheduleActionStartWorkflow(
                RoutineWorkflow.run,
                run_input,
                id=sid,
                task_queue=settings.task_queue,
                memo={"routine_id": sid, "title": body.title},
                typed_search_attributes=TypedSearchAttributes([SearchAttributePair(SA_PROJECT_ID, row.id)]),
            ),
            spec=spec,
            policy=SchedulePolicy(catchup_window=timedelta(hours=1)),
            state=ScheduleState(note=f"routine '{body.title[:80]}' of project {row.id}"),
        )
        memo = {
            "project_id": row.id,
            "number": number,
            "title": body.title,
            "role": role,
            "schedule": " ".join(body.schedule.split()),
            "schedule_kind": kind,
            "acceptance_criteria": body.acceptance_criteria,
            "created_by": principal.name,
            "created_at": datetime.now(UTC).isoformat(),
        }
        try:
            await client.create_schedule(sid, schedule, memo=memo)
        except ScheduleAlreadyRunningError:
            continue  # created meanwhile by another request: the next number
        except RPCError as exc:
            if exc.status == RPCStatusCode.INVALID_ARGUMENT:
                raise Invalid(f"schedule: {exc.message[:300]}") from None
            raise
        desc = await describe(client, sid)
        if desc is None:  # deleted in between
            raise NotFound(f"unknown routine {sid}")
        return await routine_out(settings, row.id, number, desc)
    raise Conflict(f"project {row.id} has {MAX_ROUTINES} routines already; delete one first")


Action = Literal["pause", "resume", "run", "delete"]


async def act(
    client: Client | None,
    settings: Settings,
    engine: Engine,
    project_id: str,
    routine_id: str,
    action: Action,
    principal: Principal,
) -> RoutineOut | None:
    """Pause, resume, run now or delete one routine; 404 for an unknown one."""
    row = await owned_project(engine, project_id, principal)
    number = routine_number(row.id, routine_id)
    if action in ("resume", "run"):
        require_operating(row)
    client = service.require(client)
    handle = client.get_schedule_handle(routine_id)
    note = f"{action} by {principal.name[:80]}"
    try:
        if action == "pause":
            await handle.pause(note=note)
        elif action == "resume":
            await handle.unpause(note=note)
        elif action == "run":
            await handle.trigger()
        else:
            await handle.delete()
            return None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"unknown routine {routine_id}") from None
        raise
    desc = await describe(client, routine_id)
    if desc is None:
        raise NotFound(f"unknown routine {routine_id}")
    return await routine_out(settings, row.id, number, desc)


# --- JSON routes ----------------------------------------------------------------------------------

api = APIRouter(prefix="/projects/{project_id}/routines", tags=["routines"], dependencies=[ApiKey])
console = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[ApiKey], route_class=BrowserRoute)


@api.get("", response_model=RoutineList, responses=errors(401, 403, 404, 503))
async def get_routines(
    project_id: str, client: MaybeTemporalDep, settings: SettingsDep, engine: EngineDep, principal: PrincipalDep
) -> RoutineList:
    """The project's routines, described from their Temporal Schedules. Read-only."""
    items = await list_routines(client, settings, engine, project_id, principal)
    return RoutineList(items=items, total=len(items))


@api.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RoutineOut,
    responses=errors(401, 403, 404, 409, 413, 422, 503),
)
async def post_routine(
    project_id: str,
    body: RoutineCreate,
    client: MaybeTemporalDep,
    settings: SettingsDep,
    engine: EngineDep,
    principal: PrincipalDep,
) -> RoutineOut:
    """Define recurring work on an operating project: a Temporal Schedule whose every run is a task
    through Producer+QA and the policy's gates. Not idempotent: each call adds a routine.
    Bad schedule or unknown role 422; a project that does not operate (any more) 409."""
    return await create_routine(client, settings, engine, project_id, body, principal)


def _action_route(action: Action) -> Any:
    async def route(
        project_id: str,
        routine_id: str,
        client: MaybeTemporalDep,
        settings: SettingsDep,
        engine: EngineDep,
        principal: PrincipalDep,
    ) -> RoutineOut | None:
        return await act(client, settings, engine, project_id, routine_id, action, principal)

    return route


api.post(
    "/{routine_id}/pause",
    response_model=RoutineOut,
    responses=errors(401, 403, 404, 503),
    summary="Pause a routine (no runs until resumed). Idempotent.",
)(_action_route("pause"))
api.post(
    "/{routine_id}/resume",
    response_model=RoutineOut,
    responses=errors(401, 403, 404, 409, 503),
    summary="Resume a paused routine. Idempotent.",
)(_action_route("resume"))
api.post(
    "/{routine_id}/run",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RoutineOut,
    responses=errors(401, 403, 404, 409, 503),
    summary="Run a routine now, once (skipped while a run of it is still going).",
)(_action_route("run"))


@api.delete(
    "/{routine_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors(401, 403, 404, 503),
)
async def delete_routine(
    project_id: str,
    routine_id: str,
    client: MaybeTemporalDep,
    settings: SettingsDep,
    engine: EngineDep,
    principal: PrincipalDep,
) -> Response:
    """Delete the routine's schedule (a run in progress finishes). 404 when unknown."""
    await act(client, settings, engine, project_id, routine_id, "delete", principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- console page ---------------------------------------------------------------------------------


def page_url(project_id: str) -> str:
    return f"/projects/{quote(project_id, safe='')}/routines/view"


async def _page(
    request: Request,
    settings: Settings,
    engine: Engine,
    client: Client | None,
    project_id: str,
    principal: Principal,
    *,
    error: str = "",
    form: dict[str, str] | None = None,
    code: int = 200,
) -> HTMLResponse:
    try:
        row = await owned_project(engine, project_id, principal)
        items = await list_routines(client, settings, engine, row.id, principal)
    except DomainError as exc:
        return error_page(request, status_for(exc), "Routines not available", exc.message)
    producers = [r.name for r in load_catalog().producers()]
    return templates.TemplateResponse(
        request,
        "routines.html",
        {
            "project": row,
            "routines": items,
            "error": error,
            "form": form or {},
            "roles": producers,
            "risks": [r.value for r in Risk],
            "operating": row.status in RUNNING and row.phase == Phase.operations.value,
            "form_token": form_token(settings, f"routines:{row.id}"),
            "max_title": MAX_TITLE,
            "page_url": page_url(row.id),
        },
        status_code=code,
    )


@console.get("/projects/{project_id}/routines/view", response_class=HTMLResponse)
async def routines_page(
    request: Request,
    project_id: str,
    settings: SettingsDep,
    engine: EngineDep,
    client: MaybeTemporalDep,
    principal: PrincipalDep,
) -> HTMLResponse:
    """The project's routines, each with pause/resume/delete, and a form to add one."""
    return await _page(request, settings, engine, client, project_id, principal)


@console.post("/projects/{project_id}/routines/view", response_class=HTMLResponse)
async def routines_page_add(
    request: Request,
    project_id: str,
    settings: SettingsDep,
    engine: EngineDep,
    client: MaybeTemporalDep,
    principal: PrincipalDep,
) -> Response:
    """Add a routine from the form; back to the page (303), or the page with the error."""
    form = await read_form(request, MAX_DESCRIPTION)
    if not form_token_ok(settings, f"routines:{project_id[:64]}", form.get("form_token", "")):
        return forged_form(request)
    criteria = [line.strip() for line in form.get("acceptance_criteria", "").splitlines() if line.strip()]
    try:
        body = RoutineCreate.model_validate(
            {
                "title": form.get("title", ""),
                "role": form.get("role", ""),
                "schedule": form.get("schedule", ""),
                "acceptance_criteria": criteria,
                "risk": form.get("risk") or "low",
            }
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "input"
        message = f"{field.replace('_', ' ')}: {first.get('msg', 'invalid')}"
        return await _page(request, settings, engine, client, project_id, principal, error=message, form=form, code=422)
    try:
        await create_routine(client, settings, engine, project_id, body, principal)
    except DomainError as exc:
        return await _page(
            request,
            settings,
            engine,
            client,
            project_id,
            principal,
            error=exc.message,
            form=form,
            code=status_for(exc),
        )
    return RedirectResponse(page_url(project_id), status_code=status.HTTP_303_SEE_OTHER)


@console.post("/projects/{project_id}/routines/view/{routine_id}/{action}", response_class=HTMLResponse)
async def routines_page_act(
    request: Request,
    project_id: str,
    routine_id: str,
    action: str,
    settings: SettingsDep,
    engine: EngineDep,
    client: MaybeTemporalDep,
    principal: PrincipalDep,
) -> Response:
    """Pause, resume, run or delete a routine from its buttons; back to the page (303)."""
    form = await read_form(request, MAX_DESCRIPTION)
    if not form_token_ok(settings, f"routines:{project_id[:64]}", form.get("form_token", "")):
        return forged_form(request)
    if action not in ("pause", "resume", "run", "delete"):
        return error_page(request, 404, "Not found", f"There is no routine action {action[:40]!r}.")
    try:
        await act(client, settings, engine, project_id, routine_id, action, principal)  # type: ignore[arg-type]
    except DomainError as exc:
        return await _page(
            request, settings, engine, client, project_id, principal, error=exc.message, code=status_for(exc)
        )
    return RedirectResponse(page_url(project_id), status_code=status.HTTP_303_SEE_OTHER)


router = APIRouter()
router.include_router(api)
router.include_router(console)
