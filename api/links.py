"""Absolute links the API hands out: status, approval pages, Temporal UI deep links."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from approvals.tokens import approval_link
from boardroom.settings import Settings


def temporal_ui_url(settings: Settings, workflow_id: str) -> str:
    base = settings.temporal_ui_url.rstrip("/")
    ns = quote(settings.temporal_namespace, safe="")
    return f"{base}/namespaces/{ns}/workflows/{quote(workflow_id, safe='')}"


def status_url(settings: Settings, project_id: str) -> str:
    return f"{settings.public_url.rstrip('/')}/projects/{quote(project_id, safe='')}"


def view_url(settings: Settings, project_id: str) -> str:
    return f"{status_url(settings, project_id)}/view"


def approve_url(settings: Settings, gate_id: str, approver: str, created_at: datetime) -> str:
    """The signed, single-use link to one gate's approval page."""
    return approval_link(settings.secret_key, settings.public_url, gate_id, approver, created_at)
