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
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.project import ProjectState
from domain.records import ReadModelUpdate
from domain.sync import ITEMS, ORDER, keyed

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _digest(value: Any) -> bytes:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
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
        changes: dict[str, Any] = {}
        for key, value in state.model_dump(mode="json").items():
            digest = _digest(value)
            if self._digests.get(key) == digest:
                continue
            sent_before = key in self._digests
            self._digests[key] = digest
            ids = keyed(value)
            if ids is None:
                self._forget_items(key)
            items = self._changed_items(key, value, ids) if ids is not None else None
            # A field's first sync in this run, or a plain value: the whole of it.
            changes[key] = {ITEMS: items, ORDER: ids} if sent_before and items is not None else value
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

    def _forget_items(self, key: str) -> None:
        for gone in self._ids.pop(key, []):
            self._digests.pop(f"{key}/{gone}", None)

    def _changed_items(self, key: str, value: list[dict[str, Any]], ids: list[str]) -> list[dict[str, Any]]:
        changed = []
        for item_id, item in zip(ids, value, strict=True):
            digest = _digest(item)
            if self._digests.get(f"{key}/{item_id}") != digest:
                self._digests[f"{key}/{item_id}"] = digest
                changed.append(item)
        # Items gone from the list (pruned) need no digest any more.
        for gone in set(self._ids.get(key, [])) - set(ids):
            self._digests.pop(f"{key}/{gone}", None)
        self._ids[key] = ids
        return changed
