"""Going live and publishing: the compliance review, the site, the repository, Stripe, Slack and
the improvements operations publish — the inputs and outputs of those activities.

Pure pydantic: safe to pass through the workflow sandbox. Fields are only ever added (with
defaults), never renamed, so recorded histories keep replaying.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from domain.base import Model
from domain.enums import GoalKind
from domain.work import Offer, Usage


class IntegrationResult(Model):
    name: Literal["github", "stripe", "slack", "site"]
    status: Literal["done", "skipped", "failed", "local"]
    reason: str = ""
    url: str | None = None
    details: dict[str, str] = {}


class SlackNotice(Model):
    """Input of `notify_slack`: one phase notice for the project's channel. Without `url` the
    activity links the project's page (BOARDROOM_PUBLIC_URL)."""

    project_id: str
    text: str = Field(min_length=1, max_length=3000)
    phase: str = Field(default="", max_length=40)
    url: str | None = Field(default=None, max_length=2000)


MAX_COMPLIANCE_FINDINGS = 20
MAX_COMPLIANCE_SUMMARY_CHARS = 3000


class ComplianceInput(Model):
    """Input of `compliance_review`: the public deliverables by id (the activity loads them), the
    offer price Stripe will use, and each planned task's deliverable kind (what is public)."""

    project_id: str = Field(max_length=64)
    deliverable_ids: list[int] = Field(default=[], max_length=1000)
    price: str | None = Field(default=None, max_length=40)
    task_kinds: dict[str, str] = Field(default={}, max_length=200)


class ComplianceFindingView(Model):
    code: str = Field(max_length=64)
    severity: Literal["blocking", "warning"]
    file: str = Field(default="", max_length=300)
    message: str = Field(max_length=500)


class ComplianceReport(Model):
    """What `compliance_review` returns: counts, the first findings, a short summary, which tasks
    a revision goes back to, and which deliverable each task has among the checked ones."""

    blocking: int = 0
    warnings: int = 0
    findings: list[ComplianceFindingView] = Field(default=[], max_length=MAX_COMPLIANCE_FINDINGS)
    summary: str = Field(default="", max_length=MAX_COMPLIANCE_SUMMARY_CHARS)
    revise_task_ids: list[str] = Field(default=[], max_length=20)
    task_deliverables: dict[str, int] = Field(default={}, max_length=200)
    task_versions: dict[str, int] = Field(default={}, max_length=200)
    # What the compliance reviewer (with a model) spent; zero for the rule checks alone.
    usage: Usage = Usage()


class PublishInput(Model):
    """Input of each launch integration activity; credentials come from settings, never here."""

    project_id: str
    name: str
    goal: str
    offer: Offer | None = None
    deliverable_ids: list[int] = []
    follow_ups: list[str] = []
    # The launched site (a Document of kind "site", payment link written in) to publish with the
    # deliverables; None: the publisher finalizes the site it finds, payments not live.
    site_document_id: int | None = None


class SiteInput(Model):
    """Input of `finalize_site`: which deliverables may hold the site, and the payment link."""

    project_id: str = Field(max_length=64)
    deliverable_ids: list[int] = Field(default=[], max_length=1000)
    # The Stripe payment link when Stripe made one; None keeps "payments are not live yet".
    payment_link: str | None = Field(default=None, max_length=2000)


class ValidateLaunchInput(Model):
    project_id: str
    results: list[IntegrationResult]


class Publication(Model):
    """What an operations review needs to publish its improvements (site and repository) once
    they passed the compliance review: the launched business as the project knows it."""

    name: str = Field(default="", max_length=200)
    offer: Offer | None = None
    kind: GoalKind = GoalKind.business
    # The deliverables already public (passed or accepted tasks), published again beside the new ones.
    published_ids: list[int] = Field(default=[], max_length=500)
    payment_link: str | None = Field(default=None, max_length=2000)
