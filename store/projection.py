"""The store's side of the read-model projection (workflows/projection.py): a sync's fields merged
into the project's state snapshot, each only if no later sync wrote it."""

from __future__ import annotations

from typing import Any

from domain.sync import ITEMS, ORDER, item_key, keyed

# In the stored state JSON: field → sequence number of the sync that wrote it (readers ignore it).
VERSIONS_KEY = "_synced"
# The row's own columns (phase, status, pending gates, cost) are versioned under this name.
ROW_KEY = "_row"


def merge_state(current: dict[str, Any] | None, changes: dict[str, Any], seq: int) -> dict[str, Any]:
    """The stored state with the fields of one sync applied, each only if no later sync wrote it;
    a list sent item by item, each item only if no later sync wrote that item."""
    merged = dict(current or {})
    versions = dict(merged.get(VERSIONS_KEY) or {})
    for key, value in changes.items():
        if isinstance(value, dict) and set(value) == {ITEMS, ORDER}:
            _merge_items(merged, versions, key, value[ITEMS], value[ORDER], seq)
            continue
        ids = keyed(value)
        if ids is not None:
            # A whole list of items (a run's first sync of it): each item by its own version, so a
            # newer item sync that came first is kept and no item of this list goes missing.
            _merge_items(merged, versions, key, value, ids, seq)
        elif versions.get(key, 0) <= seq:
            merged[key] = value
            versions[key] = seq
            _clear_items(versions, key)
    merged[VERSIONS_KEY] = versions
    return merged


def _clear_items(versions: dict[str, Any], key: str) -> None:
    """A plain value replaced the list: no order or item versions of it stand any more."""
    for stale in [k for k in versions if k.startswith(f"{key}/") or k == f"{key}#order"]:
        del versions[stale]


def _set_order(versions: dict[str, Any], key: str, ids: list[str], seq: int) -> None:
    versions[f"{key}#order"] = ids
    keep = {f"{key}/{item_id}" for item_id in ids}
    for stale in [k for k in versions if k.startswith(f"{key}/") and k not in keep]:
        del versions[stale]
    versions[key] = seq


def _merge_items(
    merged: dict[str, Any], versions: dict[str, Any], key: str, items: list[Any], order: list[str], seq: int
) -> None:
    if versions.get(key, 0) > seq and f"{key}#order" not in versions:
        return  # a later sync wrote this field as a plain value: nothing of this one stands
    current = merged.get(key)
    bodies = {item_key(v): v for v in current or [] if isinstance(v, dict) and "id" in v}
    for item in items:
        item_id = item_key(item)
        if versions.get(f"{key}/{item_id}", 0) <= seq:
            bodies[item_id] = item
            versions[f"{key}/{item_id}"] = seq
    if versions.get(key, 0) <= seq:
        _set_order(versions, key, list(order), seq)
    # The newest order known; an item whose body has not come yet (its sync is late) waits for it.
    merged[key] = [bodies[i] for i in versions[f"{key}#order"] if i in bodies]


def row_is_newer(current: dict[str, Any] | None, seq: int) -> bool:
    """A later sync already wrote the row's columns."""
    versions = (current or {}).get(VERSIONS_KEY) or {}
    return int(versions.get(ROW_KEY, 0)) > seq


def mark_row(state: dict[str, Any], seq: int) -> dict[str, Any]:
    versions = dict(state.get(VERSIONS_KEY) or {})
    versions[ROW_KEY] = seq
    return {**state, VERSIONS_KEY: versions}
