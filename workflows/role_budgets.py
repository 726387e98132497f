"""Monthly budgets per role, beside the project budget; owned by ProjectWorkflow.

The project counts what each role spends in the current calendar month (workflow time) from the
task progress its task workflows signal: a task's producer and QA calls count under the task's
role. At 80% of a role's budget the CEO is notified once per role and month (a Slack notice and
a line in `state.role_budgets.notices`); at 100% that role's work waits behind a `budget` gate
for the role. Approving raises that role's budget (`budget_increase_usd`, by default the same
amount again) and the work goes on; rejecting refuses the role's work for the rest of the month
the way a project budget refusal does (a typed `BudgetRejected`: the task is dropped, with the
role and month as its reason). A new month starts the counts afresh.

How a task learns about its role: a task whose role has a budget sends each progress with a
number and waits for the project's `role_budget` answer (RoleBudgetNotice) before its next agent
call, so a role that reached its budget never gets another call in first. The project also tells
every task of the role it has heard from when the gate is decided.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from domain.enums import GateKind, Risk
    from domain.gates import GateDecision, GateRequest, GateView
    from domain.launch import SlackNotice
    from domain.project import MAX_ROLE_NOTICES, RoleBudgetNotice, RoleBudgetState, TaskProgress
    from workflows.base import SIGNAL_ROLE_BUDGET
    from workflows.patches import patched

if TYPE_CHECKING:
    from workflows.project import ProjectWorkflow

# Added while projects were live: older runs replay without role budgets (they had none).
PATCH_ROLE_BUDGETS = "role-budgets"
# Added while projects were live: a role gate decided after its role lost its budget only releases
# the role's work, and a decision counts in the month it is made (older runs: as before).
PATCH_ROLE_GATE_DECIDED = "role-gate-decided-now"
ROLE_GATE_PREFIX = "role-budget:"
NOTICE_SHARE = 0.8
# Task workflows remembered per role, to tell them when the role's gate is decided.
KEEP_RUNS = 50


def month_of(now: datetime) -> str:
    return now.strftime("%Y-%m")


def is_role_gate(gate: GateView) -> bool:
    return gate.kind == GateKind.budget and gate.key.startswith(ROLE_GATE_PREFIX)


def usd(amount: float) -> str:
    return f"${amount:,.2f}"


def status_of(state: RoleBudgetState, role: str) -> str:
    if role in state.refused:
        return "refused"
    if role in state.held:
        return "held"
    return "open"


def refusal(role: str, month: str) -> str:
    return f"the {role} budget for {month}"


class RoleBudgets:
    """The project's side: counting, the 80% notice, the role's gate and what tasks are told."""

    def __init__(self, project: ProjectWorkflow) -> None:
        self._project = project
        self._runs: dict[str, list[str]] = {}

    @property
    def state(self) -> RoleBudgetState:
        return self._project.state.role_budgets

    def wanted(self, progress: TaskProgress) -> bool:
        """Whether this progress concerns role budgets at all (older runs never had any)."""
        return bool(progress.ack or self.state.budgets_usd) and patched(PATCH_ROLE_BUDGETS)

    def on_progress(self, progress: TaskProgress, role: str) -> None:
        """Count a task's spend under its role; answer the task when it asked (from a signal handler)."""
        state = self._roll()
        if role and progress.workflow_id:
            runs = self._runs.setdefault(role, [])
            if progress.workflow_id not in runs:
                runs[:] = (runs + [progress.workflow_id])[-KEEP_RUNS:]
        if role in state.budgets_usd and progress.usage.usd > 0:
            state.spent_usd[role] = round(state.spent_usd.get(role, 0.0) + progress.usage.usd, 6)
            self._check(role)
        if progress.ack and progress.workflow_id:
            notice = self._notice(role, ack=progress.ack)
            self._project._in_background(self._tell(progress.workflow_id, notice))

    async def decided(self, gate: GateView, decision: GateDecision) -> None:
        """A role's gate was decided: raise its budget and go on, or refuse it for the month.
        A gate of a role no longer budgeted only releases its work; one from a past month refuses
        nothing in this one."""
        state = self.state
        role = next((r for r, key in state.held.items() if key == gate.key), None)
        if role is None:
            return
        now = patched(PATCH_ROLE_GATE_DECIDED)
        if now:
            state = self._roll()
        del state.held[role]
        month = gate.key.rsplit(":", 2)[-2]
        if now and role not in state.budgets_usd:
            self._record(f"{role}: no budget any more; its work goes on ({decision.approver})")
        elif decision.decision == "approve":
            increase = decision.budget_increase_usd or max(state.budgets_usd.get(role, 0.0), 1.0)
            state.budgets_usd[role] = round(state.budgets_usd.get(role, 0.0) + increase, 2)
            self._record(f"{role}: budget raised to {usd(state.budgets_usd[role])} by {decision.approver}")
            # Still spent (a small increase): a new gate at once instead of one more call.
            self._check(role)
        else:
            text = f"{role}: budget not raised for {month} ({decision.approver})"
            if month == state.month:
                if role not in state.refused:
                    state.refused.append(role)
                text += "; its work stops"
            self._record(text)
        notice = self._notice(role)
        if notice.status == "refused":
            notice.reason = refusal(role, month)
        for run in list(self._runs.get(role, [])):
            await self._tell(run, notice)

    def set_budgets(self, budgets: dict[str, float]) -> RoleBudgetState:
        """The CEO changed the role budgets: new amounts count from now on (this month's spend
        stays); a role now at 80% or 100% is told or held at once. Tasks already running keep
        the roles their policy named (a newly budgeted role binds the tasks that start after)."""
        state = self._roll()
        state.budgets_usd = dict(budgets)
        self._record("role budgets set: " + (", ".join(f"{r} {usd(b)}" for r, b in budgets.items()) or "none"))
        for role in budgets:
            self._check(role)
        return state

    # --- internals ------------------------------------------------------------------------

    def _roll(self) -> RoleBudgetState:
        """A new calendar month (workflow time): counts, notices and refusals start afresh."""
        state = self.state
        month = month_of(workflow.now())
        if state.month != month:
            state.month = month
            state.spent_usd = {}
            state.notified = []
            state.refused = []
        return state

    def _check(self, role: str) -> None:
        state = self.state
        budget, spent = state.budgets_usd[role], state.spent_usd.get(role, 0.0)
        if spent >= NOTICE_SHARE * budget and role not in state.notified:
            state.notified.append(role)
            text = f"{role} has spent {usd(spent)} of its {usd(budget)} budget for {state.month}"
            self._record(text)
            project = self._project
            text = f"{project.state.name[:200]}: {text}"
            notice = SlackNotice(project_id=project.state.project_id, phase="budget", text=text)
            project._in_background(project._phase_notice(notice))
        if spent >= budget and role not in state.held and role not in state.refused:
            state.gates += 1
            key = f"{ROLE_GATE_PREFIX}{role}:{state.month}:{state.gates}"
            state.held[role] = key
            self._project._in_background(self._ask(role, key, spent, budget))

    async def _ask(self, role: str, key: str, spent: float, budget: float) -> None:
        month = self.state.month
        await self._project.open_gate(
            GateRequest(
                key=key,
                kind=GateKind.budget,
                title=f"Role budget reached: {role} ({month})",
                summary=(
                    f"{role} has spent {usd(spent)} of its {usd(budget)} budget for {month}. Approve to "
                    "raise it (by budget_increase_usd, else by the same amount again) and let its work go "
                    "on; reject to stop that role's work this month."
                ),
                risk=Risk.high,
                requester_workflow_id=workflow.info().workflow_id,
            )
        )

    def _notice(self, role: str, ack: int = 0) -> RoleBudgetNotice:
        status = status_of(self.state, role)
        reason = refusal(role, self.state.month) if status == "refused" else ""
        return RoleBudgetNotice(role=role[:64], status=status, reason=reason, ack=ack)  # type: ignore[arg-type]

    def _record(self, text: str) -> None:
        self.state.notices = (self.state.notices + [text[:300]])[-MAX_ROLE_NOTICES:]

    async def _tell(self, workflow_id: str, notice: RoleBudgetNotice) -> None:
        inline = self._project._inline.get(workflow_id)
        if inline is not None:
            # A task running inside the project workflow (PATCH_ONE_WORKFLOW): told by a call.
            inline.role_budget(notice)
            return
        if workflow_id in self._project._inline_ran:
            # An inline task that has ended: nothing to tell it any more.
            runs = self._runs.get(notice.role, [])
            if workflow_id in runs:
                runs.remove(workflow_id)
            return
        try:
            await workflow.get_external_workflow_handle(workflow_id).signal(SIGNAL_ROLE_BUDGET, notice)
        except FailureError:
            # That task has ended: nothing to tell it any more.
            runs = self._runs.get(notice.role, [])
            if workflow_id in runs:
                runs.remove(workflow_id)
