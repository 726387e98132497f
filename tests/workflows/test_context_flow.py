"""Context flows along the plan in real workflow runs: each producer receives the CEO's answers,
the offer and the deliverables of the tasks it depends on (loaded by id), while the workflow
histories carry only ids and bounded text."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.site import BUY_BUTTON, site_problems, visible_text
from boardroom.settings import Settings
from domain.enums import AutoApprove, Phase, TaskStatus
from domain.gates import GateDecision
from domain.project import Policy
from domain.work import ProduceInput
from store.db import session_scope
from store.tables import Document, Review
from tests.fakes.openai_server import RecordedRequest, Reply, chat_completion
from tests.stack import ScriptedLLM, structured_answer
from tests.workflows.helpers import (
    activity_inputs,
    approve_until,
    cancel_and_wait,
    next_gate,
    start_project,
    wait_for,
)
from workers.worker import create_worker
from workflows.project import ProjectWorkflow

MUG_ANSWERS = {
    "audience": "Café owners in Vienna",
    "price": "35 EUR per mug",
    "region": "Austria",
    "constraints": "Budget 500 EUR; no plastic packaging",
}
_TASK = re.compile(r"## Your task: .* \(id ([\w-]+), round (\d+)\)")


class TaggingLLM(ScriptedLLM):
    """Every deliverable carries a fact naming its task, so a dependent task's request shows
    whether that deliverable reached it."""

    def answer(self, request: RecordedRequest) -> Reply:
        body = structured_answer(request)
        found = _TASK.search(str(request.messages[-1]["content"]))
        if "content_markdown" in body and found:
            body["content_markdown"] = f"# {found.group(1)}\n\nFACT-{found.group(1)}-v{found.group(2)}"
        return chat_completion(body, prompt_tokens=200, completion_tokens=80)


def produce_request(llm: ScriptedLLM, task_id: str) -> str:
    for request in llm.chat_requests():
        user = str(request.messages[-1]["content"])
        if f"(id {task_id}, round 1)" in user and "## Your task" in user:
            return user
    raise AssertionError(f"no produce request for {task_id}")


async def produce_inputs(client: Client, workflow_id: str, task_id: str) -> list[tuple[ProduceInput, int]]:
    """The ProduceInput of each `produce` call for one task in the project's history, with its size."""
    return [
        (data, size)
        for data, size in await activity_inputs(client, workflow_id, "produce", ProduceInput)
        if data.task.id == task_id
    ]


async def answer_interview(handle: Any, answers: dict[str, str]) -> None:
    gate = await next_gate(handle, "interview")
    await handle.signal(
        ProjectWorkflow.decide_signal, GateDecision(gate_id=gate.id, decision="approve", answers=answers)
    )
    await wait_for(handle, lambda s: bool(s.answers), what="the answers")


async def test_a_producer_receives_its_upstream_deliverables_and_the_answers(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    with TaggingLLM(lifetime_s=300) as llm:
        openai = settings.model_copy(
            update={
                "agent_provider": "openai",
                "openai_api_key": "sk-test-context",
                "openai_base_url": llm.base_url,
                "openai_timeout_s": 10.0,
            }
        )
        async with create_worker(dev_env.client, openai, task_queue=task_queue):
            handle = await start_project(dev_env.client, task_queue, goal="Sell handmade ceramic mugs online")
            gate = await next_gate(handle, "interview")
            answers = {q.id: "" for q in gate.questions}
            answers.update({"q1": "Café owners in Vienna", "q2": "35 EUR per mug"})
            await handle.signal(
                ProjectWorkflow.decide_signal, GateDecision(gate_id=gate.id, decision="approve", answers=answers)
            )
            state = await approve_until(handle, Phase.operations)
            assert state.plan is not None and state.plan.offer is not None
            # The model said 29 USD; the CEO said 35 EUR per mug, and the CEO's word wins.
            assert state.plan.offer.price_label == "35 EUR per mug"

            with session_scope(settings.database_url) as session:
                docs = {d.task_id: d for d in session.exec(select(Document).where(Document.kind == "deliverable"))}
            positioning = docs["positioning"]
            copy = produce_request(llm, "landing-copy")
            # The dependent task got its upstream deliverable, by id, fenced as data …
            assert f'<data source="deliverable:{positioning.id} task=positioning version=1">' in copy
            assert "FACT-positioning-v1" in copy
            # … and the CEO's answers, the offer and the research, before the task itself.
            assert '<data source="ceo:answers">' in copy and "- q2: 35 EUR per mug" in copy
            assert "- q1: Café owners in Vienna" in copy
            assert "price: 35 EUR per mug (amount 35, currency EUR)" in copy
            assert '<data source="research:summary">\nA small, loyal niche.\n</data>' in copy
            assert copy.index("ceo:answers") < copy.index("## Your task")
            # A task that depends on nothing gets no upstream section, and no other task's facts.
            first = produce_request(llm, "positioning")
            assert "Deliverables this task builds on" not in first and "FACT-" not in first
            assert "- q2: 35 EUR per mug" in first

            # The workflow carried ids, not the deliverable: the input names the upstream by id.
            ((produced, size),) = await produce_inputs(dev_env.client, handle.id, "landing-copy")
            refs = [(u.task_id, u.deliverable_id) for u in produced.context.upstream]
            assert refs == [("positioning", positioning.id)]
            assert produced.context.answers["q2"] == "35 EUR per mug"
            assert "FACT-positioning" not in produced.model_dump_json()
            assert size < 8_000
            await cancel_and_wait(handle)


async def test_an_offline_mug_business_carries_the_ceos_price_to_the_site(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    async with create_worker(dev_env.client, settings, task_queue=task_queue):
        handle = await start_project(dev_env.client, task_queue, goal="Sell handmade ceramic mugs online")
        await answer_interview(handle, MUG_ANSWERS)
        state = await approve_until(handle, Phase.operations)
        assert state.plan is not None and state.plan.offer is not None
        assert state.plan.offer.price_label == "35 EUR per mug"
        assert state.research_document_id is not None
        planned = [t for t in state.tasks if not t.id.startswith("launch-")]
        assert all(t.status == TaskStatus.passed for t in planned)
        assert all(t.rounds == 1 for t in planned), [(t.id, t.rounds) for t in planned]
        assert {t.qa_method for t in planned} == {"offline-rubric"}  # the board can label the scores

        with session_scope(settings.database_url) as session:
            docs = {
                d.task_id: d
                for d in session.exec(select(Document).where(Document.project_id == state.project_id))
                if d.kind == "deliverable"
            }
            methods = {r.method for r in session.exec(select(Review).where(Review.project_id == state.project_id))}
        assert methods == {"offline-rubric"}
        site = docs["website"].files or {}
        assert site_problems(site) == []
        index = visible_text(site["index.html"])
        assert "35 EUR" in index and "per mug" in index and "Café owners in Vienna" in index
        assert BUY_BUTTON in site["index.html"]
        assert all("$" not in d.content for d in docs.values())

        ((produced, size),) = await produce_inputs(dev_env.client, handle.id, "website")
        assert [(u.task_id, u.deliverable_id) for u in produced.context.upstream] == [
            ("product-spec", docs["product-spec"].id),
            ("pricing", docs["pricing"].id),
            ("legal-terms", docs["legal-terms"].id),
        ]
        assert produced.context.research_document_id == state.research_document_id
        assert produced.context.offer is not None and produced.context.offer.price_label == "35 EUR per mug"
        assert size < 8_000
        await cancel_and_wait(handle)


async def test_a_thesis_reaches_operations_without_pricing_or_a_checkout(
    dev_env: WorkflowEnvironment, settings: Settings, task_queue: str
) -> None:
    async with create_worker(dev_env.client, settings, task_queue=task_queue):
        handle = await start_project(
            dev_env.client,
            task_queue,
            goal="Write a master's thesis on urban heat islands in Vienna",
            policy=Policy(auto_approve=AutoApprove.all),
        )
        state = await wait_for(handle, lambda s: s.phase == Phase.operations, what="operations")
        assert state.plan is not None and state.plan.kind == "research" and state.plan.offer is None
        planned = [t for t in state.tasks if not t.id.startswith("launch-")]
        assert {t.id for t in planned} == {
            "literature-review",
            "research-design",
            "project-plan",
            "data-plan",
            "thesis-outline",
        }
        assert all(t.status == TaskStatus.passed for t in planned)
        assert not {t.role for t in planned} & {"pricing-strategist", "legal-counsel", "web-developer"}
        await cancel_and_wait(handle)
