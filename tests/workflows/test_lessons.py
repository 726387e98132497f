"""Lessons from the CEO's feedback, on a real worker: a revise or reject comment becomes a lesson of
the project's owner (once per gate); approvals, empty comments and policy decisions teach nothing."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from boardroom.settings import Settings
from store.lessons import list_lessons
from tests.waiting import eventually
from tests.workflows.helpers import cancel_and_wait, decide, next_gate, start_project
from workers.worker import create_worker


async def test_revise_and_reject_comments_become_lessons_of_the_owner(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    async with create_worker(dev_env.client, settings, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue)
        await decide(handle, await next_gate(handle, "interview"), comment="never promise next-day delivery please")
        await decide(
            handle, await next_gate(handle, "plan"), "revise", comment="never promise next-day delivery please"
        )
        await decide(handle, await next_gate(handle, "plan"), "reject", comment="ok")

        def lessons() -> list[str] | None:
            found, _ = list_lessons(settings.database_url, "ceo")
            return [lesson.text for lesson in found] or None

        texts = await eventually(lessons, "the lesson from the revise comment")
        assert texts == ["Never promise next-day delivery."], texts
        # An approval's comment and an "ok" rejection teach nothing; the record stays one per gate.
        await cancel_and_wait(handle)
        assert lessons() == ["Never promise next-day delivery."]
