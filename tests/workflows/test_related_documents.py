"""Knowledge across projects: research and planning of a new project get the owner's earlier
projects' documents that match its goal (activity `related_documents`, at most 3, short
excerpts), build on them (in the OpenAI request, fenced as data; in the offline research) and
record which they used (the research document, the plan summary, `state.cited`). Another
owner's project gets none. Real worker, dev server, real database with its full-text index."""

from __future__ import annotations

from sqlmodel import select
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.context import RELATED_HEADING, SOURCES_HEADING
from boardroom.settings import Settings
from domain.enums import Phase
from domain.project import ProjectState
from domain.work import MAX_RELATED
from store.db import session_scope
from store.tables import Document
from tests.stack import ScriptedLLM
from tests.workflows.helpers import cancel_and_wait, decide, next_gate, wait_for
from tests.workflows.test_lessons_flow import first_deliverable, start
from workers.worker import create_worker
from workflows.project import ProjectWorkflow

Handle = WorkflowHandle[ProjectWorkflow, ProjectState]
GOAL = "Sell handmade ceramic mugs online"
LATER_GOAL = "Sell handmade ceramic bowls and mugs at weekend markets"


async def earlier_project(client: Client, task_queue: str, settings: Settings) -> tuple[str, Document]:
    """Project 1 of owner "ceo": runs until its first deliverable is stored, then ends."""
    first = await start(client, task_queue, "ceo", GOAL)
    project_id = (await first.query(ProjectWorkflow.get_state)).project_id
    doc = await first_deliverable(first, settings, project_id)
    await cancel_and_wait(first)
    return project_id, doc


async def planned(handle: Handle) -> ProjectState:
    """Answers the interview, approves the plan and waits for discovery's results."""
    await decide(handle, await next_gate(handle, "interview"))
    await decide(handle, await next_gate(handle, "plan"))
    return await wait_for(handle, lambda s: s.phase != Phase.discovery, what="discovery to end")


def research_text(settings: Settings, project_id: str) -> str:
    with session_scope(settings.database_url) as session:
        doc = session.exec(select(Document).where(Document.project_id == project_id, Document.kind == "research")).one()
        return doc.content


async def test_offline_research_and_plan_cite_the_owners_earlier_deliverables(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    client = dev_env.client
    async with create_worker(client, settings, task_queue=task_queue):
        first_id, _ = await earlier_project(client, task_queue, settings)

        second = await start(client, task_queue, "ceo", LATER_GOAL)
        state = await planned(second)
        assert 1 <= len(state.cited) <= MAX_RELATED
        assert {d.project_id for d in state.cited} == {first_id}
        assert all(d.excerpt == "" and d.title for d in state.cited), "the state keeps ids and titles only"
        research = research_text(settings, state.project_id)
        assert f"## {SOURCES_HEADING}" in research and "## What earlier projects found" in research
        for d in state.cited:
            assert d.citation() in research
            assert d.url == f"/deliverables/{d.document_id}"
        assert state.plan is not None and "Sources from earlier projects: " in state.plan.summary
        assert state.cited[0].citation() in state.plan.summary
        await cancel_and_wait(second)

        # Another owner's project does not see the first owner's work.
        other = await start(client, task_queue, "someone-else", LATER_GOAL)
        state = await planned(other)
        assert state.cited == []
        assert SOURCES_HEADING not in research_text(settings, state.project_id)
        assert state.plan is not None and "Sources from earlier projects" not in state.plan.summary
        await cancel_and_wait(other)


async def test_openai_research_and_planning_receive_the_related_documents(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    client = dev_env.client
    with ScriptedLLM(lifetime_s=300) as llm:
        openai = settings.model_copy(
            update={
                "agent_provider": "openai",
                "openai_api_key": "sk-test-related",
                "openai_base_url": llm.base_url,
                "openai_timeout_s": 10.0,
            }
        )
        async with create_worker(client, openai, task_queue=task_queue):
            first_id, _ = await earlier_project(client, task_queue, settings)
            marker = len(llm.chat_requests())

            second = await start(client, task_queue, "ceo", LATER_GOAL)
            state = await planned(second)
            await cancel_and_wait(second)
            assert state.cited and {d.project_id for d in state.cited} == {first_id}
            users = [str(r.messages[-1]["content"]) for r in llm.chat_requests()[marker:]]
            given = [u for u in users if f"## {RELATED_HEADING}" in u]
            # Research and planning (the interview comes before the lookup).
            assert len(given) == 2, [u[:80] for u in users]
            for user in given:
                for d in state.cited:
                    assert f'<data source="document:{d.document_id} project={first_id}">' in user
                    assert f"### {d.citation()}" in user
            research = research_text(settings, state.project_id)
            assert f"## {SOURCES_HEADING}" in research and state.cited[0].citation() in research
            marker = len(llm.chat_requests())

            other = await start(client, task_queue, "someone-else", LATER_GOAL)
            await planned(other)
            await cancel_and_wait(other)
            theirs = [str(r.messages[-1]["content"]) for r in llm.chat_requests()[marker:]]
            assert theirs and not any(RELATED_HEADING in u or first_id in u for u in theirs)
