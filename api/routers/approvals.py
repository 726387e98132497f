"""Approvals: the gates waiting for a decision, one gate with its deliverable, and deciding it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from api import readmodel, service
from api.auth import PrincipalDep
from api.deps import ApiKey, EngineDep, MaybeTemporalDep, SessionDep, SettingsDep
from api.paging import MAX_CURSOR_CHARS, encode_cursor, page_after
from api.schemas import (
    ApprovalDetail,
    ApprovalItem,
    ApprovalList,
    DecisionIn,
    DecisionOut,
    DocumentOut,
    ReviewOut,
    errors,
)
from api.service import gate_out
from domain.enums import Channel, GateStatus
from domain.gates import GateDecision, PlanEdits
from store.tables import Project

router = APIRouter(prefix="/approvals", tags=["approvals"], dependencies=[ApiKey])


@router.get("", response_model=ApprovalList, responses=errors(401, 403, 422))
def list_approvals(
    settings: SettingsDep,
    session: SessionDep,
    status: GateStatus | None = None,
    project_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_CHARS)] = None,
) -> ApprovalList:
    """Gates from the read model (`?status=pending` for the ones waiting), oldest first. Read-only.

    Page with `cursor` (the previous page's `next_cursor`), by (created_at, id)."""
    rows, more = readmodel.list_gates(
        session,
        status=status.value if status else None,
        project_id=project_id,
        limit=limit,
        offset=offset,
        after=page_after("approvals", cursor, offset),
    )
    votes = readmodel.votes_for(session, [g.id for g in rows])
    projects: dict[str, Project | None] = {}
    items = []
    for g in rows:
        if g.project_id not in projects:
            projects[g.project_id] = readmodel.get_project(session, g.project_id)
        needed = service.approvals_for(projects[g.project_id], g.risk)
        out = gate_out(settings, g, votes.get(g.id, []), needed)
        items.append(ApprovalItem(**out.model_dump(), project_id=g.project_id))
    return ApprovalList(items=items, next_cursor=encode_cursor("approvals", more) if more else None)


@router.get("/{gate_id}", response_model=ApprovalDetail, responses=errors(401, 403, 404))
def get_approval(gate_id: str, settings: SettingsDep, session: SessionDep) -> ApprovalDetail:
    """One gate with its deliverable and the latest QA report for its task. Read-only."""
    gate = readmodel.get_gate(session, gate_id)
    if gate is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown gate {gate_id}")
    project = readmodel.get_project(session, gate.project_id)
    doc = readmodel.get_document(session, gate.deliverable_id)
    review = readmodel.review_for_document(session, doc.id if doc else None) or readmodel.latest_review(
        session, gate.project_id, gate.task_id
    )
    votes = readmodel.votes_for(session, [gate.id]).get(gate.id, [])
    out = gate_out(settings, gate, votes, service.approvals_for(project, gate.risk))
    return ApprovalDetail(
        **out.model_dump(),
        project_id=gate.project_id,
        project_name=project.name if project else gate.project_id,
        workflow_id=gate.workflow_id,
        approver=gate.approver,
        deliverable=DocumentOut.model_validate(doc, from_attributes=True) if doc else None,
        qa_report=(
            ReviewOut.model_validate({**review.model_dump(), "issues": review.issues or []}, from_attributes=False)
            if review
            else None
        ),
    )


@router.post("/{gate_id}/decision", response_model=DecisionOut, responses=errors(401, 403, 404, 409, 413, 422, 503))
async def decide_approval(
    gate_id: str, body: DecisionIn, client: MaybeTemporalDep, engine: EngineDep, principal: PrincipalDep
) -> DecisionOut:
    """Decide a gate through the workflow's `decide` update. A gate is decided once: 409 after.

    The decision is the caller's: recorded under the API key's name (the local owner of a
    keyless instance decides as the gate's approver). An `approver` naming anyone else is 403."""
    row, gate = looked_up = await service.gate_and_project(engine, gate_id)
    gate_approver = gate.approver if gate is not None else (row.owner if row is not None else None)
    approver = service.bound_name(principal, body.approver, gate_approver)
    result = await service.decide(
        client,
        engine,
        GateDecision(
            gate_id=gate_id,
            decision=body.decision,
            comment=body.comment,
            approver=approver,
            answers=body.answers,
            channel=Channel.api,
            budget_increase_usd=body.budget_increase_usd,
            plan_edits=PlanEdits.model_validate(body.plan_edits.model_dump()) if body.plan_edits else None,
            deliverable_text=body.deliverable_text,
        ),
        looked_up,
    )
    return DecisionOut(**result.model_dump())
