"""One task: the producer drafts, QA scores against the task's rubric, the producer revises.

Bounded rounds; on exhaustion the CEO gets an escalation gate (accept as is / guidance and
retry / drop) instead of a failed project. High-risk deliverables need a gate even when QA passes.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pydantic import Field

    from domain.base import Model
    from domain.enums import GateKind, Risk, TaskStatus
    from domain.gates import GateOutcome, GateRequest
    from domain.project import Policy, TaskProgress
    from domain.work import ProduceInput, ProduceOutput, ReviewInput, ReviewOutput, TaskSpec, Usage, WorkContext
    from workflows import activity_defs as defs
    from workflows.base import BudgetRejected, GateClient, LegacyBudgetRejected, RoleBudgetRejected, add_usage
    from workflows.patches import patched

# Added while projects were live: a deliverable approved with the CEO's edited text finishes with
# that version (older runs never received one).
PATCH_EDITED_DELIVERABLE = "deliverable-approve-with-edits"


# --- the workflow's input and output ---------------------------------------------------


class TaskRunInput(Model):
    project_id: str
    project_workflow_id: str
    goal: str
    task: TaskSpec
    policy: Policy
    guidance: str = ""
    context: WorkContext = WorkContext()
    # Rounds (stored versions) the task already had: a re-run's versions come after them.
    rounds_before: int = Field(default=0, ge=0, le=1000)
    # Ask the project about the task's role before every agent call even when `policy` names no
    # budget for it: a routine run's policy was fixed when its schedule was made, while the
    # project's role budgets (workflows/role_budgets.py) are the live ones.
    ask_role_budget: bool = False


class TaskRunOutput(Model):
    task_id: str
    status: TaskStatus
    qa_score: float | None = None
    rounds: int = 0
    deliverable_id: int | None = None
    summary: str = ""


@workflow.defn(name="produce-review")
class ProduceReviewWorkflow(GateClient):
    """Producer+QA loop for one task; returns the task's final status. Idempotent per workflow id."""

    def __init__(self) -> None:
        super().__init__()
        self._budgeted = False
        self._role = ""

    @workflow.run
    async def run(self, data: TaskRunInput) -> TaskRunOutput:
        self.project_workflow_id = data.project_workflow_id
        task, policy = data.task, data.policy
        # The task's role has a monthly budget: progress waits for the project's answer, and
        # every agent call checks the role first (workflows/role_budgets.py). A routine's run
        # always asks: the project's budgets may have changed since its policy was fixed.
        self._budgeted = task.role in policy.role_budgets_usd or data.ask_role_budget
        role = task.role if self._budgeted else None
        self._role = role or ""
        # A re-run (compliance findings before go-live) continues after the task's stored versions.
        rounds = data.rounds_before
        feedback: list[str] = []
        guidance = data.guidance
        deliverable: ProduceOutput | None = None
        review: ReviewOutput | None = None
        escalations = 0
        try:
            while True:
                # One batch of bounded Producer+QA rounds.
                for _ in range(policy.max_rounds):
                    rounds += 1
                    if rounds == data.rounds_before + 1:
                        await self._progress(task.id, TaskStatus.running, rounds, review, deliverable)
                    produced: ProduceOutput = await self.agent(
                        defs.produce,
                        ProduceInput(
                            project_id=data.project_id,
                            task=task,
                            round=rounds,
                            goal=data.goal,
                            previous_deliverable_id=deliverable.deliverable_id if deliverable else None,
                            feedback=feedback,
                            guidance=guidance,
                            context=data.context,
                        ),
                        what=f"producing '{task.title}'",
                        task_id=task.id,
                        role=role,
                    )
                    deliverable = produced
                    reviewed: ReviewOutput = await self.agent(
                        defs.review,
                        ReviewInput(
                            project_id=data.project_id,
                            task=task,
                            deliverable_id=produced.deliverable_id,
                            round=rounds,
                            pass_threshold=policy.pass_threshold,
                            goal=data.goal,
                            context=data.context,
                            guidance=guidance,
                        ),
                        what=f"reviewing '{task.title}'",
                        task_id=task.id,
                        role=role,
                    )
                    review = reviewed
                    await self._progress(
                        task.id,
                        TaskStatus.running,
                        rounds,
                        reviewed,
                        produced,
                        add_usage(produced.usage, reviewed.usage),
                    )
                    if reviewed.passed:
                        break
                    feedback = [f"[{i.severity}] {i.text}" for i in reviewed.issues]
                assert deliverable is not None and review is not None
                if not review.passed:
                    can_retry = escalations < policy.max_escalations
                    outcome = await self.ask(
                        GateRequest(
                            key=f"escalation:{task.id}:{rounds}",
                            kind=GateKind.escalation,
                            title=f"QA did not pass '{task.title}' after {rounds} rounds",
                            summary=(
                                f"Best score {review.score:.1f}/10 (pass at {policy.pass_threshold:.1f}). "
                                "Approve = accept as is; revise = give guidance and retry"
                                + ("" if can_retry else " (no retries left)")
                                + "; reject = drop the task."
                            ),
                            risk=Risk.high if task.risk == Risk.high else Risk.medium,
                            requester_workflow_id=self.me,
                            task_id=task.id,
                            deliverable_id=deliverable.deliverable_id,
                        )
                    )
                    if outcome.decision == "approve":
                        deliverable = self._edited(deliverable, outcome)
                        return await self._finish(task.id, TaskStatus.accepted, rounds, review, deliverable)
                    if outcome.decision == "revise" and can_retry:
                        escalations += 1
                        guidance = outcome.comment or guidance
                        feedback = [f"CEO guidance: {outcome.comment}"] if outcome.comment else feedback
                        continue
                    return await self._finish(task.id, TaskStatus.dropped, rounds, review, deliverable)
                if task.risk == Risk.high:
                    outcome = await self.ask(
                        GateRequest(
                            key=f"deliverable:{task.id}:{rounds}",
                            kind=GateKind.deliverable,
                            title=f"High-risk deliverable ready: '{task.title}'",
                            summary=f"QA passed with {review.score:.1f}/10. Approve, request changes, or drop.",
                            risk=Risk.high,
                            requester_workflow_id=self.me,
                            task_id=task.id,
                            deliverable_id=deliverable.deliverable_id,
                        )
                    )
                    if outcome.decision == "revise" and escalations < policy.max_escalations:
                        escalations += 1
                        feedback = [f"CEO: {outcome.comment or 'please revise'}"]
                        guidance = outcome.comment or guidance
                        continue
                    if outcome.decision == "reject":
                        return await self._finish(task.id, TaskStatus.dropped, rounds, review, deliverable)
                    deliverable = self._edited(deliverable, outcome)
                return await self._finish(task.id, TaskStatus.passed, rounds, review, deliverable)
        except (BudgetRejected, LegacyBudgetRejected) as err:
            # The CEO refused more budget for this task (or its role this month): it is dropped,
            # the project goes on.
            summary = err.message if isinstance(err, RoleBudgetRejected) else "budget not raised"
            return await self._finish(task.id, TaskStatus.dropped, rounds, review, deliverable, summary=summary)

    @staticmethod
    def _edited(deliverable: ProduceOutput, outcome: GateOutcome) -> ProduceOutput:
        """The CEO's edited version (approve with edits) replaces the producer's last one."""
        if outcome.decision != "approve" or outcome.deliverable_id is None:
            return deliverable
        if not patched(PATCH_EDITED_DELIVERABLE):
            return deliverable
        return deliverable.model_copy(update={"deliverable_id": outcome.deliverable_id})

    async def _progress(
        self,
        task_id: str,
        status: TaskStatus,
        rounds: int,
        review: ReviewOutput | None,
        deliverable: ProduceOutput | None,
        usage: Usage | None = None,
    ) -> None:
        await self.progress(
            TaskProgress(
                task_id=task_id,
                status=status,
                rounds=rounds,
                qa_score=review.score if review else None,
                qa_method=review.method if review else "",
                deliverable_id=deliverable.deliverable_id if deliverable else None,
                usage=usage or Usage(),
                at=workflow.now(),
                role=self._role,
            ),
            budgeted=self._budgeted,
        )

    async def _finish(
        self,
        task_id: str,
        status: TaskStatus,
        rounds: int,
        review: ReviewOutput | None,
        deliverable: ProduceOutput | None,
        summary: str = "",
    ) -> TaskRunOutput:
        await self._progress(task_id, status, rounds, review, deliverable)
        return TaskRunOutput(
            task_id=task_id,
            status=status,
            qa_score=review.score if review else None,
            rounds=rounds,
            deliverable_id=deliverable.deliverable_id if deliverable else None,
            summary=summary or (deliverable.summary if deliverable else ""),
        )
