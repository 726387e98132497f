"""The read model as a projection of small events.

Each sync of a project's row sends only the top-level fields of its state that changed since the
run's last sync — all of them at a run's first sync (a new or continued run knows nothing of what
the store holds); of a list of objects with ids (gates, tasks) only the items that changed, with
the list's ids in order. A sequence number goes with it, increasing across runs; the store applies each
field only if no later sync has written it (`store/projection.py`), so a sync that arrives late
(retried, or overtaken by a concurrent one) never undoes a newer one.

Deterministic code only: the workflow keeps 8-byte digests of what it sent, not copies.
The store's side is store/projection.py.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from domain.project import ProjectState
from domain.records import ReadModelUpdate
from domain.sync import ITEMS, ORDER, model_ids

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=8).digest()


def sequence(now: datetime, count: int) -> int:
    """Microseconds since the epoch of the workflow's clock, then a per-run counter: later syncs
    (in this run or a continued one) always have higher numbers."""
    micros = (now - _EPOCH) // timedelta(microseconds=1)
    return micros * 1000 + count % 1000


class Projection:
    """What this run has sent to the read model, as digests: one per top-level state field, and
    one per item of a list of objects with distinct ids (gates, tasks), sent item by item."""

    def __init__(self) -> None:
        self._digests: dict[str, bytes] = {}
        self._ids: dict[str, list[str]] = {}
        self._count = 0

    def forget(self) -> None:
        """The store may have missed a sync: the next one sends every field again."""
        self._digests.clear()
        self._ids.clear()

    def update(self, state: ProjectState, now: datetime) -> ReadModelUpdate:
        # Each field (and item) is digested from its JSON as pydantic writes it: no Python copy of
        # the state is built, and only the fields that changed are dumped for the store.
        changes: dict[str, Any] = {}
        for key in type(state).model_fields:
            digest = _digest(state.model_dump_json(include={key}))
            if self._digests.get(key) == digest:
                continue
            sent_before = key in self._digests
            self._digests[key] = digest
            value = getattr(state, key)
            ids = model_ids(value)
            if ids is None:
                self._forget_items(key)
            else:
                changed = self._changed_items(key, value, ids)
                if sent_before:
                    changes[key] = {ITEMS: [item.model_dump(mode="json") for item in changed], ORDER: ids}
                    continue
            # A field's first sync in this run, or a plain value: the whole of it.
            changes[key] = state.model_dump(mode="json", include={key})[key]
        self._count += 1
        return ReadModelUpdate(
            project_id=state.project_id,
            phase=state.phase,
            status=state.status,
            pending_gates=len(state.pending_gates),
            cost_usd=state.cost.usd,
            changes=changes,
            seq=sequence(now, self._count),
        )

    def _forget_items(self, key: str, keep: list[str] | None = None) -> None:
        """Drop the digests of the items of `key` no longer in its list (all of them by default)."""
        for gone in set(self._ids.pop(key, [])) - set(keep or []):
            self._digests.pop(f"{key}/{gone}", None)

    def _changed_items(self, key: str, value: list[BaseModel], ids: list[str]) -> list[BaseModel]:
        changed = []
        for item_id, item in zip(ids, value, strict=True):
            digest = _digest(item.model_dump_json())
            if self._digests.get(f"{key}/{item_id}") != digest:
                self._digests[f"{key}/{item_id}"] = digest
                changed.append(item)
        # Items gone from the list (pruned) need no digest any more.
        self._forget_items(key, keep=ids)
        self._ids[key] = ids
        return changed
