"""Projects: start one, list them, read one live, steer it, cancel it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from api import links, readmodel, service
from api.auth import PrincipalDep
from api.deps import ApiKey, EngineDep, MaybeTemporalDep, SessionDep, SettingsDep
from api.paging import MAX_CURSOR_CHARS, encode_cursor, page_after
from api.schemas import (
    Accepted,
    ProjectCreate,
    ProjectCreated,
    ProjectDetail,
    ProjectList,
    ProjectSummary,
    RoleBudgetsIn,
    SteerIn,
    errors,
)
from domain.enums import Phase, Status
from domain.project import RoleBudgetState

router = APIRouter(prefix="/projects", tags=["projects"], dependencies=[ApiKey])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProjectCreated,
    responses=errors(401, 403, 409, 413, 422, 503),
)
async def create_project(
    body: ProjectCreate,
    client: MaybeTemporalDep,
    settings: SettingsDep,
    engine: EngineDep,
    principal: PrincipalDep,
) -> ProjectCreated:
    """Start a project: the read-model row, then its workflow. Its approver is `approver`, else
    the caller (the key's name; `ceo` for a bare key or the local owner).

    Idempotent with `idempotency_key`: the same key returns the same project (409 if the key was
    used for another goal). Without a key every call starts a new project.
    """
    return await service.start_project(client, settings, engine, body, owner=principal.name)


@router.get("", response_model=ProjectList, responses=errors(401, 403, 422))
def list_projects(
    settings: SettingsDep,
    session: SessionDep,
    phase: Phase | None = None,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_CHARS)] = None,
) -> ProjectList:
    """Projects from the read model, newest first, filtered by phase and status. Read-only.

    Page with `cursor` (the previous page's `next_cursor`): each page starts after the last row
    of the one before, by (created_at, id). `offset` still works and is not combined with it."""
    rows, total, more = readmodel.list_projects(
        session,
        phase=phase.value if phase else None,
        status=status.value if status else None,
        limit=limit,
        offset=offset,
        after=page_after("projects", cursor, offset),
        with_state=False,
    )
    items = [
        ProjectSummary(
            id=r.id,
            name=r.name,
            phase=r.phase,  # type: ignore[arg-type]
            status=r.status,  # type: ignore[arg-type]
            pending_gates=r.pending_gates,
            cost_usd=r.cost_usd,
            budget_usd=r.budget_usd,
            created_at=r.created_at,
            updated_at=r.updated_at,
            status_url=links.status_url(settings, r.id),
            temporal_ui_url=links.temporal_ui_url(settings, r.workflow_id),
        )
        for r in rows
    ]
    return ProjectList(
        items=items,
        total=total,
        limit=limit,
        offset=offset,
        next_cursor=encode_cursor("projects", more) if more else None,
    )


@router.get("/{project_id}", response_model=ProjectDetail, responses=errors(401, 403, 404, 503))
async def get_project(
    project_id: str, client: MaybeTemporalDep, settings: SettingsDep, engine: EngineDep
) -> ProjectDetail:
    """One project: live from the workflow's `state` query, the stored snapshot once it closed."""
    return await service.project_detail(client, settings, engine, project_id)


@router.post(
    "/{project_id}/steer",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=errors(401, 403, 404, 409, 413, 422, 503),
)
async def steer_project(
    project_id: str, body: SteerIn, client: MaybeTemporalDep, engine: EngineDep, principal: PrincipalDep
) -> Accepted:
    """Send an instruction (signal `steer`); the remaining plan is revised. Not idempotent.
    Recorded as from the caller; a different `by` is refused (403)."""
    await service.steer(client, engine, project_id, body.instruction, principal, body.by)
    return Accepted(project_id=project_id)


@router.put(
    "/{project_id}/role-budgets",
    response_model=RoleBudgetState,
    responses=errors(401, 403, 404, 409, 422, 503),
)
async def set_role_budgets(
    project_id: str, body: RoleBudgetsIn, client: MaybeTemporalDep, engine: EngineDep
) -> RoleBudgetState:
    """Replace the project's monthly role budgets (update `set_role_budgets`); answers the role
    budget state. Idempotent: the same budgets again change nothing but a note."""
    return await service.set_role_budgets(client, engine, project_id, body.role_budgets_usd)


@router.post(
    "/{project_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=errors(401, 403, 404, 409, 503),
)
async def cancel_project(project_id: str, client: MaybeTemporalDep, engine: EngineDep) -> Accepted:
    """Request cancellation; the project ends with status cancelled. Repeating it is harmless."""
    await service.cancel(client, engine, project_id)
    return Accepted(project_id=project_id)
