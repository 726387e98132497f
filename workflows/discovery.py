"""Discovery: interview the CEO, research, plan (approve / reject / revise → re-plan), team."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import Field

    from domain.base import Model
    from domain.enums import GateKind, Risk
    from domain.gates import GateRequest
    from domain.project import PlanUpdate, Policy, SteerInstruction
    from domain.work import (
        MAX_RELATED,
        InterviewInput,
        Plan,
        PlanInput,
        PlanOutput,
        RelatedDocument,
        RelatedInput,
        ResearchInput,
        TeamInput,
        TeamMember,
        Usage,
    )
    from workflows import activity_defs as defs
    from workflows.base import SIGNAL_PLAN_UPDATED, GateClient, add_usage
    from workflows.options import STORE
    from workflows.patches import patched

SIGNAL_STEER = "steer"
# Added while projects were live: runs recorded before it replay without the extra signal.
PATCH_PLAN_VISIBLE = "plan-visible-before-approval"
# Added while projects were live: research and planning get (and cite) the owner's earlier
# projects' documents that match the goal; older runs replay without the lookup.
PATCH_RELATED = "related-documents"
# Added while projects were live: a plan approved with edits (tasks dropped, renamed, reordered,
# risk or criteria changed) is the plan that runs; older runs never received an edited plan.
PATCH_PLAN_EDITS = "plan-approve-with-edits"
# Added while projects were live: the research activity looks up the owner's earlier documents
# itself and answers with them (older runs ran `related_documents` first, an activity of its own).
PATCH_RESEARCH_FINDS_RELATED = "research-finds-related"


# --- the workflow's input and output ---------------------------------------------------


class DiscoveryInput(Model):
    project_id: str
    project_workflow_id: str
    goal: str
    policy: Policy
    steering: list[str] = []


class DiscoveryOutput(Model):
    # What research and planning used from the owner's earlier projects (no excerpts).
    cited: list[RelatedDocument] = Field(default=[], max_length=MAX_RELATED)
    answers: dict[str, str] = {}
    research_summary: str = ""
    research_document_id: int | None = None
    plan: Plan
    plan_revision: int = 0
    team: list[TeamMember] = []
    usage: Usage = Usage()


def plan_risk(plan: PlanOutput) -> Risk:
    risks = {t.risk for t in plan.plan.tasks}
    return Risk.high if Risk.high in risks else Risk.medium


@workflow.defn(name="discovery")
class DiscoveryWorkflow(GateClient):
    """Turns a goal into an approved plan and a team. Idempotent per workflow id.

    Without a plan there is nothing to do: a refused budget (at any agent call, planning and
    re-planning included) ends this workflow with the non-retryable `BudgetRejected` error,
    and the project ends as `cancelled` with its message as the reason.
    """

    def __init__(self) -> None:
        super().__init__()
        self._steering: list[str] = []

    @workflow.signal(name=SIGNAL_STEER)
    def steer(self, instruction: SteerInstruction) -> None:
        self._steering.append(instruction.instruction)

    @staticmethod
    async def _related_documents(find: RelatedInput) -> list[RelatedDocument]:
        """The owner's earlier documents, by the `related_documents` activity."""
        found = await workflow.execute_activity(
            defs.related_documents, find, summary="documents from the owner's earlier projects", **STORE
        )
        return found.documents

    @workflow.run
    async def run(self, data: DiscoveryInput) -> DiscoveryOutput:
        self.project_workflow_id = data.project_workflow_id
        self._steering = list(data.steering) + self._steering
        usage = Usage()
        interview = await self.agent(
            defs.interview_questions,
            InterviewInput(project_id=data.project_id, goal=data.goal),
            what="interview questions",
        )
        usage = add_usage(usage, interview.usage)
        answered = await self.ask(
            GateRequest(
                key="interview",
                kind=GateKind.interview,
                title="A few questions before the team plans",
                summary="Your answers shape the research and the plan. Approve to send them.",
                risk=Risk.low,
                requester_workflow_id=self.me,
                questions=interview.questions,
            )
        )
        answers = dict(answered.answers)
        related: list[RelatedDocument] = []
        find: RelatedInput | None = None
        if patched(PATCH_RELATED):
            find = RelatedInput(project_id=data.project_id, text=" ".join([data.goal, *answers.values()])[:4000])
            if not patched(PATCH_RESEARCH_FINDS_RELATED):
                related, find = await self._related_documents(find), None
        research = await self.agent(
            defs.research,
            ResearchInput(
                project_id=data.project_id, goal=data.goal, answers=answers, related=related, find_related=find
            ),
            what="market research",
        )
        if find is not None:
            if research.searched:
                related = research.related
            else:
                # An activities worker from before it ignored the search: planning still gets them.
                related = await self._related_documents(find)
        usage = add_usage(usage, research.usage)
        feedback: list[str] = []
        previous = None
        revision = 0
        while True:
            planned = await self.agent(
                defs.plan,
                PlanInput(
                    project_id=data.project_id,
                    goal=data.goal,
                    answers=answers,
                    research_summary=research.summary,
                    feedback=feedback,
                    steering=list(self._steering),
                    previous=previous,
                    revision=revision,
                    related=related,
                ),
                what="planning",
            )
            usage = add_usage(usage, planned.usage)
            plan = planned.plan
            if patched(PATCH_PLAN_VISIBLE):
                # Show the plan on the project (board, approval page) while the CEO decides on it.
                await self.tell_project(SIGNAL_PLAN_UPDATED, PlanUpdate(plan=plan, revision=revision))
            outcome = await self.ask(
                GateRequest(
                    key=f"plan:{revision}",
                    kind=GateKind.plan,
                    title=f"Approve the plan (revision {revision})",
                    summary=(
                        f"{plan.summary} — {len(plan.tasks)} tasks, estimated "
                        f"${plan.estimated_cost_usd:.2f}. Approve, reject, or request changes."
                    ),
                    risk=plan_risk(planned),
                    requester_workflow_id=self.me,
                )
            )
            if outcome.decision == "approve":
                if outcome.plan is not None and patched(PATCH_PLAN_EDITS):
                    plan = outcome.plan
                break
            if revision >= data.policy.max_plan_revisions:
                raise ApplicationError(
                    f"the plan was not approved after {revision + 1} revisions",
                    type="PlanNotApproved",
                    non_retryable=True,
                )
            verb = "rejected the plan" if outcome.decision == "reject" else "asked for changes"
            feedback.append(f"CEO {verb}: {outcome.comment or '(no comment)'}")
            previous = plan
            revision += 1
        team = await self.agent(
            defs.assemble_team,
            TeamInput(project_id=data.project_id, plan=plan),
            what="team assembly",
        )
        usage = add_usage(usage, team.usage)
        return DiscoveryOutput(
            cited=[d.model_copy(update={"excerpt": ""}) for d in related],
            answers=answers,
            research_summary=research.summary,
            research_document_id=research.document_id,
            plan=plan,
            plan_revision=revision,
            team=team.members,
            usage=usage,
        )
