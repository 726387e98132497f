"""The compliance reviewer with a model: the `compliance_review` activity runs the rule checks,
then (a model configured) the compliance-officer role reads what would go public and adds its
own findings; a blocking one sends its task back. Against the fake OpenAI server (the real
client, the wire protocol) and a real database. Without a model, or when the model fails, the
rule checks still stand."""

from __future__ import annotations

from activities.agents import AgentActivities
from activities.integrations import IntegrationActivities
from activities.llm import ComplianceFindingOut, ComplianceOut
from boardroom.settings import Settings
from domain.launch import ComplianceInput, ComplianceReport
from store.db import session_scope
from store.tables import Document
from tests.activities.helpers import activity_env, add_project, usage_rows
from tests.activities.test_compliance_review import site
from tests.fakes.openai_server import FakeOpenAI, chat_completion, server_error

KINDS = {"pricing": "pricing", "website": "code", "launch-content": "content"}
CLAIM = "Our mugs keep coffee hot for 24 hours."


def seed(db_url: str) -> list[int]:
    add_project(db_url)
    docs = [
        Document(project_id="p1", task_id="pricing", content="Launch price: **$29**"),
        Document(project_id="p1", task_id="website", content="# Site", files=site("Only $29 per mug.")),
        Document(project_id="p1", task_id="launch-content", title="Launch post", content=CLAIM),
    ]
    with session_scope(db_url) as session:
        for doc in docs:
            session.add(doc)
        session.commit()
        for doc in docs:
            session.refresh(doc)
        return [d.id for d in docs if d.id is not None]


async def review(settings: Settings, ids: list[int], *, model: bool) -> ComplianceReport:
    agents = AgentActivities(settings)
    acts = IntegrationActivities(settings, reviewer=agents.compliance_findings if model else None)
    try:
        return await activity_env("act-compliance", workflow_id="project-p1/launch").run(
            acts.compliance_review,
            ComplianceInput(project_id="p1", deliverable_ids=ids, price="29.00", task_kinds=KINDS),
        )
    finally:
        await agents.aclose()


async def test_the_reviewer_adds_a_blocking_finding_beside_the_rule_checks(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    ids = seed(openai_settings.database_url)
    rules_only = await review(openai_settings, ids, model=False)
    assert rules_only.blocking == 0 and fake_openai.chat_requests() == []

    fake_openai.script(
        chat_completion(
            ComplianceOut(
                summary="One unsubstantiated claim.",
                findings=[
                    ComplianceFindingOut(
                        severity="blocking",
                        task_id="launch-content",
                        file="",
                        message="The 24-hour heat claim is unsubstantiated: remove it or back it with a test.",
                    )
                ],
            )
        )
    )
    report = await review(openai_settings, ids, model=True)
    assert report.blocking == 1
    (finding,) = [f for f in report.findings if f.severity == "blocking"]
    assert (finding.code, finding.file) == ("reviewer", "")
    assert "24-hour heat claim" in finding.message
    assert report.revise_task_ids == ["launch-content"]
    # The rule checks' findings are all still there.
    assert {(f.code, f.message) for f in rules_only.findings} <= {(f.code, f.message) for f in report.findings}

    (request,) = fake_openai.chat_requests()
    assert request.response_format["json_schema"]["name"] == "ComplianceOut"
    assert "Compliance Officer" in request.messages[0]["content"]
    user = request.messages[-1]["content"]
    assert "## Deliverables to be published" in user and "## Rule findings (already recorded)" in user
    assert "(task website)" in user and "--- file index.html ---" in user and "Only $29 per mug." in user
    assert "Launch post (task launch-content)" in user and CLAIM in user
    assert "(task pricing)" not in user, "the pricing deliverable is internal"
    (usage,) = [u for u in usage_rows(openai_settings.database_url) if u.activity == "compliance_review"]
    assert usage.provider == "openai" and usage.tokens_in > 0
    # The report carries the same spend, for the workflow to add to the project's cost.
    assert (report.usage.tokens_in, report.usage.tokens_out) == (usage.tokens_in, usage.tokens_out)
    assert rules_only.usage.tokens_in == 0


async def test_a_failing_reviewer_leaves_the_rule_checks_standing(
    openai_settings: Settings, fake_openai: FakeOpenAI
) -> None:
    ids = seed(openai_settings.database_url)
    fake_openai.script(server_error())
    report = await review(openai_settings, ids, model=True)
    assert report.blocking == 0
    (warning,) = [f for f in report.findings if f.code == "reviewer_unavailable"]
    assert warning.severity == "warning" and "could not review" in warning.message
    assert len(fake_openai.chat_requests()) == 1
