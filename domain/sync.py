"""The wire format of the read model's small syncs (workflows/projection.py writes it,
store/projection.py merges it): a list of objects with distinct ids goes item by item."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

# A list field sent item by item: the items that changed, and the ids of the whole list in order.
ITEMS = "$items"
ORDER = "$order"


def keyed(value: Any) -> list[str] | None:
    """The ids (as JSON) of a non-empty list of objects each with its own distinct "id"; None for
    any other value, which is sent and stored whole."""
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) and "id" in v for v in value):
        return None
    ids = [json.dumps(v["id"]) for v in value]
    return ids if len(set(ids)) == len(ids) else None


def item_key(item: dict[str, Any]) -> str:
    return json.dumps(item["id"])


def model_ids(value: Any) -> list[str] | None:
    """`keyed` for the models themselves (the workflow's side): the same ids, from the same lists."""
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, BaseModel) and hasattr(v, "id") for v in value)
    ):
        return None
    ids = [json.dumps(v.id) for v in value]  # type: ignore[attr-defined]
    return ids if len(set(ids)) == len(ids) else None
