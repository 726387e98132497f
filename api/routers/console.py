"""The CEO's console: start a project, steer or cancel it, and decide what waits — from the browser.

Every form works without JavaScript. State-changing forms carry a signed, expiring form token
(bound to the form's purpose) so a page on another site cannot post them; the decisions go
through the same validated workflow update as the API (channel `web`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from activities.catalog import load_catalog
from api import readmodel, service
from api.auth import BrowserRoute, PrincipalDep
from api.deps import ApiKey, EngineDep, MaybeTemporalDep, SessionDep, SettingsDep
from api.domain_errors import status_for
from api.forms import form_token, form_token_ok, read_form
from api.routers.pages import error_page, forged_form, templates
from api.schemas import ProjectCreate
from boardroom.role_budget_text import parse_role_budgets
from boardroom.settings import Settings
from domain.enums import DECISION_STATUS, AutoApprove, Channel, GateStatus
from domain.errors import DomainError
from domain.gates import GateDecision
from domain.project import MAX_ROLE_BUDGETS
from store.tables import Project
from workflows.ids import project_id_from_gate_id

router = APIRouter(tags=["console"], include_in_schema=False, dependencies=[ApiKey], route_class=BrowserRoute)

KINDS = ("interview", "plan", "deliverable", "escalation", "budget", "go_live", "improvement", "compliance")
RISKS = ("low", "medium", "high")


# --- forms ---------------------------------------------------------------------------------


def check_form(request: Request, settings: Settings, purpose: str, form: dict[str, str]) -> HTMLResponse | None:
    if not form_token_ok(settings, purpose, form.get("form_token", "")):
        return forged_form(request)
    return None


# --- new project --------------------------------------------------------------------------


def _new_form(
    request: Request, settings: Settings, *, error: str = "", form: dict[str, str] | None = None, code: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "new_project.html",
        {
            "form": form or {},
            "error": error,
            "policies": [p.value for p in AutoApprove],
            "roles": load_catalog().names,
            "max_role_budgets": MAX_ROLE_BUDGETS,
            "form_token": form_token(settings, "new-project"),
        },
        status_code=code,
    )


@router.get("/new", response_class=HTMLResponse)
def new_project_form(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The "New project" form."""
    return _new_form(request, settings)


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = [str(p) for p in first.get("loc", ())]
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    if not loc:
        # A rule across fields (a quorum larger than the approvers): its message says it all.
        return message
    if loc[0] == "role_budgets_usd":
        which = f" ({loc[1]})" if len(loc) > 1 else ""
        return f"Role budgets{which}: {message}"
    field = ".".join(loc)
    labels = {
        "goal": "Goal",
        "name": "Name",
        "budget_usd": "Budget",
        "auto_approve": "Approval policy",
        "approvers": "Approvers",
        "quorum": "Approvals needed",
    }
    return f"{labels.get(field, field)}: {first.get('msg', 'invalid')}"


@router.post("/new", response_class=HTMLResponse)
async def new_project_submit(
    request: Request, settings: SettingsDep, engine: EngineDep, client: MaybeTemporalDep, principal: PrincipalDep
) -> Response:
    """Create the project from the form and open its page (303). Bad input → 422 with the form kept."""
    form = await read_form(request)
    if (refused := check_form(request, settings, "new-project", form)) is not None:
        return refused
    data: dict[str, Any] = {"goal": form.get("goal", ""), "auto_approve": form.get("auto_approve") or "none"}
    if form.get("name", "").strip():
        data["name"] = form["name"]
    approvers = [a.strip() for a in form.get("approvers", "").split(",") if a.strip()]
    if approvers:
        data["approvers"] = approvers
    quorum = form.get("quorum", "").strip()
    if quorum and quorum != "1":
        try:
            # isdecimal, not isdigit: "²" is a digit that int() refuses; the length bounds int().
            if not quorum.isdecimal() or len(quorum) > 6:
                raise ValueError(quorum)
            data["quorum"] = int(quorum)
        except ValueError:
            return _new_form(request, settings, error="Approvals needed: enter a whole number", form=form, code=422)
    try:
        role_budgets = parse_role_budgets(form.get("role_budgets", "").splitlines())
    except ValueError as exc:
        return _new_form(request, settings, error=f"Role budgets: {exc}", form=form, code=422)
    if role_budgets:
        data["role_budgets_usd"] = role_budgets
    budget = form.get("budget_usd", "").strip()
    if budget:
        try:
            data["budget_usd"] = float(budget)
        except ValueError:
            return _new_form(request, settings, error="Budget: enter a number of dollars, like 25", form=form, code=422)
    try:
        body = ProjectCreate.model_validate(data)
    except ValidationError as exc:
        return _new_form(request, settings, error=_validation_message(exc), form=form, code=422)
    try:
        created = await service.start_project(client, settings, engine, body, owner=principal.name)
    except DomainError as exc:
        return _new_form(request, settings, error=exc.message, form=form, code=status_for(exc))
    return RedirectResponse(f"/projects/{created.id}/view", status_code=status.HTTP_303_SEE_OTHER)


# --- steer and cancel ----------------------------------------------------------------------


@router.post("/projects/{project_id}/view/steer", response_class=HTMLResponse)
async def steer_submit(
    request: Request,
    project_id: str,
    settings: SettingsDep,
    engine: EngineDep,
    client: MaybeTemporalDep,
    principal: PrincipalDep,
) -> Response:
    """Send the steer box's instruction to the project, then back to its page (303)."""
    form = await read_form(request)
    if (refused := check_form(request, settings, f"steer:{project_id}", form)) is not None:
        return refused
    text = form.get("instruction", "").strip()
    if not text:
        return error_page(request, 422, "Nothing to send", "Write the instruction for the team first.")
    try:
        await service.steer(client, engine, project_id, text, principal, None)
    except DomainError as exc:
        return error_page(request, status_for(exc), "Not sent", exc.message)
    return RedirectResponse(f"/projects/{project_id}/view?steered=1", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/projects/{project_id}/view/cancel", response_class=HTMLResponse)
async def cancel_confirm(request: Request, project_id: str, settings: SettingsDep, engine: EngineDep) -> HTMLResponse:
    """The confirmation page before a project is cancelled."""
    try:
        row = await service.load_project(engine, project_id)
    except DomainError as exc:
        return error_page(request, status_for(exc), "Project not available", exc.message)
    return templates.TemplateResponse(
        request,
        "cancel.html",
        {"project": row, "form_token": form_token(settings, f"cancel:{project_id}")},
    )


@router.post("/projects/{project_id}/view/cancel", response_class=HTMLResponse)
async def cancel_submit(
    request: Request, project_id: str, settings: SettingsDep, engine: EngineDep, client: MaybeTemporalDep
) -> Response:
    """Cancel the project (after the confirmation page), then back to its page (303)."""
    form = await read_form(request)
    if (refused := check_form(request, settings, f"cancel:{project_id}", form)) is not None:
        return refused
    if form.get("confirm") != "yes":
        return error_page(request, 422, "Not cancelled", "Tick the confirmation to cancel the project.")
    try:
        await service.cancel(client, engine, project_id)
    except DomainError as exc:
        return error_page(request, status_for(exc), "Not cancelled", exc.message)
    return RedirectResponse(f"/projects/{project_id}/view", status_code=status.HTTP_303_SEE_OTHER)


# --- inbox ----------------------------------------------------------------------------------


@router.get("/inbox", response_class=HTMLResponse)
def inbox(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    project: str = "",
    kind: str = "",
    risk: str = "",
    done: str = "",
    votes: str = "",
) -> HTMLResponse:
    """Pending decisions, filtered by project, kind and risk; each decided in place."""
    project, kind, risk = project[:64], kind[:32], risk[:16]
    rows, _more = readmodel.list_gates(session, status="pending")
    gates = [
        g
        for g in rows
        if (not project or g.project_id == project) and (not kind or g.kind == kind) and (not risk or g.risk == risk)
    ]
    rows_by_id: dict[str, Project | None] = {
        p.id: p for p in readmodel.list_projects(session, limit=200, with_state=False)[0]
    }
    projects = {pid: p.name for pid, p in rows_by_id.items() if p is not None}
    # Each shown gate's own project (older ones too), looked up once per request.
    for g in gates:
        if g.project_id not in rows_by_id:
            rows_by_id[g.project_id] = readmodel.get_project(session, g.project_id)
    names = {pid: p.name for pid, p in rows_by_id.items() if p is not None}
    cast = readmodel.votes_for(session, [g.id for g in gates])
    shown = [
        service.gate_out(settings, g, cast.get(g.id, []), service.approvals_for(rows_by_id[g.project_id], g.risk))
        for g in gates
    ]
    return templates.TemplateResponse(
        request,
        "inbox.html",
        {
            "gates": [(out, names.get(g.project_id, g.project_id)) for out, g in zip(shown, gates, strict=True)],
            "tokens": {g.id: form_token(settings, f"decide:{g.id}") for g in gates},
            "projects": projects,
            "kinds": KINDS,
            "risks": RISKS,
            "filters": {"project": project, "kind": kind, "risk": risk},
            "done": done[:80],
            "votes": votes[:40],
            "refresh": 10,
            "live_events": "/events",
            "total": len(rows),
        },
    )


@router.post("/inbox/{gate_id}/decide", response_class=HTMLResponse)
async def inbox_decide(
    request: Request,
    gate_id: str,
    settings: SettingsDep,
    engine: EngineDep,
    client: MaybeTemporalDep,
    principal: PrincipalDep,
) -> Response:
    """Decide one gate from the inbox (approve / reject / request changes with a comment)."""
    form = await read_form(request)
    if (refused := check_form(request, settings, f"decide:{gate_id}", form)) is not None:
        return refused
    decision = form.get("decision", "")
    comment = form.get("comment", "").strip()
    if decision not in DECISION_STATUS:
        return error_page(request, 422, "Not decided", "Choose approve, reject or request changes.")
    if decision == "revise" and not comment:
        return error_page(request, 422, "Not decided", "Say what should change in the comment.")
    if project_id_from_gate_id(gate_id) is None:
        return error_page(request, 404, "Decision not found", f"There is no decision {gate_id}.")
    _, gate = looked_up = await service.gate_and_project(engine, gate_id)
    if gate is None:
        return error_page(request, 404, "Decision not found", f"There is no decision {gate_id} (yet).")
    try:
        result = await service.decide(
            client,
            engine,
            GateDecision(
                gate_id=gate_id,
                decision=decision,  # type: ignore[arg-type]
                comment=comment,
                approver=principal.acts_as(gate.approver),
                channel=Channel.web,
            ),
            looked_up,
        )
    except DomainError as exc:
        code = status_for(exc)
        titles = {403: "Not allowed", 404: "Decision not found", 409: "Already decided", 503: "Try again shortly"}
        return error_page(request, code, titles.get(code, "Not decided"), exc.message)
    if result.status == GateStatus.pending:
        # A vote on a gate that needs several approvals: it waits for the others.
        votes = f"{result.approvals}+of+{result.approvals_needed}+approvals"
        return RedirectResponse(f"/inbox?done={gate_id}&votes={votes}", status_code=status.HTTP_303_SEE_OTHER)
    return RedirectResponse(f"/inbox?done={gate_id}", status_code=status.HTTP_303_SEE_OTHER)
