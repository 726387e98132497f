"""Workflow ids derived from business keys (pure functions; safe inside workflows)."""

from __future__ import annotations

PROJECT_PREFIX = "project-"


def project_workflow_id(project_id: str) -> str:
    return f"{PROJECT_PREFIX}{project_id}"


def project_id_from_workflow_id(workflow_id: str) -> str | None:
    base = workflow_id.split("/", 1)[0]
    return base[len(PROJECT_PREFIX) :] if base.startswith(PROJECT_PREFIX) else None


def gate_id(project_id: str, seq: int) -> str:
    return f"{project_id}-g{seq}"


def project_id_from_gate_id(gate: str) -> str | None:
    head, sep, tail = gate.rpartition("-g")
    return head if sep and head and tail.isdigit() else None
