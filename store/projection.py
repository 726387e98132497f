"""The store's side of the read-model projection (workflows/projection.py): a sync's fields merged
into the project's state snapshot, each only if no later sync wrote it."""

from __future__ import annotations

from typing import Any

# In the stored state JSON: field → sequence number of the sync that wrote it (readers ignore it).
VERSIONS_KEY = "_synced"
# The row's own columns (phase, status, pending gates, cost) are versioned under this name.
ROW_KEY = "_row"


def merge_state(current: dict[str, Any] | None, changes: dict[str, Any], seq: int) -> dict[str, Any]:
    """The stored state with the fields of one sync applied, each only if no later sync wrote it."""
    merged = dict(current or {})
    versions = dict(merged.get(VERSIONS_KEY) or {})
    for key, value in changes.items():
        if versions.get(key, 0) <= seq:
            merged[key] = value
            versions[key] = seq
    merged[VERSIONS_KEY] = versions
    return merged


def row_is_newer(current: dict[str, Any] | None, seq: int) -> bool:
    """A later sync already wrote the row's columns."""
    versions = (current or {}).get(VERSIONS_KEY) or {}
    return int(versions.get(ROW_KEY, 0)) > seq


def mark_row(state: dict[str, Any], seq: int) -> dict[str, Any]:
    versions = dict(state.get(VERSIONS_KEY) or {})
    versions[ROW_KEY] = seq
    return {**state, VERSIONS_KEY: versions}
