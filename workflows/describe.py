"""What the Temporal UI shows for a project: the summary and details given at start, and the
current details (the pending gates and how to decide one from the UI).

Pure functions of the workflow's input and state (deterministic, safe inside the sandbox). Every
text is bounded: the UI shows it in a list row (summary) and in a Markdown panel (details).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from domain.enums import GateKind
from domain.gates import GateView
from domain.project import ProjectInput, ProjectState

SUMMARY_CHARS = 200
GOAL_CHARS = 1000
GATE_SUMMARY_CHARS = 300
# Gates spelled out in the current details; more are counted, not listed.
DETAILED_GATES = 5
# The signal (and update) the Temporal UI sends to decide a gate.
DECIDE = "decide"


# Markdown that outside text (the CEO's goal, names, agents' titles and summaries) could use to
# format, link or embed in the UI; escaped, so it shows as written.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>#])")


def _clip(text: str, limit: int) -> str:
    """One line of at most `limit` characters, Markdown escaped."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return _MARKDOWN.sub(r"\\\1", flat)


def _money(usd: float) -> str:
    return f"${usd:,.2f}"


def start_summary(data: ProjectInput) -> str:
    """One line for the workflow list: name, owner, budget."""
    return _clip(f"{data.name} · owner {data.owner} · budget {_money(data.budget_usd)}", SUMMARY_CHARS)


def start_details(data: ProjectInput, console_url: str | None = None) -> str:
    """Markdown for the workflow page: the goal, who owns and approves it, the budget and policy."""
    owner = _clip(data.owner, SUMMARY_CHARS)
    approvers = (
        ", ".join(_clip(a, SUMMARY_CHARS) for a in data.policy.approvers) or f"anyone the API lets in (owner {owner})"
    )
    lines = [
        f"**Goal:** {_clip(data.goal, GOAL_CHARS)}",
        "",
        f"- **Project:** `{data.project_id}` ({_clip(data.name, SUMMARY_CHARS)})",
        f"- **Owner:** {owner}",
        f"- **Approvers:** {approvers}",
        f"- **Budget:** {_money(data.budget_usd)}",
        f"- **Auto-approve:** {data.policy.auto_approve.value}",
    ]
    if console_url:
        lines.append(f"- **Console:** {console_url}")
    return "\n".join(lines)


def decide_example(gate: GateView, approver: str) -> dict[str, Any]:
    """The `decide` payload that approves this gate, as the UI's signal input."""
    payload: dict[str, Any] = {"gate_id": gate.id, "decision": "approve", "comment": "", "approver": approver}
    if gate.kind == GateKind.interview and gate.questions:
        payload["answers"] = {q.id: "…your answer…" for q in gate.questions}
    return payload


def current_details(state: ProjectState, approvers: Sequence[str]) -> str:
    """Markdown: where the project stands, each pending gate and the exact signal to decide it."""
    cost = f"{_money(state.cost.usd)} of {_money(state.cost.budget_usd)}"
    head = f"**Phase:** {state.phase.value} · **status:** {state.status.value} · **cost:** {cost}"
    pending = state.pending_gates
    if not pending:
        return f"{head}\n\nNo decision is waiting."
    approver = approvers[0] if approvers else state.owner
    lines = [
        head,
        "",
        f"**{len(pending)} decision{'s' if len(pending) != 1 else ''} waiting.** To decide from this page: "
        f"*Send a Signal* → signal name `{DECIDE}`, input as below (`decision`: `approve`, `reject` or "
        "`revise`; a reason in `comment`).",
    ]
    for gate in pending[:DETAILED_GATES]:
        lines += [
            "",
            f"**{_clip(gate.title, SUMMARY_CHARS)}** — {gate.kind.value} gate, {gate.risk.value} risk",
        ]
        if gate.summary:
            lines.append(_clip(gate.summary, GATE_SUMMARY_CHARS))
        lines += ["```json", json.dumps(decide_example(gate, approver)), "```"]
    if len(pending) > DETAILED_GATES:
        lines += ["", f"…and {len(pending) - DETAILED_GATES} more (see the `state` query or the console)."]
    return "\n".join(lines)


def agent_summary(activity: str, arg: Any) -> str:
    """The activity summary of an agent call: what it does, for which task, in which round."""
    parts = [activity.replace("_", " ")]
    task = getattr(arg, "task", None)
    if task is not None:
        parts.append(f"task {getattr(task, 'id', '')} '{_clip(str(getattr(task, 'title', '')), 80)}'")
    round_ = getattr(arg, "round", None)
    if isinstance(round_, int) and round_ > 0:
        parts.append(f"round {round_}")
    revision = getattr(arg, "revision", None)
    if isinstance(revision, int) and revision > 0:
        parts.append(f"revision {revision}")
    review = getattr(arg, "review_number", None)
    if isinstance(review, int) and review > 0:
        parts.append(f"review {review}")
    return _clip(" · ".join(parts), SUMMARY_CHARS)
