"""What the routers, the pages and Slack share: start a project, read its state, decide a gate,
steer and cancel — each a call on the project workflow through the one Temporal client."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import (
    Client,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api import links, readmodel
from api.auth import Principal
from api.payload_guard import PayloadTooLarge
from api.plan_view import shown_plan_summary
from api.schemas import (
    DecisionLogOut,
    GateOut,
    ProjectCreate,
    ProjectCreated,
    ProjectDetail,
    TaskOut,
    VoteOut,
)
from approvals.policy import approvals_needed
from boardroom.settings import DEFAULT_PRINCIPAL, Settings
from domain.enums import AutoApprove, GateStatus, Phase, Risk, Status
from domain.errors import (
    AlreadyDecided,
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    Unavailable,
    UnknownGate,
    rejection,
)
from domain.gates import DecisionResult, GateDecision
from domain.project import (
    Cost,
    IntegrationView,
    Policy,
    ProjectInput,
    ProjectState,
    RoleBudgetState,
    RoleBudgetsUpdate,
    SteerInstruction,
)
from domain.work import Kpis
from store.tables import Gate, Project, Vote
from workflows.describe import start_details, start_summary
from workflows.ids import project_id_from_gate_id, project_workflow_id
from workflows.project import ProjectWorkflow
from workflows.search import SA_OWNER, SA_PHASE, SA_PROJECT_ID

log = logging.getLogger("boardroom.api")


T = TypeVar("T")

QUERY_TIMEOUT = timedelta(seconds=5)
UPDATE_TIMEOUT = timedelta(seconds=30)
TERMINAL = {Status.completed.value, Status.failed.value, Status.cancelled.value}
DEFAULT_BUDGET_USD = 50.0


async def in_session(engine: Engine, fn: Callable[[Session], T]) -> T:
    """Run a synchronous read-model call in the thread pool with a session of its own."""

    def run() -> T:
        with Session(engine, expire_on_commit=False) as session:
            return fn(session)

    return await run_in_threadpool(run)


def require(client: Client | None) -> Client:
    """The Temporal client, or Unavailable (503) while the API has not reached Temporal yet.

    Checked after input validation and lookups, so bad input is 422/404 even when Temporal is away.
    """
    if client is None:
        raise Unavailable("Temporal is not reachable yet; the API keeps retrying")
    return client


# --- projects ----------------------------------------------------------------------------


def project_id_for(idempotency_key: str | None) -> str:
    """Deterministic from the idempotency key (the same key → the same project), else random."""
    if idempotency_key:
        return "p-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:12]
    return "p-" + uuid.uuid4().hex[:12]


def name_from_goal(goal: str, limit: int = 60) -> str:
    first = " ".join(goal.split())
    if len(first) <= limit:
        return first
    cut = first[:limit].rsplit(" ", 1)[0] or first[:limit]
    return cut.rstrip(",.;:-") + "…"


def project_input(row: Project, role_budgets_usd: dict[str, float] | None = None) -> ProjectInput:
    approvers = list(row.approvers or []) or ([row.owner] if row.owner and row.owner != "ceo" else [])
    return ProjectInput(
        project_id=row.id,
        name=row.name,
        goal=row.goal,
        owner=row.owner,
        budget_usd=row.budget_usd,
        policy=Policy(
            auto_approve=AutoApprove(row.auto_approve),
            approvers=approvers,
            quorum=row.quorum or 1,
            role_budgets_usd=role_budgets_usd or {},
        ),
    )


async def start_project(
    client: Client | None, settings: Settings, engine: Engine, body: ProjectCreate, owner: str = DEFAULT_PRINCIPAL
) -> ProjectCreated:
    """Create the read-model row, then start (or find) the workflow. Idempotent per key.

    The project's approver is `body.approver`, else `owner` (the principal that creates it)."""
    client = require(client)
    now = datetime.now(UTC)
    row = Project(
        id=project_id_for(body.idempotency_key),
        name=body.name or name_from_goal(body.goal),
        goal=body.goal,
        owner=body.approver or owner,
        workflow_id="",
        idempotency_key=body.idempotency_key,
        budget_usd=body.budget_usd or DEFAULT_BUDGET_USD,
        auto_approve=body.auto_approve.value,
        approvers=list(body.approvers) or None,
        quorum=body.quorum,
        # Aware timestamps: SQLModel's UTCDateTime columns refuse naive ones.
        created_at=now,
        updated_at=now,
    )
    row.workflow_id = project_workflow_id(row.id)
    row, created = await in_session(engine, lambda s: readmodel.create_project(s, row))
    if not created and row.goal != body.goal:
        raise Conflict("this idempotency key was already used for a project with another goal")
    try:
        start = project_input(row, body.role_budgets_usd)
        await client.start_workflow(
            ProjectWorkflow.run,
            start,
            id=row.workflow_id,
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            # A project id names one business for good: a finished run is never restarted.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(SA_PROJECT_ID, row.id),
                    SearchAttributePair(SA_OWNER, row.owner),
                    SearchAttributePair(SA_PHASE, Phase.discovery.value),
                ]
            ),
            memo={"name": row.name, "goal": row.goal[:200]},
            # What the Temporal UI shows in the workflow list and on the workflow's page.
            static_summary=start_summary(start),
            static_details=start_details(start, links.view_url(settings, row.id)),
        )
    except WorkflowAlreadyStartedError:
        pass  # the project's run has closed already: the same project, nothing to start
    except (RPCError, PayloadTooLarge):
        if created:
            # Without a workflow the row would be an orphan; a retry with the key recreates both.
            await in_session(engine, lambda s: readmodel.delete_project(s, row.id))
        raise
    log.info("project %s %s (workflow %s)", row.id, "started" if created else "found", row.workflow_id)
    return ProjectCreated(
        id=row.id,
        workflow_id=row.workflow_id,
        status_url=links.status_url(settings, row.id),
        temporal_ui_url=links.temporal_ui_url(settings, row.workflow_id),
    )


async def load_project(engine: Engine, project_id: str) -> Project:
    row = await in_session(engine, lambda s: readmodel.get_project(s, project_id))
    if row is None:
        raise NotFound(f"unknown project {project_id}")
    return row


def snapshot(row: Project) -> ProjectState | None:
    if not row.state:
        return None
    try:
        return ProjectState.model_validate(row.state)
    except ValidationError:
        log.warning("project %s: stored state snapshot does not match ProjectState; ignored", row.id)
        return None


async def live_state(client: Client, row: Project) -> ProjectState:
    handle = client.get_workflow_handle_for(ProjectWorkflow.run, row.workflow_id)
    return await handle.query(ProjectWorkflow.get_state, rpc_timeout=QUERY_TIMEOUT)


async def current_state(client: Client | None, row: Project) -> tuple[ProjectState | None, str]:
    """Live from the workflow when it runs; the stored snapshot for closed or unreachable ones."""
    stored = snapshot(row)
    if client is None or (row.status in TERMINAL and stored is not None):
        return stored, "snapshot" if stored else "created"
    try:
        return await live_state(client, row), "live"
    except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError) as exc:
        if stored is None and isinstance(exc, RPCError) and exc.status == RPCStatusCode.UNAVAILABLE:
            raise
        log.info("project %s: state query failed (%s); using the stored snapshot", row.id, exc)
        return stored, "snapshot" if stored else "created"


# What the workflow keeps on a gate for itself (not part of the API's gate).
STATE_ONLY_GATE_FIELDS = {"deliverable_id", "reminders", "plan_edits", "edited_deliverable_id", "edited_by"}


def approvals_for(project: Project | None, risk: str) -> int:
    """How many approvals a gate of this risk needs in this project (its policy's quorum)."""
    if project is None:
        return 1
    return approvals_needed(project.quorum or 1, project_input(project).policy.approvers, Risk(risk))


def gate_out(settings: Settings, gate: Gate, votes: Sequence[Vote] = (), needed: int = 1) -> GateOut:
    """A gate from the read model; `votes` and `needed` for a gate that needs several approvals."""
    pending = gate.status == GateStatus.pending.value
    return GateOut(
        votes=[
            VoteOut(approver=v.approver, decision=v.decision, channel=v.channel, comment=v.comment, at=v.voted_at)
            for v in votes
        ],  # type: ignore[arg-type]
        approvals_needed=needed,
        id=gate.id,
        kind=gate.kind,  # type: ignore[arg-type]
        title=gate.title,
        summary=gate.summary,
        status=gate.status,  # type: ignore[arg-type]
        risk=gate.risk,  # type: ignore[arg-type]
        created_at=gate.created_at,
        task_id=gate.task_id,
        questions=gate.questions or [],  # type: ignore[arg-type]
        decision=gate.decision,  # type: ignore[arg-type]
        decided_by=gate.decided_by,
        decided_at=gate.decided_at,
        channel=gate.channel,  # type: ignore[arg-type]
        comment=gate.comment or "",
        approve_url=links.approve_url(settings, gate.id, gate.approver, gate.created_at) if pending else None,
    )


def build_detail(
    settings: Settings,
    row: Project,
    state: ProjectState | None,
    source: str,
    session: Session,
) -> ProjectDetail:
    rows = readmodel.gates_by_id(session, row.id)
    if state is not None:
        gates: list[GateOut] = []
        for g in state.gates:
            stored = rows.get(g.id)
            approver = stored.approver if stored else row.owner
            created = stored.created_at if stored else g.created_at
            gates.append(
                GateOut(
                    **g.model_dump(exclude=STATE_ONLY_GATE_FIELDS),
                    approve_url=(
                        links.approve_url(settings, g.id, approver, created) if g.status == GateStatus.pending else None
                    ),
                )
            )
        tasks = [TaskOut(**t.model_dump()) for t in state.tasks]
        cost = state.cost.model_copy()
        if not cost.budget_usd:
            cost.budget_usd = row.budget_usd
        kpis, integrations_live = state.kpis, state.integrations
        phase, status_, timeline = state.phase, state.status, state.timeline
        steering, error, name, goal, owner = state.steering, state.error, state.name, state.goal, state.owner
    else:
        gates = [gate_out(settings, g) for g in rows.values()]
        tasks, kpis, integrations_live, timeline = [], Kpis(), [], []
        cost = Cost(usd=row.cost_usd, budget_usd=row.budget_usd)
        phase, status_ = Phase(row.phase), Status(row.status)
        steering, error, name, goal, owner = [], None, row.name, row.goal, row.owner
    # The integrations table is what launch actually did; the state fills in the rest.
    integrations = {i.name: i for i in integrations_live}
    for rec in readmodel.integrations_for(session, row.id):
        live = integrations.get(rec.name)
        integrations[rec.name] = IntegrationView(
            name=rec.name,
            status=rec.status,  # type: ignore[arg-type]
            reason=rec.reason,
            url=rec.url,
            at=live.at if live is not None else None,
        )
    decisions = [
        DecisionLogOut(
            gate_id=d.gate_id,
            decision=d.decision,  # type: ignore[arg-type]
            approver=d.approver,
            channel=d.channel,
            comment=d.comment,
            decided_at=d.decided_at,
            edits=d.edits,
        )
        for d in readmodel.decisions_for(session, row.id)
    ]
    plan_summary = (
        shown_plan_summary(state.plan, state.gates, decisions) if state is not None and state.plan is not None else ""
    )
    return ProjectDetail(
        id=row.id,
        name=name,
        goal=goal,
        owner=owner,
        phase=phase,
        status=status_,
        source=source,  # type: ignore[arg-type]
        timeline=timeline,
        plan_summary=plan_summary,
        tasks=tasks,
        gates=gates,
        kpis=kpis,
        cost=cost,
        role_budgets=state.role_budgets if state is not None else RoleBudgetState(),
        cited=state.cited if state is not None else [],
        integrations=list(integrations.values()),
        decisions=decisions,
        steering=steering,
        error=error,
        created_at=row.created_at,
        workflow_id=row.workflow_id,
        temporal_ui_url=links.temporal_ui_url(settings, row.workflow_id),
    )


async def project_detail(client: Client | None, settings: Settings, engine: Engine, project_id: str) -> ProjectDetail:
    row = await load_project(engine, project_id)
    state, source = await current_state(client, row)
    return await in_session(engine, lambda s: build_detail(settings, row, state, source, s))


def _not_running(row: Project, exc: RPCError) -> Conflict:
    if exc.status == RPCStatusCode.NOT_FOUND:
        return Conflict(f"project {row.id} is not running ({row.status})")
    raise exc


def bound_name(principal: Principal, claimed: str | None, approver: str | None) -> str:
    """The name an action is recorded under: the authenticated principal's (for the local owner,
    the approver of what is decided). A different name in the body is refused, not recorded."""
    name = principal.acts_as(approver)
    if claimed is not None and not principal.may_claim(claimed, approver):
        raise Forbidden(f"authenticated as '{name}': an action cannot be taken in the name of '{claimed}'")
    return name


async def steer(
    client: Client | None, engine: Engine, project_id: str, instruction: str, principal: Principal, by: str | None
) -> None:
    """Signal a new instruction; the workflow revises the remaining plan."""
    row = await load_project(engine, project_id)
    steer_input = SteerInstruction(instruction=instruction, by=bound_name(principal, by, row.owner))
    if row.status in TERMINAL:
        raise Conflict(f"project {row.id} is {row.status}")
    handle = require(client).get_workflow_handle_for(ProjectWorkflow.run, row.workflow_id)
    try:
        await handle.signal(ProjectWorkflow.steer, steer_input)
    except RPCError as exc:
        raise _not_running(row, exc) from None


async def cancel(client: Client | None, engine: Engine, project_id: str) -> None:
    """Request cancellation; the workflow ends the project cleanly with status cancelled."""
    row = await load_project(engine, project_id)
    if row.status in TERMINAL:
        raise Conflict(f"project {row.id} is {row.status}")
    client = require(client)
    # The read model trails the workflow: a project that is already ending says so itself.
    live, _ = await current_state(client, row)
    if live is not None and live.status.value in TERMINAL:
        raise Conflict(f"project {row.id} is {live.status.value}")
    handle = client.get_workflow_handle(row.workflow_id)
    try:
        await handle.cancel()
    except RPCError as exc:
        raise _not_running(row, exc) from None


# --- decisions ---------------------------------------------------------------------------


def already_decided(gate: Gate) -> str:
    when = gate.decided_at.strftime("%Y-%m-%d %H:%M UTC") if gate.decided_at else "an earlier time"
    return f"gate {gate.id} was already {gate.status} by {gate.decided_by or 'someone'} at {when}"


def _unanswered(row: Project, exc: WorkflowUpdateRPCTimeoutOrCancelledError | RPCError) -> DomainError:
    """An update that got no answer: the worker is away (503) or the workflow is gone (409)."""
    if isinstance(exc, RPCError):
        return _not_running(row, exc)
    return Unavailable("the project workflow did not answer in time (is a worker running?); try again")


async def set_role_budgets(
    client: Client | None, engine: Engine, project_id: str, budgets: dict[str, float]
) -> RoleBudgetState:
    """Replace a running project's role budgets through its `set_role_budgets` update."""
    row = await load_project(engine, project_id)
    if row.status in TERMINAL:
        raise Conflict(f"project {row.id} is {row.status}")
    handle = require(client).get_workflow_handle_for(ProjectWorkflow.run, row.workflow_id)
    try:
        return await handle.execute_update(
            ProjectWorkflow.set_role_budgets, RoleBudgetsUpdate(budgets_usd=budgets), rpc_timeout=UPDATE_TIMEOUT
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise Conflict(f"the role budgets were not changed: {message}") from None
    except (WorkflowUpdateRPCTimeoutOrCancelledError, RPCError) as exc:
        raise _unanswered(row, exc) from None


async def gate_and_project(engine: Engine, gate_id: str) -> tuple[Project | None, Gate | None]:
    """The gate's project and the gate itself from the read model, in one session (either is
    None when unknown)."""
    project_id = project_id_from_gate_id(gate_id)
    if project_id is None:
        return None, None

    def load(session: Session) -> tuple[Project | None, Gate | None]:
        return readmodel.get_project(session, project_id), readmodel.get_gate(session, gate_id)

    return await in_session(engine, load)


async def decide(
    client: Client | None,
    engine: Engine,
    decision: GateDecision,
    looked_up: tuple[Project | None, Gate | None] | None = None,
) -> DecisionResult:
    """Apply a decision through the workflow's `decide` update (validated before it is written).

    `looked_up` is what `gate_and_project` answered for this gate, when the caller already
    asked (one read-model session per decision, not two).

    Rejections come back as domain errors (domain.errors): UnknownGate, AlreadyDecided,
    AlreadyVoted, ApproverNotAllowed, InvalidDecision — named as the update's ApplicationError
    types — and Conflict for any other rejection (api/domain_errors.py maps them to HTTP).
    """
    row, gate = looked_up if looked_up is not None else await gate_and_project(engine, decision.gate_id)
    if row is None:
        raise UnknownGate(f"unknown gate {decision.gate_id}")
    if gate is not None and gate.status != GateStatus.pending.value:
        raise AlreadyDecided(already_decided(gate))
    if row.status in TERMINAL:
        raise Conflict(f"project {row.id} is {row.status}: nothing is decided any more")
    handle = require(client).get_workflow_handle_for(ProjectWorkflow.run, row.workflow_id)
    try:
        # The SDK's stubs type an `async def` update's result as the coroutine; it is a DecisionResult.
        result: DecisionResult = await handle.execute_update(
            ProjectWorkflow.decide,  # type: ignore[arg-type]
            decision,
            rpc_timeout=UPDATE_TIMEOUT,
        )
        return result
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and (refused := rejection(cause.type, cause.message)) is not None:
            raise refused from None
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise Conflict(f"the decision was not accepted: {message}") from None
    except (WorkflowUpdateRPCTimeoutOrCancelledError, RPCError) as exc:
        raise _unanswered(row, exc) from None
