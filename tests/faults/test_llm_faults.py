"""The LLM endpoint misbehaves in bursts (429, 500, timeouts, malformed output): the agent
activities retry until they succeed, and every activity's cost is counted once."""

from __future__ import annotations

from collections import deque

import pytest

from tests.fakes.openai_server import RecordedRequest, Reply, chat_completion, rate_limited, server_error
from tests.faults.support import (
    Fakes,
    assert_undisturbed_end_state,
    project_workflow_ids,
    retried_attempts,
    start,
)
from tests.stack import Stack, in_operations, wait_state

# A whole stack in processes (dev server, API, workers): slow under load; the guard only catches hangs.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

TIMEOUT_S = 2.0
# One entry per LLM request, in arrival order, then healthy answers. Bursts: a rate limit
# storm during discovery, then a mix while tasks run concurrently.
BURSTS = [
    "429", "429", "500", "ok",  # interview: three failed attempts, then an answer
    "timeout", "500", "malformed", "ok",  # research: two failed attempts, then a re-ask within the third
    "ok", "ok",  # plan, first produce
    "429", "timeout", "500", "malformed", "429", "ok", "malformed", "500",  # execution
]  # fmt: skip


class Bursts:
    """Hands out the planned faults; malformed output only for a first ask (a re-ask in the same
    attempt answers well), so no attempt exhausts its output retries."""

    def __init__(self, plan: list[str]) -> None:
        self.plan = deque(plan)
        self.injected: list[str] = []

    def __call__(self, request: RecordedRequest) -> Reply | None:
        if not self.plan:
            return None
        reask = len(request.messages) > 2
        if self.plan[0] == "malformed" and reask:
            return None
        kind = self.plan.popleft()
        self.injected.append(kind)
        if kind == "429":
            return rate_limited(retry_after_s=1)
        if kind == "500":
            return server_error()
        if kind == "timeout":
            reply = chat_completion("{}")
            reply.delay_s = TIMEOUT_S + 1.5
            return reply
        if kind == "malformed":
            return chat_completion("{not json at all", prompt_tokens=200, completion_tokens=80)
        return None


async def test_llm_bursts_of_errors_retry_then_succeed_and_cost_counts_once(stack: Stack, fakes: Fakes) -> None:
    fakes.llm.delay_s = 0.1
    bursts = Bursts(BURSTS)
    fakes.llm.fault = bursts
    await stack.start_worker(fakes.worker_env(openai_timeout_s=TIMEOUT_S))
    handle = await start(stack, tag="llm-bursts")
    state = await wait_state(handle, in_operations, 180, "operations despite the LLM")

    assert not bursts.plan, f"faults left unused: {list(bursts.plan)}"
    assert sorted(set(bursts.injected)) == ["429", "500", "malformed", "ok", "timeout"]
    counts = await assert_undisturbed_end_state(stack, fakes, state)
    retried = await retried_attempts(stack, await project_workflow_ids(stack, state.project_id))
    assert any(name == "interview_questions" and attempt == 4 for name, attempt in retried), retried
    assert len(retried) >= 4, retried
    # The failed attempts cost nothing twice: one usage row per activity, and the malformed answers
    # (billed tokens, re-asked within their attempt) are in the totals exactly once each.
    requests = len(fakes.llm.chat_requests())
    assert requests > counts["usage_rows"] + len(BURSTS) // 2
    assert state.cost.tokens_in == counts["usage_tokens_in"]
