"""The wire format of the read model's small syncs (workflows/projection.py writes it,
store/projection.py merges it): a list of objects with distinct ids goes item by item."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

# A list field sent item by item: the items that changed, and the ids of the whole list in order.
ITEMS = "$items"
ORDER = "$order"


_NO_ID = object()


def _distinct_ids(value: Any, id_of: Callable[[Any], Any]) -> list[str] | None:
    """The ids (as JSON) of a non-empty list whose items each have their own distinct id; None for
    any other value, which is sent and stored whole."""
    if not isinstance(value, list) or not value:
        return None
    found = [id_of(v) for v in value]
    if any(i is _NO_ID for i in found):
        return None
    ids = [json.dumps(i) for i in found]
    return ids if len(set(ids)) == len(ids) else None


def keyed(value: Any) -> list[str] | None:
    """The ids of a list of JSON objects (the store's side)."""
    return _distinct_ids(value, lambda v: v["id"] if isinstance(v, dict) and "id" in v else _NO_ID)


def model_ids(value: Any) -> list[str] | None:
    """The same ids of the same list, from the models themselves (the workflow's side)."""
    return _distinct_ids(value, lambda v: getattr(v, "id", _NO_ID) if isinstance(v, BaseModel) else _NO_ID)


def item_key(item: dict[str, Any]) -> str:
    return json.dumps(item["id"])
