"""What every fault scenario shares: the fakes a worker is wired to, and the end state an
undisturbed run reaches (operations, every planned task passed, one of each side effect)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from activities.integrations import repo_name
from domain.enums import AutoApprove, GateStatus, Phase, Status
from domain.project import Policy, ProjectInput, ProjectState
from store.db import get_engine, session_scope
from store.tables import Decision, Document, IntegrationRecord, Review, UsageRecord
from tests.fakes.github_server import FakeGitHub
from tests.fakes.slack_server import FakeSlack
from tests.fakes.stripe_server import FakeStripe
from tests.stack import DONE, PLAN_TASKS, ScriptedLLM, Stack, planned_tasks
from tests.waiting import eventually
from workflows.ids import project_workflow_id
from workflows.project import ProjectWorkflow

# The agent activities that record usage (assemble_team is a catalog lookup, no LLM call).
# Activities that write a usage row (compliance_review: with a model, its reviewer calls it).
METERED = ("interview_questions", "research", "plan", "produce", "review", "analyze_kpis", "compliance_review")
# What the scripted LLM's plan gives an undisturbed run: every task passes in round 1.
PLANNED_IDS = {t["id"] for t in PLAN_TASKS}
HIGH_RISK_TITLES = [str(t["title"]) for t in PLAN_TASKS if t["risk"] == "high"]
# interview, research, plan + one produce and one review per task + the compliance reviewer before go-live
USAGE_ROWS = 3 + 2 * len(PLAN_TASKS) + 1
DOCUMENTS = 1 + len(PLAN_TASKS)  # the research report + one deliverable version per task
# interview, plan, go-live, and one deliverable gate per high-risk task
GATES = 3 + len(HIGH_RISK_TITLES)

FAST = Policy(auto_approve=AutoApprove.all, max_rounds=2, review_interval_s=10**8)


@dataclass
class Fakes:
    stripe: FakeStripe
    github: FakeGitHub
    slack: FakeSlack
    llm: ScriptedLLM

    def worker_env(self, *, openai_timeout_s: float = 10.0) -> dict[str, str]:
        """A worker wired to every fake: the OpenAI provider, Stripe, GitHub and Slack."""
        return {
            "BOARDROOM_AGENT_PROVIDER": "openai",
            "OPENAI_API_KEY": "sk-fake-llm",
            "OPENAI_BASE_URL": self.llm.base_url,
            "OPENAI_MODEL": "gpt-4o-mini",
            "OPENAI_TIMEOUT_S": str(openai_timeout_s),
            "STRIPE_API_KEY": self.stripe.api_key,
            "STRIPE_API_BASE": self.stripe.base_url,
            "GITHUB_TOKEN": self.github.token,
            "GITHUB_API_URL": self.github.base_url,
            "SLACK_BOT_TOKEN": self.slack.token,
            "SLACK_API_URL": self.slack.api_url,
            "SLACK_CHANNEL": "#launches",
        }


@contextlib.contextmanager
def running_fakes(*, llm_delay_s: float = 0.0) -> Iterator[Fakes]:
    with (
        FakeStripe(api_key="sk_test_stack") as stripe,
        FakeGitHub(token="ghp_stack", login="stack-bot") as github,
        FakeSlack(token="xoxb-stack", channels=("#launches",)) as slack,
        ScriptedLLM(delay_s=llm_delay_s) as llm,
    ):
        yield Fakes(stripe, github, slack, llm)


async def start(stack: Stack, *, policy: Policy = FAST, tag: str = "") -> WorkflowHandle[ProjectWorkflow, ProjectState]:
    """A project with a goal of its own (the Slack announcement quotes it)."""
    client = await stack.client()
    project_id = f"p-{uuid.uuid4().hex[:10]}"
    return await client.start_workflow(
        ProjectWorkflow.run,
        ProjectInput(
            project_id=project_id,
            name=f"Fault project {tag}".strip(),
            goal=f"Sell starter kits online ({project_id})",
            budget_usd=50.0,
            policy=policy,
        ),
        id=project_workflow_id(project_id),
        task_queue=stack.task_queue,
    )


def db_counts(database_url: str, project_id: str) -> dict[str, Any]:
    with session_scope(database_url) as s:

        def count(model: Any, *where: Any) -> int:
            return int(s.exec(select(func.count()).select_from(model).where(*where)).one())

        usage = s.exec(select(UsageRecord).where(UsageRecord.project_id == project_id)).all()
        decisions = s.exec(select(Decision).where(Decision.project_id == project_id)).all()
        return {
            "documents": count(Document, Document.project_id == project_id),
            "deliverables": count(Document, Document.project_id == project_id, Document.kind == "deliverable"),
            "reviews": count(Review, Review.project_id == project_id),
            "integrations": count(IntegrationRecord, IntegrationRecord.project_id == project_id),
            "usage_rows": len(usage),
            "usage_by_activity": sorted(u.activity for u in usage),
            "usage_tokens_in": sum(u.tokens_in for u in usage),
            "decision_gates": sorted(d.gate_id for d in decisions),
        }


async def completed_activities(client: Client, workflow_ids: list[str]) -> list[str]:
    """Activity types of every ActivityTaskScheduled whose activity completed, over the workflows."""
    done: list[str] = []
    for wid in workflow_ids:
        scheduled: dict[int, str] = {}
        async for e in client.get_workflow_handle(wid).fetch_history_events():
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                scheduled[e.event_id] = e.activity_task_scheduled_event_attributes.activity_type.name
            elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                done.append(scheduled[e.activity_task_completed_event_attributes.scheduled_event_id])
    return done


async def project_workflow_ids(stack: Stack, project_id: str) -> list[str]:
    root = project_workflow_id(project_id)
    return [w for w in await stack.workflow_ids() if w == root or w.startswith(root + "/")]


async def assert_undisturbed_end_state(stack: Stack, fakes: Fakes, state: ProjectState) -> dict[str, Any]:
    """The project ended where an undisturbed run ends, with nothing lost and nothing doubled."""
    pid = state.project_id
    assert state.phase == Phase.operations and state.status == Status.running, (state.phase, state.status)
    planned = planned_tasks(state)
    assert {t.id for t in planned} == PLANNED_IDS
    assert all(t.status in DONE for t in planned), [(t.id, t.status) for t in planned]
    assert all(t.deliverable_id is not None for t in planned)
    launch = [t for t in state.tasks if t.id.startswith("launch-")]
    assert len(launch) == 5 and all(t.status in DONE for t in launch), [(t.id, t.status) for t in launch]
    assert state.launched
    assert {(i.name, i.status) for i in state.integrations} == {
        ("github", "done"),
        ("stripe", "done"),
        ("slack", "done"),
        # The scripted agents write a one-file web page, not a site: nothing to write the link into.
        ("site", "skipped"),
    }, state.integrations
    decided = [g for g in state.gates if g.status != GateStatus.pending]
    assert len(decided) == len(state.gates) == GATES, [(g.kind, g.status) for g in state.gates]

    # Stripe: exactly one product, price and payment link for this project.
    mine = [p for p in fakes.stripe.products.values() if p["metadata"].get("project_id") == pid]
    assert len(mine) == 1, fakes.stripe.products
    prices = [p for p in fakes.stripe.prices.values() if p["product"] == mine[0]["id"]]
    assert len(prices) == 1, fakes.stripe.prices
    links = [lk for lk in fakes.stripe.payment_links.values() if lk["metadata"].get("project_id") == pid]
    assert len(links) == 1, fakes.stripe.payment_links

    # GitHub: one repository; every file committed once; one issue per high-risk follow-up.
    full = f"{fakes.github.login}/{repo_name(state.name, pid)}"
    assert full in fakes.github.repos, list(fakes.github.repos)
    files = fakes.github.files[full]
    assert len(fakes.github.commits[full]) == len(files), (fakes.github.commits[full], list(files))
    titles = [i["title"] for i in fakes.github.issues[full]]
    assert sorted(titles) == sorted(HIGH_RISK_TITLES), titles

    # Slack: the launch announcement went out once (the phase notices link the project too).
    announcements = [
        m for m in fakes.slack.messages if pid in str(m.get("text", "")) and str(m["text"]).startswith(":rocket:")
    ]
    assert len(announcements) == 1, announcements

    # Database: nothing recorded twice. Decision records are written after `decide` answers:
    # wait until every decided gate has its record, then compare everything.
    gate_ids = sorted(g.id for g in state.gates)

    def recorded() -> dict[str, Any] | None:
        found = db_counts(stack.database_url, pid)
        return found if len(found["decision_gates"]) >= len(gate_ids) else None

    try:
        counts = await eventually(recorded, "a decision record for every gate", timeout=30)
    except AssertionError:
        counts = db_counts(stack.database_url, pid)
    assert counts["documents"] == DOCUMENTS, counts
    assert counts["reviews"] == len(PLAN_TASKS), counts
    assert counts["integrations"] == 4, counts  # github, stripe, site, slack
    assert counts["decision_gates"] == sorted(g.id for g in state.gates), counts
    assert counts["usage_rows"] == USAGE_ROWS, counts
    # Cost: the workflow's total and the usage table agree (nothing counted twice on either side).
    assert state.cost.tokens_in == counts["usage_tokens_in"], (state.cost, counts)

    # One usage row per metered activity that completed (a retried activity is counted once).
    client = await stack.client()
    completed = [a for a in await completed_activities(client, await project_workflow_ids(stack, pid)) if a in METERED]
    assert sorted(completed) == counts["usage_by_activity"], (sorted(completed), counts["usage_by_activity"])
    return counts


async def retried_attempts(stack: Stack, workflow_ids: list[str]) -> list[tuple[str, int]]:
    """(activity type, attempt) of every activity that succeeded on a second or later attempt."""
    client = await stack.client()
    found = []
    for wid in workflow_ids:
        names: dict[int, str] = {}
        async for e in client.get_workflow_handle(wid).fetch_history_events():
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                names[e.event_id] = e.activity_task_scheduled_event_attributes.activity_type.name
            elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                attrs = e.activity_task_started_event_attributes
                if attrs.attempt >= 2:
                    found.append((names[attrs.scheduled_event_id], attrs.attempt))
    return found


def dispose_engine(database_url: str) -> None:
    """The test process's pooled SQLite connections (before the file is moved about)."""
    get_engine(database_url).dispose()
