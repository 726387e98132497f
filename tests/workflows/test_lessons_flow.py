"""Lessons reach later work: a revise comment on one project's plan becomes a lesson of its owner,
and the planning, producers and reviewers of the owner's later projects receive it (in the
OpenAI request, fenced as data; in the offline provider's output, shown and respected). Another
owner's project does not get it. Real worker, time-skipping server, real database."""

from __future__ import annotations

import asyncio
import uuid

from sqlmodel import col, select
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.offline import LESSONS_HEADING as OFFLINE_HEADING
from boardroom.settings import Settings
from domain.project import Policy, ProjectInput, ProjectState
from store.db import session_scope
from store.lessons import list_lessons
from store.tables import Document
from tests.stack import ScriptedLLM
from tests.waiting import eventually
from tests.workflows.helpers import WAIT_S, cancel_and_wait, decide, next_gate, pending
from workers.worker import create_worker
from workflows.ids import project_workflow_id
from workflows.project import ProjectWorkflow

COMMENT = "never promise next-day delivery"


async def start(
    client: Client, task_queue: str, owner: str, goal: str = "Sell handmade ceramic mugs online"
) -> WorkflowHandle[ProjectWorkflow, ProjectState]:
    project_id = f"p-{uuid.uuid4().hex[:10]}"
    return await client.start_workflow(
        ProjectWorkflow.run,
        ProjectInput(project_id=project_id, name="Lessons", goal=goal, owner=owner, policy=Policy()),
        id=project_workflow_id(project_id),
        task_queue=task_queue,
    )


async def teach(client: Client, task_queue: str, settings: Settings) -> str:
    """Project 1 of owner "ceo": a revise comment on its plan; returns the recorded lesson."""
    first = await start(client, task_queue, "ceo")
    await decide(first, await next_gate(first, "interview"))
    await decide(first, await next_gate(first, "plan"), "revise", COMMENT)
    lessons = await eventually(lambda: list_lessons(settings.database_url, "ceo")[0] or None, what="the lesson")
    await cancel_and_wait(first)
    assert "next-day delivery" in lessons[0].text.lower()
    return lessons[0].text


async def first_deliverable(
    handle: WorkflowHandle[ProjectWorkflow, ProjectState], settings: Settings, project_id: str
) -> Document:
    """Approves gates until the project's first deliverable is stored."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while True:
        with session_scope(settings.database_url) as session:
            doc = session.exec(
                select(Document)
                .where(Document.project_id == project_id, Document.kind == "deliverable")
                .order_by(col(Document.id))
            ).first()
        if doc is not None:
            return doc
        assert loop.time() < deadline, "no deliverable in time"
        state = await handle.query(ProjectWorkflow.get_state)
        for gate in pending(state):
            await decide(handle, gate)
        await asyncio.sleep(0.05)


async def test_offline_producer_shows_and_follows_the_owners_lessons(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    async with create_worker(dev_env.client, settings, task_queue=task_queue):
        lesson = await teach(dev_env.client, task_queue, settings)

        # The goal names what the lesson forbids (in the product name): the producer leaves it out.
        goal = 'Sell "Next-Day Delivery Mugs" online'
        second = await start(dev_env.client, task_queue, "ceo", goal)
        state = await second.query(ProjectWorkflow.get_state)
        doc = await first_deliverable(second, settings, state.project_id)
        assert OFFLINE_HEADING in doc.content and lesson in doc.content
        outside = doc.content.replace(lesson, "")
        assert "next-day delivery" not in outside.lower(), outside
        state = await second.query(ProjectWorkflow.get_state)
        assert state.plan is not None and lesson in state.plan.summary
        await cancel_and_wait(second)

        other = await start(dev_env.client, task_queue, "someone-else", goal)
        state = await other.query(ProjectWorkflow.get_state)
        doc = await first_deliverable(other, settings, state.project_id)
        assert OFFLINE_HEADING not in doc.content and lesson not in doc.content
        # Without the lesson the same goal does put it in the text: the first project left it out.
        assert "next-day delivery" in doc.content.lower()
        await cancel_and_wait(other)


async def test_openai_planner_producer_and_reviewer_receive_the_lesson_of_their_owner_only(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    # Each project has its own goal, and only the requests that carry it count as that project's:
    # a cancelled project's in-flight call may still reach the model after its cancel returned.
    second_goal, other_goal = "Sell hand-poured soy candles online", "Sell hand-bound paper notebooks online"

    def requests_of(goal: str, since: int) -> list[str]:
        return [u for u in (str(r.messages[-1]["content"]) for r in llm.chat_requests()[since:]) if goal in u]

    with ScriptedLLM(lifetime_s=300) as llm:
        openai = settings.model_copy(
            update={
                "agent_provider": "openai",
                "openai_api_key": "sk-test-lessons",
                "openai_base_url": llm.base_url,
                "openai_timeout_s": 10.0,
            }
        )
        async with create_worker(dev_env.client, openai, task_queue=task_queue):
            lesson = await teach(dev_env.client, task_queue, settings)
            before = len(llm.chat_requests())

            second = await start(dev_env.client, task_queue, "ceo", second_goal)
            state = await second.query(ProjectWorkflow.get_state)
            await first_deliverable(second, settings, state.project_id)
            await eventually(
                lambda: [u for u in requests_of(second_goal, before) if "Deliverable under review" in u] or None,
                what="a review request",
            )
            await cancel_and_wait(second)
            later = requests_of(second_goal, before)
            produce = [u for u in later if "## Your task" in u]
            review = [u for u in later if "## Deliverable under review" in u]
            plan = [u for u in later if "## Your task" not in u and "Deliverable under review" not in u]
            assert produce and review and plan
            for user in (produce[0], review[0]):
                assert "## Lessons from the CEO's earlier feedback" in user
                assert f'<data source="ceo:lessons">\n- {lesson}\n</data>' in user
            assert any(lesson in u for u in plan), "the planner got the lesson"
            marker = len(llm.chat_requests())

            other = await start(dev_env.client, task_queue, "someone-else", other_goal)
            state = await other.query(ProjectWorkflow.get_state)
            await first_deliverable(other, settings, state.project_id)
            await cancel_and_wait(other)
            theirs = requests_of(other_goal, marker)
            assert any("## Your task" in u for u in theirs)
            assert not any(lesson in u or "ceo:lessons" in u for u in theirs)
