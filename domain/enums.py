"""The domain's enumerations: phases, statuses, risk tiers, gate kinds, channels, goal kinds.

Pure pydantic: safe to pass through the workflow sandbox. Fields are only ever added (with
defaults), never renamed, so recorded histories keep replaying.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class Phase(StrEnum):
    discovery = "discovery"
    execution = "execution"
    launch = "launch"
    operations = "operations"
    completed = "completed"


class Status(StrEnum):
    running = "running"
    waiting_approval = "waiting_approval"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


class Risk(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class AutoApprove(StrEnum):
    """Which risk tiers are approved by policy; `all` is the fully autonomous mode."""

    none = "none"
    low = "low"
    medium = "medium"
    all = "all"


class GateKind(StrEnum):
    interview = "interview"
    plan = "plan"
    deliverable = "deliverable"
    escalation = "escalation"
    budget = "budget"
    go_live = "go_live"
    compliance = "compliance"


class GateStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    revised = "revised"


class Channel(StrEnum):
    api = "api"
    web = "web"
    slack = "slack"
    temporal_ui = "temporal_ui"
    policy = "policy"
    expiry = "expiry"


DecisionValue = Literal["approve", "reject", "revise"]

DECISION_STATUS: dict[str, GateStatus] = {
    "approve": GateStatus.approved,
    "reject": GateStatus.rejected,
    "revise": GateStatus.revised,
}


class TaskStatus(StrEnum):
    pending = "pending"
    running = "running"
    waiting_approval = "waiting_approval"
    passed = "passed"
    accepted = "accepted"
    dropped = "dropped"
    cancelled = "cancelled"


class GoalKind(StrEnum):
    """What kind of goal a project pursues; it decides which work the plan contains."""

    business = "business"  # selling a product
    service = "service"  # selling one's time or skill (consulting, coaching, cleaning…)
    research = "research"  # a thesis, a study, a paper: nothing is sold
    content = "content"  # a blog, newsletter, podcast or channel: nothing is sold at launch


SELLING_KINDS = (GoalKind.business, GoalKind.service)
