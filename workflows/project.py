"""ProjectWorkflow: one per project. Owns the project's state and gates, runs the phases and the
tasks as its own coroutines (PATCH_ONE_WORKFLOW; runs recorded before it use child workflows),
and operates the business until the CEO ends it (continuing as new as it goes).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, ChildWorkflowError, FailureError

with workflow.unsafe.imports_passed_through():
    from approvals.edits import (
        apply_plan_edits,
        deliverable_edit_problem,
        describe_plan_edits,
        plan_edits_problem,
    )
    from approvals.policy import (
        approvals_needed,
        approver_allowed,
        auto_approves,
        expiry_default,
        has_voted,
        quorum_resolves,
    )
    from domain.enums import DECISION_STATUS, Channel, GateKind, GateStatus, Phase, Status, TaskStatus
    from domain.gates import DecisionResult, GateDecision, GateOutcome, GateRequest, GateView, GateVote
    from domain.launch import IntegrationResult, SlackNotice
    from domain.project import (
        BusinessEvent,
        IntegrationView,
        PhaseMark,
        PlanUpdate,
        ProjectInput,
        ProjectState,
        RoleBudgetState,
        RoleBudgetsUpdate,
        SteerInstruction,
        TaskProgress,
        TaskView,
    )
    from domain.records import (
        BudgetUpdate,
        DecisionRecord,
        DeliverableEdit,
        GateRecord,
        ReadModelUpdate,
        VoteRecord,
    )
    from domain.work import Plan
    from workflows import activity_defs as defs
    from workflows.base import (
        BUDGET_REJECTED,
        SIGNAL_GATE_RESOLVED,
        SIGNAL_OPEN_GATE,
        SIGNAL_PLAN_UPDATED,
        SIGNAL_TASK_PROGRESS,
        GateClient,
        is_budget_rejected,
    )
    from workflows.describe import current_details
    from workflows.discovery import DiscoveryInput, DiscoveryWorkflow
    from workflows.execution import FINISHED, SIGNAL_ROLE_BUDGETS, ExecutionInput, ExecutionWorkflow
    from workflows.ids import gate_id as make_gate_id
    from workflows.launch import CHECKLIST, LaunchInput, LaunchWorkflow
    from workflows.notices import open_gate, send_gate_notices
    from workflows.operations import OperationsReviewWorkflow, ReviewCycleInput, publication
    from workflows.options import NOTICE, STORE
    from workflows.patches import patched
    from workflows.projection import Projection
    from workflows.role_budgets import RoleBudgets, is_role_gate
    from workflows.search import SA_COST_USD, SA_OWNER, SA_PENDING_GATES, SA_PHASE, SA_PROJECT_ID

A = TypeVar("A")
T = TypeVar("T")
# A store write that can carry the read model's sync.
R = TypeVar("R", DecisionRecord, GateRecord)

# Added while projects were live: older runs replay with the decision follow-up inline.
PATCH_FAST_DECIDE = "decide-answers-before-follow-up"
# Added while projects were live: a cancel that lands in one of the project's own activities ends
# the run through the same cleanup as any other cancel (older runs ended without it).
PATCH_CANCEL_IN_ACTIVITY = "cancel-in-activity-ends-cleanly"
# A `decide` signal that claims an internal channel or carries unbounded text is ignored; older
# runs replay taking it as they did.
PATCH_EXTERNAL_DECISIONS = "decide-signal-refuses-internal-channels"

# Only the workflow's own code decides through these; a signal or update never may.
INTERNAL_CHANNELS = frozenset({Channel.policy, Channel.expiry})
MAX_DECISION_TEXT = 4000
MAX_ANSWERS = 12
MAX_BUDGET_INCREASE_USD = 1_000_000.0
MAX_EVENT_USD = 1_000_000.0
# Added while projects were live: gates also go out by email / webhook when those are configured.
PATCH_GATE_NOTIFY = "gate-notify-channels"
# Added while projects were live: older runs wrote the final read model while a decision's
# follow-up could still overwrite it (a cancelled project listed as running).
PATCH_END_AFTER_FOLLOW_UPS = "end-syncs-after-follow-ups"
# Added while projects were live: older runs replay without the Slack notice per phase change.
PATCH_PHASE_NOTICE = "slack-notice-per-phase"
# Added while projects were live: a gate decided while the policy was recording its automatic
# approval used to fail the project (AlreadyDecided raised in the open_gate handler).
PATCH_AUTO_APPROVE_AFTER_DECISION = "auto-approve-yields-to-decision"
# Added while projects were live: a plan approved with edits runs as edited, and a deliverable
# approved with edited text gets the CEO's version (older runs never carried edits).
PATCH_APPROVE_WITH_EDITS = "approve-with-edits"
# Added while projects were live: high-risk gates of a policy with `quorum` > 1 collect one vote
# per listed approver and resolve at the Nth approval or the first "no" (older runs: one decision).
PATCH_QUORUM = "gate-quorum-votes"
# Added while projects were live: a deciding approver's edited text waits for an earlier
# approver's edit still being stored, so the versions follow each other (older runs stored both at once).
PATCH_EDITS_IN_TURN = "quorum-edits-stored-in-turn"
# How much of a quorum vote's comment the gate's votes keep in the state (the `vote` table has it all).
VOTE_COMMENT_KEPT = 300
# Added while projects were live: role budgets set during execution reach the running execution
# child (its tasks started afterwards follow them); older runs never sent it.
PATCH_EXECUTION_ROLE_BUDGETS = "execution-role-budgets"

# Added while projects were live: the project is one workflow. Discovery, execution, every task's
# Producer+QA loop, launch and the operations reviews run as coroutines of the project workflow
# (gates opened and answered by calls, no signals between workflows). Runs recorded before it
# keep their child workflows.
PATCH_ONE_WORKFLOW = "one-workflow"
# Added while projects were live: the read model's sync that follows a gate opening or a decision
# travels with the store write (`open_gate`, `record_decision`): one activity and one workflow
# task fewer for each (older runs synced in an activity of its own afterwards).
PATCH_STORE_SYNCS = "store-writes-carry-sync"


class PhaseFailed(Exception):
    """An inline phase ended with a failure (what a failed child workflow was): `cause` says why."""

    def __init__(self, cause: FailureError) -> None:
        super().__init__(cause.message)
        self.cause = cause


# What a phase change tells the CEO's Slack channel (the notice adds the project page link).
PHASE_NOTICES = {
    Phase.discovery: "a new project: the team interviews you, researches and plans",
    Phase.execution: "the plan is approved; the team is producing the work",
    Phase.launch: "the work is done; going live is next (nothing public before you approve)",
    Phase.operations: "live; periodic reviews turn the KPIs into improvements",
    Phase.completed: "the project is complete",
}

# Bounds on what the state carries, so continue-as-new inputs and queries stay small.
KEEP_GATES = 30
KEEP_NOTES = 20
KEEP_EVENT_IDS = 300
KEEP_IMPROVEMENT_TASKS = 30


def rejected(message: str, kind: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


@workflow.defn(name="project")
class ProjectWorkflow:
    """The life of one business: discovery → execution → launch → operations."""

    @workflow.init
    def __init__(self, data: ProjectInput) -> None:
        self._input = data
        self._policy = data.policy
        if data.carry is not None:
            self.state = data.carry.model_copy(update={"runs": data.carry.runs + 1})
        else:
            self.state = ProjectState(
                project_id=data.project_id,
                name=data.name,
                goal=data.goal,
                owner=data.owner,
            )
            self.state.cost.budget_usd = data.budget_usd
            self.state.role_budgets.budgets_usd = dict(data.policy.role_budgets_usd)
        self._roles = RoleBudgets(self)
        self._child: Any = None
        self._last_sa: tuple[str, int, float] | None = None
        self._last_synced: tuple[Phase, Status] | None = None
        self._projection = Projection()
        self._ending = False
        self._follow_ups: set[asyncio.Task[None]] = set()
        # Gates whose edited deliverable text (a quorum vote's) is being stored.
        self._editing: set[str] = set()
        # PATCH_ONE_WORKFLOW, decided at the start of each run; the work running inline, by id.
        self._one = False
        self._inline: dict[str, GateClient] = {}
        # Every id inline work of this run has answered to (a gate decided after its work ended
        # needs no signal: there is no such workflow). A routine's task is a workflow of its own.
        self._inline_ran: set[str] = set()

    # --- queries, updates, signals --------------------------------------------------------

    @workflow.query(name="state")
    def get_state(self) -> ProjectState:
        """The whole project as the API and the dashboard show it."""
        return self.state

    @workflow.update(name="decide")
    async def decide(self, decision: GateDecision) -> DecisionResult:
        """Decide a pending gate; exactly one decision per gate takes effect."""
        gate = self._check(decision)
        return await self._apply(gate, decision)

    @decide.validator
    def _validate_decide(self, decision: GateDecision) -> None:
        gate = self._check(decision)
        problem = self._external_problem(gate, decision)
        if problem:
            raise rejected(problem, "InvalidDecision")

    @workflow.signal(name="decide")
    async def decide_signal(self, decision: GateDecision) -> None:
        """The same decision as a signal (Temporal UI, fire-and-forget clients); invalid ones are logged."""
        try:
            gate = self._check(decision)
            problem = self._external_problem(gate, decision)
            if problem and patched(PATCH_EXTERNAL_DECISIONS):
                raise rejected(problem, "InvalidDecision")
        except ApplicationError as err:
            workflow.logger.warning("decide signal ignored: %s", err.message)
            return
        await self._apply(gate, decision)

    @workflow.update(name="set_role_budgets")
    def set_role_budgets(self, update: RoleBudgetsUpdate) -> RoleBudgetState:
        """Replace the monthly role budgets (workflows/role_budgets.py); tasks started from now on
        follow them, and a continued run keeps them."""
        self._policy = self._policy.model_copy(update={"role_budgets_usd": dict(update.budgets_usd)})
        self._input = self._input.model_copy(update={"policy": self._policy})
        child = self._child
        if child is not None and self.state.phase == Phase.execution and patched(PATCH_EXECUTION_ROLE_BUDGETS):
            self._in_background(self._tell_execution(child, update))
        return self._roles.set_budgets(update.budgets_usd)

    async def _tell_execution(self, child: Any, update: RoleBudgetsUpdate) -> None:
        """The running execution starts its next tasks under the new role budgets."""
        if isinstance(child, ExecutionWorkflow):
            child.role_budgets(update)
            return
        try:
            await child.signal(SIGNAL_ROLE_BUDGETS, update)
        except FailureError:
            pass  # execution has just ended: no task of it starts any more

    @set_role_budgets.validator
    def _validate_role_budgets(self, update: RoleBudgetsUpdate) -> None:
        del update  # every bounded set of budgets is valid; the project must be running
        if self.state.status not in (Status.running, Status.waiting_approval) or self._ending:
            raise rejected(f"project {self.state.project_id} is {self.state.status.value}", "NotRunning")

    @workflow.signal(name="steer")
    async def steer(self, instruction: SteerInstruction) -> None:
        """A new CEO instruction: the remaining plan is revised (or noted for the next review)."""
        self.state.steering = (self.state.steering + [instruction.instruction])[-KEEP_NOTES:]
        if self._child is not None and self.state.phase in (Phase.discovery, Phase.execution):
            if isinstance(self._child, GateClient):
                self._child.steer(instruction)  # type: ignore[attr-defined]  # discovery and execution take it
            else:
                await self._child.signal("steer", instruction)
        else:
            self.state.notes = (self.state.notes + [f"CEO: {instruction.instruction}"])[-KEEP_NOTES:]

    @workflow.signal(name="business_event")
    def business_event(self, event: BusinessEvent) -> None:
        """Payments, refunds, churn, customer issues and notes move the KPIs (deduplicated by id)."""
        if event.id in self.state.recent_event_ids:
            return
        if not (math.isfinite(event.amount_usd) and 0 <= event.amount_usd <= MAX_EVENT_USD):
            # The API refuses such amounts; a signal from elsewhere must not poison the KPIs.
            workflow.logger.warning(
                "business event %s ignored: amount %r out of range", event.id[:100], event.amount_usd
            )
            return
        self.state.recent_event_ids = (self.state.recent_event_ids + [event.id])[-KEEP_EVENT_IDS:]
        k = self.state.kpis
        k.events += 1
        if event.kind == "payment":
            k.revenue_usd = round(k.revenue_usd + event.amount_usd, 2)
            k.orders += 1
        elif event.kind == "refund":
            k.refunds += 1
            k.refunded_usd = round(k.refunded_usd + event.amount_usd, 2)
            k.revenue_usd = round(k.revenue_usd - event.amount_usd, 2)
        elif event.kind == "subscription_cancelled":
            k.churned_subscriptions += 1
        elif event.kind == "issue_opened":
            if self.state.early_issue_closes:
                self.state.early_issue_closes -= 1
            else:
                k.open_issues += 1
                self._customer_report(f"Customer issue: {event.summary}")
        elif event.kind == "issue_closed":
            if k.open_issues:
                k.open_issues -= 1
            else:
                self.state.early_issue_closes += 1
        elif event.kind == "note":
            k.notes += 1
            if event.source == "ceo":
                self._note(event.summary)
            else:
                self._customer_report(event.summary)

    @workflow.signal(name=SIGNAL_OPEN_GATE)
    async def open_gate(self, request: GateRequest) -> None:
        """A phase or task workflow needs a decision: record it, apply policy, remind, expire."""
        if self._ending:
            # A task workflow that is being terminated with the project may still ask.
            return
        for existing in self.state.gates:
            if existing.key == request.key and existing.requester_workflow_id == request.requester_workflow_id:
                return
        self.state.gate_seq += 1
        gate = GateView(
            id=make_gate_id(self.state.project_id, self.state.gate_seq),
            key=request.key,
            requester_workflow_id=request.requester_workflow_id,
            kind=request.kind,
            title=request.title,
            summary=request.summary,
            risk=request.risk,
            task_id=request.task_id,
            deliverable_id=request.deliverable_id,
            questions=request.questions,
            created_at=workflow.now(),
        )
        self.state.gates.append(gate)
        self._set_task(request.task_id, TaskStatus.waiting_approval)
        automatic = auto_approves(self._policy.auto_approve, gate.risk, gate.kind)
        await self._record_gate(gate, auto_approved=automatic)
        if automatic:
            if gate.status != GateStatus.pending and patched(PATCH_AUTO_APPROVE_AFTER_DECISION):
                # Someone decided while the gate was being recorded: that decision stands (the
                # policy's would fail this handler, and with it the project, as already decided).
                return
            await self._apply(
                gate,
                GateDecision(
                    gate_id=gate.id,
                    decision="approve",
                    approver="policy",
                    channel=Channel.policy,
                    comment=f"auto-approved (auto_approve={self._policy.auto_approve.value}, risk={gate.risk})",
                ),
            )
            return
        await self._refresh()
        await self._wait_gate(gate)

    @workflow.signal(name=SIGNAL_TASK_PROGRESS)
    def task_progress(self, progress: TaskProgress) -> None:
        view = self._task(progress.task_id)
        if self._roles.wanted(progress):
            # Role budgets (workflows/role_budgets.py): count, notify, hold; answer the task.
            self._roles.on_progress(progress, view.role if view is not None else progress.role)
        if view is None:
            return
        view.status = progress.status
        view.rounds = max(view.rounds, progress.rounds)
        if progress.qa_score is not None:
            view.qa_score = progress.qa_score
        if progress.qa_method:
            view.qa_method = progress.qa_method
        if progress.deliverable_id is not None:
            view.deliverable_id = progress.deliverable_id
        if progress.status == TaskStatus.running and view.started_at is None:
            view.started_at = progress.at
        if progress.status in FINISHED:
            view.finished_at = progress.at
        self.state.cost.add(progress.usage)

    @workflow.signal(name=SIGNAL_PLAN_UPDATED)
    def plan_updated(self, update: PlanUpdate) -> None:
        self.state.cost.add(update.usage)
        if update.revision < 0:
            # Improvement tasks from an operations review join the board.
            for task in update.plan.tasks:
                if self._task(task.id) is None:
                    self.state.tasks.append(self._view(task))
            return
        self.state.plan = update.plan
        self.state.plan_revision = update.revision
        keep = {t.id for t in update.plan.tasks}
        board = [t for t in self.state.tasks if t.id in keep or t.id in CHECKLIST]
        known = {t.id for t in board}
        board += [self._view(t) for t in update.plan.tasks if t.id not in known]
        self.state.tasks = board

    # --- the lifecycle --------------------------------------------------------------------

    @workflow.run
    async def run(self, data: ProjectInput) -> ProjectState:
        self._one = self._shape()
        try:
            if data.carry is None:
                self._mark_phase(Phase.discovery)
            await self._refresh(force=True)
            if self.state.phase == Phase.discovery:
                await self._discovery()
            if self.state.phase == Phase.execution:
                await self._execution()
            if self.state.phase == Phase.launch:
                await self._launch()
            if self.state.phase == Phase.operations:
                await self._operations()
        except asyncio.CancelledError:
            # Cleanup still runs after a cancellation request; then the run ends as cancelled.
            await self._end(Status.cancelled)
            raise
        except ActivityError as err:
            # A cancellation that reaches an activity the project itself awaits (a store write)
            # arrives as that activity's error: end as cancelled, cleanly, like any other.
            if not (isinstance(err.cause, CancelledError) and patched(PATCH_CANCEL_IN_ACTIVITY)):
                raise
            await self._end(Status.cancelled)
            raise asyncio.CancelledError() from None
        except ChildWorkflowError as err:
            cause = err.cause
            if isinstance(cause, CancelledError):
                await self._end(Status.cancelled)
                raise asyncio.CancelledError() from None
            message = cause.message if isinstance(cause, ApplicationError) else str(err)
            # The CEO's own refusals (the plan, more budget) stop the project: cancelled, with
            # the reason; anything else is a failure.
            refused = is_budget_rejected(err) or (
                isinstance(cause, ApplicationError) and cause.type == "PlanNotApproved"
            )
            await self._end(Status.cancelled if refused else Status.failed, message)
            return self.state
        except PhaseFailed as err:
            # The same, for a phase run inline: its own error instead of a child's failure.
            cause = err.cause
            if isinstance(cause, ActivityError) and isinstance(cause.cause, FailureError):
                cause = cause.cause
            refused = isinstance(cause, ApplicationError) and cause.type in (BUDGET_REJECTED, "PlanNotApproved")
            await self._end(Status.cancelled if refused else Status.failed, cause.message or str(cause))
            return self.state
        return self.state

    async def _end(self, status: Status, error: str | None = None) -> None:
        """Close what is still open (gates, their handlers), then record the final state."""
        self._ending = True
        self.state.status = status
        self.state.error = error
        now = workflow.now()
        for gate in self.state.pending_gates:
            gate.status = GateStatus.rejected
            gate.decided_by = "system"
            gate.decided_at = now
            gate.channel = Channel.policy
            gate.comment = f"project {status.value}"
            await self._store(
                defs.record_decision,
                DecisionRecord(
                    project_id=self.state.project_id,
                    gate_id=gate.id,
                    decision="reject",
                    approver="system",
                    channel=Channel.policy,
                    comment=gate.comment,
                    decided_at=now,
                ),
            )
        if patched(PATCH_END_AFTER_FOLLOW_UPS):
            # Decision follow-ups sync the read model too: theirs must not land after the final one.
            await self._drain()
        # The last word on a stopped project is the whole state: whatever an earlier small sync
        # may have missed, the read model ends equal to the project.
        self._projection.forget()
        await self._refresh(force=True)
        # Gate handlers see their gate closed and return; nothing is left running.
        await self._drain()

    async def _discovery(self) -> None:
        out = await self._run_child(
            DiscoveryWorkflow,
            DiscoveryInput(
                project_id=self.state.project_id,
                project_workflow_id=workflow.info().workflow_id,
                goal=self.state.goal,
                policy=self._policy,
                steering=list(self.state.steering),
            ),
            "discovery",
        )
        self.state.answers = out.answers
        self.state.research_summary = out.research_summary
        self.state.research_document_id = out.research_document_id
        self.state.cited = out.cited
        self.state.plan = out.plan
        self.state.plan_revision = out.plan_revision
        self.state.team = out.team
        self.state.cost.add(out.usage)
        self.state.tasks = [self._view(t) for t in out.plan.tasks]
        self._mark_phase(Phase.execution)
        await self._refresh(force=True)

    async def _execution(self) -> None:
        assert self.state.plan is not None
        out = await self._run_child(
            ExecutionWorkflow,
            ExecutionInput(
                project_id=self.state.project_id,
                project_workflow_id=workflow.info().workflow_id,
                goal=self.state.goal,
                plan=self.state.plan,
                policy=self._policy,
                # What every task works from (ids and bounded text; see WorkContext).
                answers=self.state.answers,
                research_summary=self.state.research_summary,
                research_document_id=self.state.research_document_id,
                steering=list(self.state.steering),
            ),
            "execution",
        )
        for result in out.results.values():
            view = self._task(result.task_id)
            if view is not None:
                view.status = result.status
                view.qa_score = result.qa_score
                view.rounds = result.rounds
                view.deliverable_id = result.deliverable_id
        self._mark_phase(Phase.launch)
        await self._refresh(force=True)

    async def _launch(self) -> None:
        assert self.state.plan is not None
        for task_id, title in CHECKLIST.items():
            if self._task(task_id) is None:
                self.state.tasks.append(TaskView(id=task_id, title=title, role="launch-manager"))
        deliverables = [
            t.deliverable_id
            for t in self.state.tasks
            if t.deliverable_id is not None and t.status in (TaskStatus.passed, TaskStatus.accepted)
        ]
        out = await self._run_child(
            LaunchWorkflow,
            LaunchInput(
                project_id=self.state.project_id,
                project_workflow_id=workflow.info().workflow_id,
                name=self.state.name,
                goal=self.state.goal,
                plan=self.state.plan,
                deliverable_ids=deliverables,
                policy=self._policy,
            ),
            "launch",
        )
        self.state.launched = out.launched
        # The compliance reviewer's model calls (zero without a model, and for older runs).
        self.state.cost.add(out.usage)
        self.state.integrations = []
        self._note_integrations(out.integrations)
        if not out.launched:
            for task_id in CHECKLIST:
                self._set_task(task_id, TaskStatus.dropped)
            self._mark_phase(Phase.completed, "go-live was not approved")
            await self._end(Status.completed, "go-live was not approved")
            return
        self._mark_phase(Phase.operations)
        await self._refresh(force=True)

    async def _operations(self) -> None:
        interval = timedelta(seconds=self._policy.review_interval_s)
        if self.state.next_review_at is None:
            self.state.next_review_at = workflow.now() + interval
        while True:
            remaining = (self.state.next_review_at - workflow.now()).total_seconds()
            if remaining > 0:
                try:
                    await workflow.wait_condition(self._should_continue_as_new, timeout=remaining)
                except TimeoutError:
                    pass
            if self._should_continue_as_new():
                await self._continue_as_new()
            if workflow.now() >= self.state.next_review_at:
                await self._review()
                self.state.next_review_at = max(self.state.next_review_at + interval, workflow.now())

    async def _review(self) -> None:
        number = self.state.reviews_done + 1
        out = await self._run_child(
            OperationsReviewWorkflow,
            ReviewCycleInput(
                project_id=self.state.project_id,
                project_workflow_id=workflow.info().workflow_id,
                goal=self.state.goal,
                kpis=self.state.kpis,
                review_number=number,
                notes=self.state.notes[-10:],
                customer_reports=self.state.customer_reports[-10:],
                policy=self._policy,
                publication=publication(self.state),
            ),
            f"review-{number}",
        )
        self.state.reviews_done = number
        # The site and repository as the review published them again (state only: no command).
        self._note_integrations(out.integrations)
        self.state.kpis.reviews = number
        self.state.kpis.improvements += len(out.results)
        self.state.cost.add(out.usage)
        self.state.review_summaries = (self.state.review_summaries + [out.summary])[-10:]
        self.state.notes = []
        self.state.customer_reports = []
        await self._refresh(force=True)

    def _note_integrations(self, results: list[IntegrationResult]) -> None:
        """The newest result per integration: launch's, then each published improvement's."""
        views = {i.name: i for i in self.state.integrations}
        for r in results:
            views[r.name] = IntegrationView(name=r.name, status=r.status, reason=r.reason, url=r.url, at=workflow.now())
        self.state.integrations = list(views.values())

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested() or info.get_current_history_length() >= self._policy.max_history_events
        )

    async def _continue_as_new(self) -> None:
        # Signals and updates that arrived must finish on this run before it hands over.
        await self._drain()
        workflow.continue_as_new(self._input.model_copy(update={"carry": self._compact()}))

    def _compact(self) -> ProjectState:
        state = self.state.model_copy(deep=True)
        state.gates = [g for g in state.gates if g.status == GateStatus.pending] + [
            g for g in state.gates if g.status != GateStatus.pending
        ][-KEEP_GATES:]
        planned = {t.id for t in state.plan.tasks} if state.plan else set()
        core = [t for t in state.tasks if t.id in planned or t.id in CHECKLIST]
        extra = [t for t in state.tasks if t.id not in planned and t.id not in CHECKLIST]
        state.tasks = core + extra[-KEEP_IMPROVEMENT_TASKS:]
        return state

    # --- gates ----------------------------------------------------------------------------

    def _check(self, decision: GateDecision) -> GateView:
        """Why a decision cannot be taken, as a typed error — before anything is written."""
        gate = next((g for g in self.state.gates if g.id == decision.gate_id), None)
        if gate is None:
            raise rejected(f"unknown gate '{decision.gate_id}'", "UnknownGate")
        if gate.status != GateStatus.pending:
            when = gate.decided_at.isoformat() if gate.decided_at else "earlier"
            raise rejected(
                f"gate '{gate.id}' was already decided ({gate.status.value}) by {gate.decided_by} at {when}",
                "AlreadyDecided",
            )
        allowed = self._policy.approvers
        if decision.channel not in (Channel.policy, Channel.expiry):
            if not approver_allowed(allowed, decision.approver):
                raise rejected(
                    f"'{decision.approver}' may not decide this gate (allowed: {', '.join(allowed)})",
                    "ApproverNotAllowed",
                )
            if gate.votes and has_voted([v.approver for v in gate.votes], decision.approver):
                approvals = sum(1 for v in gate.votes if v.decision == "approve")
                raise rejected(
                    f"'{decision.approver}' already voted on gate '{gate.id}' "
                    f"({approvals} of {gate.approvals_needed} approvals so far); a vote is cast once",
                    "AlreadyVoted",
                )
        return gate

    def _external_problem(self, gate: GateView, decision: GateDecision) -> str | None:
        """Why a decision from outside (update or signal) is refused, beyond `_check`: it claims a
        channel only the workflow takes (policy, expiry), its text is unbounded, or its edits do
        not fit the gate (approve with edits)."""
        if decision.channel in INTERNAL_CHANNELS:
            return f"the '{decision.channel.value}' channel is the workflow's own; a decision cannot claim it"
        if len(decision.comment) > MAX_DECISION_TEXT or len(decision.approver) > 200:
            return f"the comment is limited to {MAX_DECISION_TEXT} characters and the approver to 200"
        increase = decision.budget_increase_usd
        if increase is not None and not (0 < increase <= MAX_BUDGET_INCREASE_USD):
            return f"budget_increase_usd must be a number above 0 and at most {MAX_BUDGET_INCREASE_USD:,.0f}"
        if decision.answers:
            asked = {q.id for q in gate.questions}
            if len(decision.answers) > MAX_ANSWERS or not set(decision.answers) <= asked:
                return f"answers must be for this gate's questions ({', '.join(sorted(asked)) or 'none'})"
            if any(len(text) > MAX_DECISION_TEXT for text in decision.answers.values()):
                return f"each answer is limited to {MAX_DECISION_TEXT} characters"
        return self._edit_problem(gate, decision)

    def _edit_problem(self, gate: GateView, decision: GateDecision) -> str | None:
        """Approve with edits: plan edits only on a plan gate, edited text only on a gate with a
        deliverable, both only with an approval, and within bounds (approvals/edits.py)."""
        if decision.plan_edits is None and decision.deliverable_text is None:
            return None
        if decision.decision != "approve":
            return "edits come with an approval; to send the work back, request changes with a comment"
        if decision.plan_edits is not None:
            if gate.kind != GateKind.plan:
                return f"plan edits are for plan gates; this is a {gate.kind.value} gate"
            return plan_edits_problem(self.state.plan, decision.plan_edits)
        assert decision.deliverable_text is not None
        if gate.kind not in (GateKind.deliverable, GateKind.escalation) or gate.deliverable_id is None:
            return f"an edited deliverable is for a gate with a deliverable; this is a {gate.kind.value} gate"
        return deliverable_edit_problem(decision.deliverable_text)

    async def _apply(self, gate: GateView, decision: GateDecision) -> DecisionResult:
        if gate.status != GateStatus.pending:
            # Two decisions validated in the same activation: only the first takes effect.
            self._check(decision)
        now = workflow.now()
        vote: VoteRecord | None = None
        needed = approvals_needed(self._policy.quorum, self._policy.approvers, gate.risk)
        if needed > 1 and decision.channel not in INTERNAL_CHANNELS and patched(PATCH_QUORUM):
            # One vote per listed approver: the Nth approval or the first "no" resolves the gate.
            gate.approvals_needed = needed
            gate.votes.append(
                GateVote(
                    approver=decision.approver,
                    decision=decision.decision,
                    channel=decision.channel,
                    at=now,
                    # The state keeps a short excerpt; the full comment is in the `vote` table.
                    comment=decision.comment[:VOTE_COMMENT_KEPT],
                )
            )
            vote = VoteRecord(
                project_id=self.state.project_id,
                gate_id=gate.id,
                approver=decision.approver,
                decision=decision.decision,
                channel=decision.channel,
                comment=decision.comment,
                voted_at=now,
            )
            approvals = sum(1 for v in gate.votes if v.decision == "approve")
            if decision.plan_edits is not None:
                gate.plan_edits = decision.plan_edits
            if not quorum_resolves(approvals, needed, decision.decision):
                if self._edits_deliverable(gate, decision):
                    # Marked now, stored in the background: a resolving vote waits for this version.
                    self._editing.add(gate.id)
                    self._in_background(self._record_vote(vote, gate, decision))
                else:
                    self._in_background(self._record_vote(vote))
                return DecisionResult(
                    gate_id=gate.id,
                    status=gate.status,
                    decided_by=decision.approver,
                    decided_at=now,
                    channel=decision.channel,
                    approvals=approvals,
                    approvals_needed=needed,
                )
            if decision.decision == "approve" and decision.plan_edits is None and gate.plan_edits is not None:
                # An earlier approver's edits stand unless the last one sent their own.
                decision = decision.model_copy(update={"plan_edits": gate.plan_edits})
        edited_plan: Plan | None = None
        edits = ""
        if (
            gate.kind == GateKind.plan
            and decision.decision == "approve"
            and decision.plan_edits is not None
            and self.state.plan is not None
            and patched(PATCH_APPROVE_WITH_EDITS)
        ):
            # Checked by the validator (or the signal handler) in this activation: it applies.
            edits = describe_plan_edits(self.state.plan, decision.plan_edits)
            edited_plan = apply_plan_edits(self.state.plan, decision.plan_edits)
            self.plan_updated(PlanUpdate(plan=edited_plan, revision=self.state.plan_revision))
        gate.status = DECISION_STATUS[decision.decision]
        # A quorum's plan edits were carried into `decision` above and applied: the resolved gate
        # no longer carries them (state and continue-as-new stay small).
        gate.plan_edits = None
        gate.decision = decision.decision
        gate.decided_by = decision.approver
        gate.decided_at = now
        gate.channel = decision.channel
        gate.comment = decision.comment
        if gate.kind == GateKind.interview and decision.answers:
            self.state.answers.update(decision.answers)
        self._set_task(gate.task_id, TaskStatus.running)
        result = DecisionResult(
            gate_id=gate.id,
            status=gate.status,
            decided_by=decision.approver,
            decided_at=now,
            channel=decision.channel,
            approvals=sum(1 for v in gate.votes if v.decision == "approve"),
            approvals_needed=needed if vote is not None else 1,
        )
        if patched(PATCH_FAST_DECIDE):
            # The decision has taken effect (state, status, search attributes): answer now and
            # record, notify and sync in the background, which `_drain` waits for.
            self._recompute()
            self._in_background(self._follow_up(gate, decision, now, edited_plan, edits, vote))
            return result
        await self._follow_up(gate, decision, now, edited_plan, edits, vote)
        return result

    async def _record_vote(
        self, vote: VoteRecord, gate: GateView | None = None, decision: GateDecision | None = None
    ) -> None:
        """A quorum vote's own audit entry (idempotent per gate and approver); an approval vote's
        edited deliverable text is stored at once, and the gate resolves with that version."""
        try:
            await self._store(defs.record_vote, vote)
            if gate is not None and decision is not None:
                gate.edited_deliverable_id = await self._store_deliverable_edit(gate, decision)
                gate.edited_by = decision.approver
        finally:
            if gate is not None:
                self._editing.discard(gate.id)

    @staticmethod
    def _edits_deliverable(gate: GateView, decision: GateDecision) -> bool:
        return (
            decision.deliverable_text is not None
            and decision.decision == "approve"
            and gate.deliverable_id is not None
            and patched(PATCH_APPROVE_WITH_EDITS)
        )

    async def _store_deliverable_edit(self, gate: GateView, decision: GateDecision) -> int:
        """The CEO's text becomes the deliverable's next version (stored by the activity: only its
        id travels on); the task finishes with it."""
        assert gate.deliverable_id is not None and decision.deliverable_text is not None
        return await self._store(
            defs.record_deliverable_edit,
            DeliverableEdit(
                project_id=self.state.project_id,
                gate_id=gate.id,
                deliverable_id=gate.deliverable_id,
                content=decision.deliverable_text,
                author=decision.approver,
                comment=decision.comment,
            ),
        )

    async def _follow_up(
        self,
        gate: GateView,
        decision: GateDecision,
        now: datetime,
        edited_plan: Plan | None = None,
        edits: str = "",
        vote: VoteRecord | None = None,
    ) -> None:
        """Audit record, budget, the waiting workflow told, read model synced — in this order."""
        if vote is not None:
            await self._record_vote(vote)
        edited_deliverable: int | None = None
        if self._edits_deliverable(gate, decision):
            if gate.id in self._editing and patched(PATCH_EDITS_IN_TURN):
                # An earlier approver's edit is still being stored: this one is the next version.
                await workflow.wait_condition(lambda: gate.id not in self._editing)
            edited_deliverable = await self._store_deliverable_edit(gate, decision)
            edits = f"deliverable edited: a new version by {decision.approver[:200]} (document {edited_deliverable})"
        elif decision.decision == "approve" and (gate.edited_deliverable_id is not None or gate.id in self._editing):
            # An earlier approver's edited text (a quorum vote): the gate resolves with that version.
            await workflow.wait_condition(lambda: gate.id not in self._editing)
            edited_deliverable = gate.edited_deliverable_id
            if edited_deliverable is not None:
                edits = f"deliverable edited: a new version by {gate.edited_by[:200]} (document {edited_deliverable})"
        if vote is not None:
            votes = ", ".join(f"{v.approver} {v.decision}" for v in gate.votes)
            edits = "; ".join(x for x in (edits, f"votes: {votes}") if x)
        # A role or budget decision changes the state after its record: synced by the `_refresh` below.
        changes_after = is_role_gate(gate) or (gate.kind == GateKind.budget and decision.decision == "approve")
        await (self._store if changes_after else self._store_synced)(
            defs.record_decision,
            DecisionRecord(
                project_id=self.state.project_id,
                gate_id=gate.id,
                decision=decision.decision,
                approver=decision.approver,
                channel=decision.channel,
                comment=decision.comment,
                token_id=decision.token_id,
                answers=decision.answers,
                decided_at=now,
                edits=edits,
            ),
        )
        if is_role_gate(gate):
            # A role's monthly budget: the project itself waits on it (workflows/role_budgets.py).
            await self._roles.decided(gate, decision)
            await self._refresh()
            return
        if gate.kind == GateKind.budget and decision.decision == "approve":
            increase = decision.budget_increase_usd or max(self._input.budget_usd, 1.0)
            self.state.cost.budget_usd = round(self.state.cost.budget_usd + increase, 2)
            await self._store(
                defs.set_budget,
                BudgetUpdate(project_id=self.state.project_id, budget_usd=self.state.cost.budget_usd),
            )
        outcome = GateOutcome(
            key=gate.key,
            gate_id=gate.id,
            decision=decision.decision,
            comment=decision.comment,
            answers=decision.answers,
            decided_by=decision.approver,
            channel=decision.channel,
            plan=edited_plan,
            deliverable_id=edited_deliverable,
        )
        inline = self._inline.get(gate.requester_workflow_id)
        if inline is not None or gate.requester_workflow_id in self._inline_ran:
            if inline is not None:
                inline.gate_resolved(outcome)
            else:
                # The work that asked has ended (cancelled with its phase); the decision stays recorded.
                workflow.logger.warning("gate %s decided after its requester ended", gate.id)
            await self._refresh()
            return
        requester = workflow.get_external_workflow_handle(gate.requester_workflow_id)
        try:
            await requester.signal(SIGNAL_GATE_RESOLVED, outcome)
        except FailureError as err:
            # The asking workflow is gone (ended or terminated); the decision stays recorded.
            workflow.logger.warning("gate %s decided after its requester ended: %s", gate.id, err)
        await self._refresh()

    async def _drain(self) -> None:
        """Nothing left half-done: decision follow-ups and signal/update handlers finished."""
        await workflow.wait_condition(lambda: not self._follow_ups and workflow.all_handlers_finished())

    async def _wait_gate(self, gate: GateView) -> None:
        """Remind once on a durable timer; on expiry take the policy's default."""
        reminder = self._policy.gate_reminder_s
        expiry = max(self._policy.gate_expiry_s, reminder)
        try:
            await workflow.wait_condition(lambda: gate.status != GateStatus.pending, timeout=reminder)
            return
        except TimeoutError:
            pass
        gate.reminders += 1
        await self._record_gate(gate, reminder=True)
        try:
            await workflow.wait_condition(lambda: gate.status != GateStatus.pending, timeout=expiry - reminder)
            return
        except TimeoutError:
            pass
        if gate.status == GateStatus.pending:
            default = expiry_default(gate.kind, gate.risk, self._policy.expiry_default)
            await self._apply(
                gate,
                GateDecision(
                    gate_id=gate.id,
                    decision=default,
                    approver="policy",
                    channel=Channel.expiry,
                    comment=f"no decision within {expiry / 3600:.0f} h: policy default '{default}'",
                ),
            )

    async def _record_gate(self, gate: GateView, reminder: bool = False, auto_approved: bool = False) -> None:
        record = GateRecord(
            project_id=self.state.project_id,
            project_workflow_id=workflow.info().workflow_id,
            gate=gate,
            approver=(self._policy.approvers or [self.state.owner])[0],
            reminder=reminder,
            auto_approved=auto_approved,
        )
        # Older workers (and recorded histories) answered None. A gate the policy approves at
        # once is synced with its decision; a reminder changes nothing the read model shows.
        store = self._store if reminder or auto_approved else self._store_synced
        notify = await store(open_gate, record)
        if notify is not None and notify.channels and patched(PATCH_GATE_NOTIFY):
            # Email / webhook in the background (`_drain` waits): a slow receiver never holds up the gate.
            send = asyncio.create_task(send_gate_notices(record.model_copy(deep=True), notify.channels))
            self._follow_ups.add(send)
            send.add_done_callback(self._follow_ups.discard)

    # --- helpers --------------------------------------------------------------------------

    async def _run_child(self, cls: Any, arg: Any, suffix: str) -> Any:
        """A phase: inline (PATCH_ONE_WORKFLOW), or a child workflow for runs recorded before it."""
        scope = f"{workflow.info().workflow_id}/{suffix}"
        if self._one:
            try:
                return await self.run_inline(cls, arg, scope, phase=True)
            except ActivityError as err:
                if isinstance(err.cause, CancelledError):
                    raise  # a cancel, handled as before
                raise PhaseFailed(err) from None
            except ApplicationError as err:
                raise PhaseFailed(err) from None
        handle = await workflow.start_child_workflow(cls.run, arg, id=scope)
        self._child = handle
        try:
            return await handle
        finally:
            self._child = None

    def _shape(self) -> bool:
        """One workflow (True), or child workflows for a run recorded before PATCH_ONE_WORKFLOW."""
        return patched(PATCH_ONE_WORKFLOW)

    async def run_inline(self, cls: Any, arg: Any, scope: str, *, phase: bool = False) -> Any:
        """Run a phase or task (a GateClient workflow class) as a coroutine of this workflow;
        `scope` is the id it answers to (the child workflow id it would have had)."""
        work = cls()
        work._host = self
        work._scope = scope
        self._inline[scope] = work
        self._inline_ran.add(scope)
        if phase:
            self._child = work
        try:
            return await work.run(arg)
        finally:
            self._inline.pop(scope, None)
            if phase:
                self._child = None

    def hear(self, signal: str, arg: Any) -> None:
        """What inline work tells the project (what its child workflow signalled)."""
        if signal == SIGNAL_TASK_PROGRESS:
            self.task_progress(arg)
        elif signal == SIGNAL_PLAN_UPDATED:
            self.plan_updated(arg)
        else:
            raise ValueError(f"unknown message from inline work: {signal}")

    async def _store(self, fn: Callable[[A], Awaitable[T]], arg: A) -> T:
        """A store write that mirrors the state (idempotent).

        Regular activities, not local ones: tried as local activities, concurrent coroutines
        (gates opening while tasks report) resolved them in another order on replay than when
        they ran, a non-determinism error (recorded marker 'open_gate' vs command 'sync_project')."""
        return await workflow.execute_activity(fn, arg, **STORE)

    async def _store_synced(self, fn: Callable[[R], Awaitable[T]], record: R) -> T:
        """A gate or decision write that carries the read model's sync due with it (PATCH_STORE_SYNCS);
        the `_refresh` after it then finds nothing to send."""
        if not patched(PATCH_STORE_SYNCS):
            return await self._store(fn, record)
        self._recompute()
        sync = self._due_sync()
        try:
            result = await self._store(fn, record.model_copy(update={"sync": sync}))
        except ActivityError:
            if sync is not None:
                self._unsynced()
            raise
        if sync is not None and not getattr(result, "synced", False):
            # An activities worker from before this change dropped it: the next `_refresh` sends it.
            self._unsynced()
        return result

    def _unsynced(self) -> None:
        """The store may have missed the last sync: the next `_refresh` sends one, whole."""
        self._projection.forget()
        self._last_synced = None

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Work that must not hold the project up; `_drain` waits for it."""
        task = asyncio.create_task(work)
        self._follow_ups.add(task)
        task.add_done_callback(self._follow_ups.discard)

    def _mark_phase(self, phase: Phase, detail: str = "") -> None:
        self.state.phase = phase
        self.state.timeline.append(PhaseMark(phase=phase, at=workflow.now()))
        if patched(PATCH_PHASE_NOTICE):
            what = PHASE_NOTICES[phase]
            if phase == Phase.execution:
                what += f" ({len(self.state.tasks)} tasks)"
            if detail:
                what += f": {detail}"
            text = f"{self.state.name[:200]}: {what}"
            self._in_background(
                self._phase_notice(SlackNotice(project_id=self.state.project_id, phase=phase.value, text=text))
            )

    async def _phase_notice(self, notice: SlackNotice) -> None:
        """A short Slack message with the project page link; skipped (and said so) without Slack."""
        try:
            result = await workflow.execute_activity(
                defs.notify_slack,
                notice,
                summary=f"Slack notice: {notice.phase}",
                **NOTICE,
            )
        except ActivityError as err:
            # A notice is not worth failing the project for; the failed activity stays in the history.
            workflow.logger.warning("phase notice (%s) not posted: %s", notice.phase, err.cause or err)
            return
        if result.status != "done":
            workflow.logger.info("phase notice (%s) %s: %s", notice.phase, result.status, result.reason)

    def _note(self, text: str) -> None:
        self.state.notes = (self.state.notes + [text[:500]])[-KEEP_NOTES:]

    def _customer_report(self, text: str) -> None:
        # Written by outsiders (issue titles, webhook fields): kept apart from the CEO's notes
        # so prompts can present it as data, never as instructions.
        self.state.customer_reports = (self.state.customer_reports + [text[:500]])[-KEEP_NOTES:]

    def _task(self, task_id: str | None) -> TaskView | None:
        return next((t for t in self.state.tasks if t.id == task_id), None) if task_id else None

    def _set_task(self, task_id: str | None, status: TaskStatus) -> None:
        view = self._task(task_id)
        if view is not None and view.status not in FINISHED:
            view.status = status

    @staticmethod
    def _view(task: Any) -> TaskView:
        return TaskView(id=task.id, title=task.title, role=task.role, risk=task.risk, depends_on=task.depends_on)

    def _recompute(self) -> None:
        """Status from the pending gates, and the search attributes when they changed."""
        if self.state.status in (Status.running, Status.waiting_approval):
            self.state.status = Status.waiting_approval if self.state.pending_gates else Status.running
        phase, pending, cost = self.state.phase.value, len(self.state.pending_gates), round(self.state.cost.usd, 4)
        if (phase, pending, cost) != self._last_sa:
            workflow.upsert_search_attributes(
                [
                    SA_PROJECT_ID.value_set(self.state.project_id),
                    SA_OWNER.value_set(self.state.owner),
                    SA_PHASE.value_set(phase),
                    SA_PENDING_GATES.value_set(pending),
                    SA_COST_USD.value_set(cost),
                ]
            )
            self._last_sa = (phase, pending, cost)
        # Not a command (the UI reads it by query), so no patch: the gates and how to decide them.
        workflow.set_current_details(current_details(self.state, self._policy.approvers))

    async def _refresh(self, force: bool = False) -> None:
        """Status from the gates; search attributes and the read model kept in step."""
        self._recompute()
        update = self._due_sync(force)
        if update is not None:
            try:
                await self._store(defs.sync_project, update)
            except ActivityError:
                self._projection.forget()
                raise

    def _due_sync(self, force: bool = False) -> ReadModelUpdate | None:
        """The read model's sync when phase or status changed since the last one (or `force`):
        only the fields that changed since this run's last sync (workflows/projection.py)."""
        key = (self.state.phase, self.state.status)
        if not force and key == self._last_synced:
            return None
        self._last_synced = key
        return self._projection.update(self.state, workflow.now())
