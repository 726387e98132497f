"""The read model's projection on the store side: a sync's fields merged into the stored state,
each only if no later sync wrote it (store/projection.py, activities/store.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from activities.store import StoreActivities
from boardroom.settings import Settings
from store.db import session_scope
from store.projection import VERSIONS_KEY
from store.tables import Project
from workflows.models import Phase, ProjectState, ReadModelUpdate, Status
from workflows.projection import Projection, sequence

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def _row(settings: Settings, project_id: str) -> Project | None:
    with session_scope(settings.database_url) as session:
        return session.get(Project, project_id)


def _state(**fields: object) -> ProjectState:
    return ProjectState(project_id="p-proj", name="Mugs", goal="Sell handmade ceramic mugs online", **fields)


def test_a_run_sends_every_field_once_then_only_what_changed() -> None:
    projection = Projection()
    state = _state()
    first = projection.update(state, NOW)
    assert first.changes is not None and set(first.changes) == set(ProjectState.model_fields)
    assert first.state is None
    # Nothing changed: nothing but the row's columns goes.
    assert projection.update(state, NOW).changes == {}
    state.phase = Phase.execution
    state.steering.append("focus on gifts")
    third = projection.update(state, NOW + timedelta(seconds=1))
    assert third.changes == {"phase": "execution", "steering": ["focus on gifts"]}
    assert third.phase == Phase.execution
    # Later syncs, in this run or a continued one, have higher sequence numbers.
    assert first.seq < third.seq < sequence(NOW + timedelta(seconds=2), 1)
    # After a sync the store may have missed, everything goes again.
    projection.forget()
    assert set(projection.update(state, NOW).changes or {}) == set(ProjectState.model_fields)


def test_the_store_merges_fields_and_a_late_sync_never_undoes_a_newer_one(settings: Settings) -> None:
    store = StoreActivities(settings)
    projection = Projection()
    state = _state()
    store._sync_project(projection.update(state, NOW))
    row = _row(settings, "p-proj")
    assert row is not None and row.name == "Mugs" and row.phase == "discovery"
    assert ProjectState.model_validate(row.state) == state

    state.steering.append("first steer")
    older = projection.update(state, NOW + timedelta(seconds=1))
    state.steering.append("second steer")
    state.phase, state.status = Phase.execution, Status.running
    newer = projection.update(state, NOW + timedelta(seconds=2))
    # The newer sync lands first; the older one (a retry, say) arrives late.
    store._sync_project(newer)
    store._sync_project(older)
    row = _row(settings, "p-proj")
    assert row is not None and row.state is not None
    assert row.state["steering"] == ["first steer", "second steer"]
    assert row.phase == "execution", "the late sync's phase did not overwrite the newer one"
    # Fields no sync changed stay as the first one wrote them; readers ignore the versions.
    assert row.state["goal"] == "Sell handmade ceramic mugs online"
    assert set(row.state[VERSIONS_KEY]) >= {"steering", "phase", "_row"}
    assert ProjectState.model_validate(row.state) == state

    # The same sync twice (an activity retried after it wrote) changes nothing.
    store._sync_project(newer)
    again = _row(settings, "p-proj")
    assert again is not None and again.state == row.state


def test_a_run_from_before_the_projection_still_writes_its_whole_state(settings: Settings) -> None:
    store = StoreActivities(settings)
    state = _state(steering=["legacy"])
    store._sync_project(ReadModelUpdate(project_id="p-proj", phase=Phase.discovery, status=Status.running, state=state))
    row = _row(settings, "p-proj")
    assert row is not None and row.name == "Mugs"
    assert ProjectState.model_validate(row.state) == state
