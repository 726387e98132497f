"""The activities as the workflows call them: name, input and result, declared once.

A workflow passes one of these to `workflow.execute_activity` instead of a name string and a
`result_type`: the SDK takes the name from the definition and the result type from the return
annotation, and mypy checks the argument. The bodies live in `activities/` (agents, store,
integrations), registered under the same names by the worker; the workflow modules never import
them (that would load SQLAlchemy and the integration SDKs into every workflow worker), so these
declarations are never run. `tests/workers/test_activity_defs.py` checks that every declaration
matches a registered implementation: same name, same input and result types.

Beside their workflows for the types they own: `open_gate`, `notify_email` and `notify_webhook`
(workflows/notices.py), `collect_digest` and `send_digest` (workflows/digest.py), `ping`
(workflows/smoke.py).
"""

# The arguments are the declared input; the bodies never run (see above).
# ruff: noqa: ARG001

from __future__ import annotations

from typing import NoReturn

from temporalio import activity

from domain.launch import (
    ComplianceInput,
    ComplianceReport,
    IntegrationResult,
    PublishInput,
    SiteInput,
    SlackNotice,
    ValidateLaunchInput,
)
from domain.records import BudgetUpdate, DecisionRecord, DeliverableEdit, ReadModelUpdate, Stored, VoteRecord
from domain.work import (
    InterviewInput,
    InterviewOutput,
    KpiInput,
    KpiOutput,
    PlanInput,
    PlanOutput,
    ProduceInput,
    ProduceOutput,
    RelatedInput,
    RelatedOutput,
    ResearchInput,
    ResearchOutput,
    ReviewInput,
    ReviewOutput,
    TeamInput,
    TeamOutput,
)


def declared_only(name: str) -> NoReturn:
    """What a declaration does if a worker ever registered it instead of the implementation."""
    raise RuntimeError(f"activity {name!r} is only declared in workflows/: register the one in activities/")


# Agents (activities/agents.py).


@activity.defn(name="interview_questions")
async def interview_questions(data: InterviewInput) -> InterviewOutput:
    declared_only("interview_questions")


@activity.defn(name="research")
async def research(data: ResearchInput) -> ResearchOutput:
    declared_only("research")


@activity.defn(name="plan")
async def plan(data: PlanInput) -> PlanOutput:
    declared_only("plan")


@activity.defn(name="assemble_team")
async def assemble_team(data: TeamInput) -> TeamOutput:
    declared_only("assemble_team")


@activity.defn(name="produce")
async def produce(data: ProduceInput) -> ProduceOutput:
    declared_only("produce")


@activity.defn(name="review")
async def review(data: ReviewInput) -> ReviewOutput:
    declared_only("review")


@activity.defn(name="analyze_kpis")
async def analyze_kpis(data: KpiInput) -> KpiOutput:
    declared_only("analyze_kpis")


# Store writes that mirror the workflow's state, and the lookups it needs (activities/store.py).


@activity.defn(name="sync_project")
async def sync_project(update: ReadModelUpdate) -> None:
    declared_only("sync_project")


@activity.defn(name="record_decision")
async def record_decision(record: DecisionRecord) -> Stored | None:
    declared_only("record_decision")


@activity.defn(name="record_vote")
async def record_vote(record: VoteRecord) -> None:
    declared_only("record_vote")


@activity.defn(name="record_deliverable_edit")
async def record_deliverable_edit(edit: DeliverableEdit) -> int:
    declared_only("record_deliverable_edit")


@activity.defn(name="set_budget")
async def set_budget(update: BudgetUpdate) -> None:
    declared_only("set_budget")


@activity.defn(name="related_documents")
async def related_documents(data: RelatedInput) -> RelatedOutput:
    declared_only("related_documents")


# Integrations (activities/integrations.py).


@activity.defn(name="compliance_review")
async def compliance_review(data: ComplianceInput) -> ComplianceReport:
    declared_only("compliance_review")


@activity.defn(name="finalize_site")
async def finalize_site(data: SiteInput) -> IntegrationResult:
    declared_only("finalize_site")


@activity.defn(name="publish_github")
async def publish_github(data: PublishInput) -> IntegrationResult:
    declared_only("publish_github")


@activity.defn(name="create_stripe_offer")
async def create_stripe_offer(data: PublishInput) -> IntegrationResult:
    declared_only("create_stripe_offer")


@activity.defn(name="announce_slack")
async def announce_slack(data: PublishInput) -> IntegrationResult:
    declared_only("announce_slack")


@activity.defn(name="notify_slack")
async def notify_slack(data: SlackNotice) -> IntegrationResult:
    declared_only("notify_slack")


@activity.defn(name="validate_launch")
async def validate_launch(data: ValidateLaunchInput) -> list[IntegrationResult]:
    declared_only("validate_launch")
