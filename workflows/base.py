"""What every phase and task workflow shares: asking the project for a gate, and agent calls
that turn an exhausted budget into a budget gate instead of spending more."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.models import (
        GateKind,
        GateOutcome,
        GateRequest,
        Risk,
        TaskProgress,
        Usage,
    )
    from workflows.options import AGENT

T = TypeVar("T")

# Signal names between the project workflow and its children (stable: they are in histories).
SIGNAL_OPEN_GATE = "open_gate"
SIGNAL_GATE_RESOLVED = "gate_resolved"
SIGNAL_TASK_PROGRESS = "task_progress"
SIGNAL_PLAN_UPDATED = "plan_updated"


class BudgetRejected(Exception):
    """The CEO declined to raise the budget; the caller stops the paid work."""


def cancel_requested() -> bool:
    return workflow.cancellation_reason() is not None


def raise_if_cancelled() -> None:
    if cancel_requested():
        raise asyncio.CancelledError()


def is_budget_exceeded(err: BaseException) -> bool:
    cause = err.cause if isinstance(err, ActivityError) else None
    return isinstance(cause, ApplicationError) and cause.type == "BudgetExceeded"


class GateClient:
    """Mixin for child workflows: gates are owned by the project workflow, which signals back."""

    project_workflow_id: str = ""

    def __init__(self) -> None:
        self._outcomes: dict[str, GateOutcome] = {}
        self._budget_asks = 0

    @workflow.signal(name=SIGNAL_GATE_RESOLVED)
    def gate_resolved(self, outcome: GateOutcome) -> None:
        self._outcomes[outcome.key] = outcome

    async def ask(self, request: GateRequest) -> GateOutcome:
        """Open a gate on the project and wait (durably) until someone or the policy decides."""
        await self.tell_project(SIGNAL_OPEN_GATE, request)
        await workflow.wait_condition(lambda: request.key in self._outcomes or cancel_requested())
        raise_if_cancelled()
        return self._outcomes.pop(request.key)

    async def progress(self, update: TaskProgress) -> None:
        await self.tell_project(SIGNAL_TASK_PROGRESS, update)

    async def tell_project(self, signal: str, arg: Any) -> None:
        project = workflow.get_external_workflow_handle(self.project_workflow_id)
        await project.signal(signal, arg)
        # A cancellation that arrives while the signal is delivered resolves the signal, not
        # the cancel: look for it explicitly so the workflow still ends as cancelled.
        raise_if_cancelled()

    async def agent(self, name: str, arg: Any, result_type: type[T], *, what: str) -> T:
        """Run an agent activity; when the budget is spent, ask for more before trying again."""
        while True:
            try:
                return await workflow.execute_activity(name, arg, result_type=result_type, **AGENT)
            except ActivityError as err:
                if not is_budget_exceeded(err):
                    raise
                self._budget_asks += 1
                cause = err.cause
                outcome = await self.ask(
                    GateRequest(
                        key=f"budget:{workflow.info().workflow_id}:{self._budget_asks}",
                        kind=GateKind.budget,
                        title=f"Budget reached before: {what}",
                        summary=(str(cause.message) if isinstance(cause, ApplicationError) else str(err))
                        + " — approve to raise the budget, reject to stop paid work here.",
                        risk=Risk.high,
                        requester_workflow_id=workflow.info().workflow_id,
                    )
                )
                if outcome.decision != "approve":
                    raise BudgetRejected(what) from None


def add_usage(total: Usage, extra: Usage) -> Usage:
    return Usage(
        provider=extra.provider or total.provider,
        model=extra.model or total.model,
        tokens_in=total.tokens_in + extra.tokens_in,
        tokens_out=total.tokens_out + extra.tokens_out,
        cached_tokens=total.cached_tokens + extra.cached_tokens,
        usd=round(total.usd + extra.usd, 6),
    )
