"""What every phase and task workflow shares: asking the project for a gate, and agent calls
that turn an exhausted budget into a budget gate instead of spending more."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from domain.enums import GateKind, Risk
    from domain.gates import GateOutcome, GateRequest
    from domain.project import RoleBudgetNotice, TaskProgress
    from domain.work import Usage
    from workflows.describe import agent_summary
    from workflows.options import AGENT
    from workflows.patches import patched

T = TypeVar("T")
A = TypeVar("A")

# Signal names between the project workflow and its children (stable: they are in histories).
SIGNAL_OPEN_GATE = "open_gate"
SIGNAL_GATE_RESOLVED = "gate_resolved"
SIGNAL_TASK_PROGRESS = "task_progress"
SIGNAL_PLAN_UPDATED = "plan_updated"
SIGNAL_ROLE_BUDGET = "role_budget"


BUDGET_REJECTED = "BudgetRejected"
# Added while projects were live: runs recorded before it replay with the untyped refusal.
PATCH_TYPED_BUDGET_REFUSAL = "budget-refusal-typed"


class BudgetRejected(ApplicationError):
    """The CEO declined to raise the budget: the work that asked for it stops, never retried.

    Each workflow ends the work that asked: produce-review drops its task, execution keeps its
    plan when a re-plan was refused, an operations review skips its improvements, discovery
    fails (no plan is possible) and the project ends as `cancelled` with this message as its
    reason. Across a child workflow it arrives as a ChildWorkflowError whose cause is an
    ApplicationError of type `BudgetRejected` (see `is_budget_rejected`).
    """

    def __init__(self, what: str) -> None:
        super().__init__(f"budget not raised: {what}", type=BUDGET_REJECTED, non_retryable=True)


class RoleBudgetRejected(BudgetRejected):
    """The CEO declined to raise a role's monthly budget: that role's work stops, typed and
    handled exactly like a project budget refusal (same error type); `what` names the role
    and the month."""


class LegacyBudgetRejected(Exception):
    """The refusal before PATCH_TYPED_BUDGET_REFUSAL: a plain exception, which produce-review
    caught and which failed the workflow task over and over anywhere else."""


def cancel_requested() -> bool:
    return workflow.cancellation_reason() is not None


def raise_if_cancelled() -> None:
    if cancel_requested():
        raise asyncio.CancelledError()


def is_budget_exceeded(err: BaseException) -> bool:
    cause = err.cause if isinstance(err, ActivityError) else None
    return isinstance(cause, ApplicationError) and cause.type == "BudgetExceeded"


def is_budget_rejected(err: BaseException) -> bool:
    """The CEO's budget refusal, raised in this workflow or ending a child workflow."""
    cause = err.cause if isinstance(err, ChildWorkflowError) else err
    return isinstance(cause, ApplicationError) and cause.type == BUDGET_REJECTED


class GateClient:
    """Mixin for the phase and task work of a project: gates are owned by the project workflow.

    Since PATCH_ONE_WORKFLOW (workflows/project.py) this work runs as coroutines of the project
    workflow itself (`_host` is the project): a gate is opened by a call and its outcome handed
    over by a call, with no signal between workflows. Runs recorded before it replay as child
    workflows, which signal the project and are signalled back.
    """

    project_workflow_id: str = ""

    def __init__(self) -> None:
        # The project workflow running this work inline (None: this is a child workflow), and
        # the id this work answers to (what its child workflow id was/would be).
        self._host: Any = None
        self._scope = ""
        self._outcomes: dict[str, GateOutcome] = {}
        self._budget_asks = 0
        # Role budgets (workflows/role_budgets.py): the project's latest word per role, and the
        # highest progress number it has answered.
        self._roles: dict[str, RoleBudgetNotice] = {}
        self._acked = 0
        self._acks = 0

    @workflow.signal(name=SIGNAL_GATE_RESOLVED)
    def gate_resolved(self, outcome: GateOutcome) -> None:
        self._outcomes[outcome.key] = outcome

    @workflow.signal(name=SIGNAL_ROLE_BUDGET)
    def role_budget(self, notice: RoleBudgetNotice) -> None:
        """The project holds, releases or refuses this task's role (see RoleBudgetNotice)."""
        self._roles[notice.role] = notice
        self._acked = max(self._acked, notice.ack)

    @property
    def me(self) -> str:
        """This work's id: its child workflow's, or (inline) the id it would have as a child —
        the requester of its gates, the prefix of its tasks' and budget gates' keys."""
        return self._scope or workflow.info().workflow_id

    async def child(self, cls: Any, arg: Any, workflow_id: str) -> Any:
        """Run `cls` (a GateClient workflow class) for `arg`: inline in the project workflow, or
        (runs recorded before the one-workflow shape) as a child workflow with that id."""
        if self._host is not None:
            return await self._host.run_inline(cls, arg, workflow_id)
        return await workflow.execute_child_workflow(
            cls.run, arg, id=workflow_id, parent_close_policy=ParentClosePolicy.TERMINATE
        )

    async def ask(self, request: GateRequest) -> GateOutcome:
        """Open a gate on the project and wait (durably) until someone or the policy decides."""
        if self._host is not None:
            # The project records the gate, reminds and expires it beside this work (as its signal
            # handler did): cancelling the work never cancels one of the gate's writes half-way.
            self._host._in_background(self._host.open_gate(request))
        else:
            await self.tell_project(SIGNAL_OPEN_GATE, request)
        await workflow.wait_condition(lambda: request.key in self._outcomes or cancel_requested())
        raise_if_cancelled()
        return self._outcomes.pop(request.key)

    async def progress(self, update: TaskProgress, *, budgeted: bool = False) -> None:
        """Tell the project; a task whose role has a monthly budget waits for the project's
        answer, so a role held at this spend never gets another agent call in first."""
        if not budgeted:
            await self.tell_project(SIGNAL_TASK_PROGRESS, update)
            return
        self._acks += 1
        number = self._acks
        await self.tell_project(
            SIGNAL_TASK_PROGRESS,
            update.model_copy(update={"workflow_id": self.me, "ack": number}),
        )
        await workflow.wait_condition(lambda: self._acked >= number or cancel_requested())
        raise_if_cancelled()

    async def role_clear(self, role: str) -> None:
        """Before an agent call for `role`: wait while its budget gate is open; a refusal ends
        the work as a budget refusal (RoleBudgetRejected)."""
        notice = self._roles.get(role)
        if notice is None:
            return
        if notice.status == "held":
            await workflow.wait_condition(lambda: self._roles[role].status != "held" or cancel_requested())
            raise_if_cancelled()
            notice = self._roles[role]
        if notice.status == "refused":
            raise RoleBudgetRejected(notice.reason or f"the {role} budget")

    async def end_with(self, err: BaseException, running: Collection[asyncio.Task[Any]]) -> None:
        """Before `err` leaves this work: when it is a cancel (or, inline, any failure), take the
        tasks still running down with it and wait for them, so nothing is left behind. A failed
        child workflow's siblings end with the project (parent close policy)."""
        if isinstance(err, asyncio.CancelledError) or self._host is not None:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def tell_project(self, signal: str, arg: Any) -> None:
        if self._host is not None:
            self._host.hear(signal, arg)
            raise_if_cancelled()
            return
        project = workflow.get_external_workflow_handle(self.project_workflow_id)
        await project.signal(signal, arg)
        # A cancellation that arrives while the signal is delivered resolves the signal, not
        # the cancel: look for it explicitly so the workflow still ends as cancelled.
        raise_if_cancelled()

    async def agent(
        self,
        fn: Callable[[A], Awaitable[T]],
        arg: A,
        *,
        what: str,
        task_id: str | None = None,
        role: str | None = None,
    ) -> T:
        """Run an agent activity (`fn`: its declaration in workflows/activity_defs.py); when the
        budget is spent, ask for more before trying again.

        A refusal raises `BudgetRejected` (non-retryable): the caller ends the work that asked.
        With `role`, the role's monthly budget is respected first (`role_clear`).
        """
        if role is not None:
            await self.role_clear(role)
        while True:
            try:
                return await workflow.execute_activity(fn, arg, summary=agent_summary(fn.__name__, arg), **AGENT)
            except ActivityError as err:
                if not is_budget_exceeded(err):
                    raise
                self._budget_asks += 1
                cause = err.cause
                outcome = await self.ask(
                    GateRequest(
                        key=f"budget:{self.me}:{self._budget_asks}",
                        kind=GateKind.budget,
                        title=f"Budget reached before: {what}",
                        summary=(str(cause.message) if isinstance(cause, ApplicationError) else str(err))
                        + " — approve to raise the budget, reject to stop paid work here.",
                        risk=Risk.high,
                        requester_workflow_id=self.me,
                        task_id=task_id,
                    )
                )
                if outcome.decision != "approve":
                    if patched(PATCH_TYPED_BUDGET_REFUSAL):
                        raise BudgetRejected(what) from None
                    raise LegacyBudgetRejected(what) from None


def add_usage(total: Usage, extra: Usage) -> Usage:
    return Usage(
        provider=extra.provider or total.provider,
        model=extra.model or total.model,
        tokens_in=total.tokens_in + extra.tokens_in,
        tokens_out=total.tokens_out + extra.tokens_out,
        cached_tokens=total.cached_tokens + extra.cached_tokens,
        usd=round(total.usd + extra.usd, 6),
    )
