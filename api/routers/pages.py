"""Server-rendered pages: the dashboard, one project's page, and the signed approval page.

No JavaScript needed; every page reads on a phone. LLM text is rendered as markdown with raw HTML
disabled and images turned into links, and everything else is autoescaped by Jinja2. The pages
load one stylesheet from /static and nothing else (api/middleware.py sets their CSP).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlmodel import Session

from api import links, readmodel, service
from api.auth import BrowserRoute
from api.deps import ApiKey, EngineDep, MaybeTemporalDep, SessionDep, SettingsDep
from api.domain_errors import status_for
from api.edit_forms import deliverable_text_from_form, plan_edits_from_form
from api.forms import form_token as console_form_token
from api.markdown import render_markdown
from api.payload_guard import PayloadTooLarge
from approvals.tokens import TokenClaims, TokenError, ensure_unused, verify
from boardroom.settings import Settings
from domain.enums import DECISION_STATUS, Channel, GateKind, GateStatus, Phase
from domain.errors import DomainError
from domain.gates import GateDecision, GateView
from domain.project import Cost, PhaseMark, ProjectState
from domain.work import Plan, Question
from store.tables import Document, Gate, Project, Review, Vote
from workflows.ids import project_id_from_gate_id

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES)
REFRESH_S = 10
PHASES = [Phase.discovery, Phase.execution, Phase.launch, Phase.operations]

router = APIRouter(tags=["pages"], include_in_schema=False)
protected = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[ApiKey], route_class=BrowserRoute)


def _dt(value: datetime | None) -> str:
    if value is None:
        return ""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _usd(value: float | None) -> str:
    return f"${(value or 0):,.2f}"


templates.env.filters["md"] = render_markdown
templates.env.filters["dt"] = _dt
templates.env.filters["usd"] = _usd


def timeline(phase: Phase | str, marks: list[PhaseMark]) -> list[dict[str, Any]]:
    """The four phases as done / current / todo, with when each began."""
    phase = Phase(phase)
    at = {m.phase: m.at for m in marks}
    current = len(PHASES) if phase is Phase.completed else PHASES.index(phase)
    return [
        {
            "name": p.value,
            "state": "done" if i < current else "current" if i == current else "todo",
            "at": at.get(p),
        }
        for i, p in enumerate(PHASES)
    ]


def budget_pct(cost: Cost) -> int:
    return min(100, round(100 * cost.usd / cost.budget_usd)) if cost.budget_usd else 0


def error_page(request: Request, code: int, title: str, message: str, *, hint: str = "") -> HTMLResponse:
    return templates.TemplateResponse(
        request, "error.html", {"code": code, "title": title, "message": message, "hint": hint}, status_code=code
    )


def page_not_found(request: Request) -> HTMLResponse:
    """404 for a browser at an address no route answers."""
    return error_page(
        request,
        status.HTTP_404_NOT_FOUND,
        "Page not found",
        f"There is no page at {request.url.path[:200]}.",
        hint="Check the address, or start again from the dashboard.",
    )


def forged_form(request: Request) -> HTMLResponse:
    """403 for a state-changing form without a valid token of ours (a cross-site post, or stale)."""
    return error_page(
        request,
        status.HTTP_403_FORBIDDEN,
        "Form not accepted",
        "This form did not come from this Boardroom page (or it is older than 12 hours). "
        "Reload the page and try again.",
        hint="Nothing was changed.",
    )


# --- dashboard ---------------------------------------------------------------------------


@dataclass
class Card:
    project: Project
    state: ProjectState | None
    phases: list[dict[str, Any]]
    cost: Cost
    pct: int
    view_url: str
    temporal_ui_url: str


@protected.get("/", response_class=HTMLResponse)
def dashboard(request: Request, settings: SettingsDep, session: SessionDep) -> HTMLResponse:
    """Projects, their phase timeline, task boards, pending approvals and cost. Refreshes itself."""
    rows, total, _more = readmodel.list_projects(session, limit=50)
    cards = []
    for row in rows:
        state = service.snapshot(row)
        cost = state.cost.model_copy() if state else Cost(usd=row.cost_usd)
        cost.budget_usd = cost.budget_usd or row.budget_usd
        cards.append(
            Card(
                project=row,
                state=state,
                phases=timeline(row.phase, state.timeline if state else []),
                cost=cost,
                pct=budget_pct(cost),
                view_url=f"/projects/{row.id}/view",
                temporal_ui_url=links.temporal_ui_url(settings, row.workflow_id),
            )
        )
    pending = [service.gate_out(settings, g) for g in readmodel.list_gates(session, status="pending")[0]]
    names = {row.id: row.name for row in rows}
    return templates.TemplateResponse(
        request,
        "dashboard.html",
        {
            "cards": cards,
            "total": total,
            "pending": [(g, names.get(project_id_from_gate_id(g.id) or "", "")) for g in pending],
            "refresh": REFRESH_S,
            "live_events": "/events",
            "temporal_ui": settings.temporal_ui_url,
            "now": datetime.now(UTC),
        },
    )


@protected.get("/projects/{project_id}/view", response_class=HTMLResponse)
async def project_page(
    request: Request, project_id: str, client: MaybeTemporalDep, settings: SettingsDep, engine: EngineDep
) -> HTMLResponse:
    """One project's page, live from the workflow when it runs."""
    try:
        detail = await service.project_detail(client, settings, engine, project_id)
    except DomainError as exc:
        return error_page(request, status_for(exc), "Project not available", exc.message)
    return templates.TemplateResponse(
        request,
        "project.html",
        {
            "p": detail,
            "phases": timeline(detail.phase, detail.timeline),
            "pct": budget_pct(detail.cost),
            "refresh": None if detail.status.value in service.TERMINAL else REFRESH_S,
            "finished": detail.status.value in service.TERMINAL,
            "steered": request.query_params.get("steered") == "1",
            "live_events": None if detail.status.value in service.TERMINAL else f"/projects/{detail.id}/events",
            "steer_token": console_form_token(settings, f"steer:{detail.id}"),
        },
    )


# --- approval page -----------------------------------------------------------------------


@dataclass
class GateContext:
    claims: TokenClaims
    gate: GateView
    project: Project | None
    deliverable: Document | None = None
    review: Review | None = None
    cost: Cost = field(default_factory=Cost)
    plan: Plan | None = None
    # Quorum (Policy.quorum on high-risk gates): the votes so far and how many approvals it takes.
    votes: list[Vote] = field(default_factory=list)
    approvals_needed: int = 1

    @property
    def approvals(self) -> int:
        return sum(1 for v in self.votes if v.decision == "approve")


def gate_view(row: Gate) -> GateView:
    return GateView(
        id=row.id,
        kind=row.kind,  # type: ignore[arg-type]
        title=row.title,
        summary=row.summary,
        risk=row.risk,  # type: ignore[arg-type]
        status=row.status,  # type: ignore[arg-type]
        task_id=row.task_id,
        deliverable_id=row.deliverable_id,
        questions=[Question.model_validate(q) for q in row.questions or []],
        created_at=row.created_at,
        reminders=row.reminders,
        decision=row.decision,  # type: ignore[arg-type]
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        channel=row.channel,  # type: ignore[arg-type]
        comment=row.comment or "",
    )


class PageError(Exception):
    def __init__(self, code: int, title: str, message: str) -> None:
        super().__init__(message)
        self.code, self.title, self.message = code, title, message


async def load_gate(request: Request, token: str) -> GateContext:
    """Verify the link, find its gate (read model first, the live workflow state otherwise)."""
    settings: Settings = request.app.state.settings
    engine = request.app.state.engine
    try:
        claims = verify(settings.secret_key, token, datetime.now(UTC))
    except TokenError as exc:
        title = "Link not valid" if exc.status_code == 403 else "Link expired"
        raise PageError(exc.status_code, title, str(exc)) from None
    project_id = project_id_from_gate_id(claims.gate_id)

    def load(session: Session) -> tuple[Gate | None, Project | None]:
        return readmodel.get_gate(session, claims.gate_id), (
            readmodel.get_project(session, project_id) if project_id else None
        )

    row, project = await service.in_session(engine, load)
    gate: GateView | None = gate_view(row) if row else None
    state = service.snapshot(project) if project else None
    if gate is None and project is not None:
        # The gate opened but its row is not written yet: ask the workflow.
        try:
            state, _ = await service.current_state(getattr(request.app.state, "temporal", None), project)
        except Exception:
            state = None
        gate = next((g for g in state.gates if g.id == claims.gate_id), None) if state else None
    if gate is None:
        raise PageError(404, "Decision not found", f"There is no decision {claims.gate_id} (yet).")
    if gate.status == GateStatus.pending and project is not None and project.status not in service.TERMINAL:
        # The read model trails the workflow by an activity: a link is spent once the workflow
        # has the decision, whatever the database says yet.
        try:
            live, _ = await service.current_state(getattr(request.app.state, "temporal", None), project)
        except Exception:
            live = None
        decided = next((g for g in live.gates if g.id == gate.id), None) if live else None
        if decided is not None and decided.status != GateStatus.pending:
            gate, state = decided, live
    try:
        ensure_unused(claims, gate.status.value, gate.decided_by, gate.decided_at)
    except TokenError as exc:
        raise PageError(exc.status_code, "Already decided", str(exc)) from None
    if project is not None and project.status in service.TERMINAL:
        raise PageError(410, "Project ended", f"{project.name} is {project.status}; this decision is no longer needed.")
    cost = state.cost.model_copy() if state else Cost(usd=project.cost_usd if project else 0.0)
    cost.budget_usd = cost.budget_usd or (project.budget_usd if project else 0.0)

    def extras(session: Session) -> tuple[Document | None, Review | None, list[Vote]]:
        doc = readmodel.get_document(session, gate.deliverable_id)
        review = readmodel.review_for_document(session, doc.id if doc else None)
        if review is None and project_id:
            review = readmodel.latest_review(session, project_id, gate.task_id)
        return doc, review, readmodel.votes_for(session, [gate.id]).get(gate.id, [])

    doc, review, votes = await service.in_session(engine, extras)
    needed = service.approvals_for(project, gate.risk)
    plan = None
    if gate.kind == GateKind.plan and project is not None:
        # The plan under decision lives in the workflow's state: show its tasks, not just a summary.
        try:
            live, _ = await service.current_state(getattr(request.app.state, "temporal", None), project)
        except Exception:
            live = state
        plan = live.plan if live else None
    return GateContext(
        claims=claims,
        gate=gate,
        project=project,
        deliverable=doc,
        review=review,
        cost=cost,
        plan=plan,
        votes=list(votes),
        approvals_needed=needed,
    )


def _render_gate(
    request: Request,
    token: str,
    ctx: GateContext,
    *,
    error: str = "",
    code: int = 200,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "approval.html",
        {
            "token": token,
            "ctx": ctx,
            "gate": ctx.gate,
            "project": ctx.project,
            "interview": ctx.gate.kind == GateKind.interview,
            "error": error,
            "form": form or {},
            "pct": budget_pct(ctx.cost),
        },
        status_code=code,
    )


@router.get("/a/{token}", response_class=HTMLResponse)
async def approval_page(request: Request, token: str) -> HTMLResponse:
    """The page a signed link opens: the decision, its deliverable and QA report, the form.
    Forged → 403, expired or already decided → 410."""
    try:
        ctx = await load_gate(request, token)
    except PageError as exc:
        return error_page(request, exc.code, exc.title, exc.message)
    return _render_gate(request, token, ctx)


@router.post("/a/{token}", response_class=HTMLResponse)
async def approval_submit(request: Request, token: str) -> HTMLResponse:
    """Apply the form's decision through the workflow update (channel web, the link's approver)."""
    try:
        ctx = await load_gate(request, token)
    except PageError as exc:
        return error_page(request, exc.code, exc.title, exc.message)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    decision = form.get("decision", "")
    plan_edits = deliverable_text = None
    if decision == "approve":
        plan_edits = plan_edits_from_form(ctx.plan if ctx.gate.kind == GateKind.plan else None, form)
        deliverable_text = deliverable_text_from_form(ctx.deliverable.content if ctx.deliverable else None, form)
        if plan_edits is not None and not plan_edits.tasks:
            return _render_gate(
                request, token, ctx, error="Keep at least one task (or reject the plan).", code=422, form=form
            )
    comment = form.get("comment", "").strip()[:4000]
    answers = {
        q.id: form.get(f"answer_{q.id}", "").strip()[:4000]
        for q in ctx.gate.questions
        if form.get(f"answer_{q.id}", "").strip()
    }
    if decision not in DECISION_STATUS:
        return _render_gate(
            request, token, ctx, error="Choose approve, reject or request changes.", code=422, form=form
        )
    if decision == "revise" and not comment:
        return _render_gate(request, token, ctx, error="Say what should change in the comment.", code=422, form=form)
    client = getattr(request.app.state, "temporal", None)
    if client is None:
        return error_page(request, 503, "Try again shortly", "Boardroom cannot reach Temporal right now.")
    try:
        result = await service.decide(
            client,
            request.app.state.engine,
            GateDecision(
                gate_id=ctx.gate.id,
                decision=decision,  # type: ignore[arg-type]
                comment=comment,
                approver=ctx.claims.approver,
                answers=answers,
                channel=Channel.web,
                token_id=ctx.claims.token_id,
                plan_edits=plan_edits,
                deliverable_text=deliverable_text,
            ),
        )
    except PayloadTooLarge:
        return _render_gate(request, token, ctx, error="Your text is too long; shorten it.", code=413, form=form)
    except DomainError as exc:
        code, detail = status_for(exc), exc.message
        if code == status.HTTP_409_CONFLICT:
            return error_page(request, 410, "Already decided", detail)
        if code == status.HTTP_422_UNPROCESSABLE_CONTENT:
            return _render_gate(request, token, ctx, error=detail, code=422, form=form)
        titles = {403: "Not allowed", 404: "Decision not found", 503: "Try again shortly"}
        return error_page(request, code, titles.get(code, "Not applied"), detail)
    return templates.TemplateResponse(
        request, "decided.html", {"result": result, "gate": ctx.gate, "project": ctx.project}
    )
