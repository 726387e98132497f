"""The read model's projection on the store side: a sync's fields merged into the stored state,
each only if no later sync wrote it (store/projection.py, activities/store.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from activities.store import StoreActivities
from boardroom.settings import Settings
from domain.enums import Channel, GateKind, GateStatus, Phase, Status
from domain.gates import GateView
from domain.project import ProjectState
from domain.records import DecisionRecord, GateRecord, ReadModelUpdate
from store.db import session_scope
from store.projection import VERSIONS_KEY
from store.tables import Decision, Gate, Project
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


def test_the_store_merges_fields_and_a_late_sync_never_undoes_a_newer_one(settings: Settings, any_db_url: str) -> None:
    settings = settings.model_copy(update={"database_url": any_db_url})
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


def test_reads_of_a_project_column_leave_its_state_snapshot_unloaded(settings: Settings) -> None:
    """Every produce and review call reads the owner (lessons) and the budget (spend): neither
    loads the state snapshot, tens of KB of JSON for a live project; nor does the project list."""
    from sqlalchemy import event

    from activities.context import lessons_for
    from activities.usage import project_spend
    from api.readmodel import list_projects
    from store.db import get_engine

    store = StoreActivities(settings)
    store._sync_project(Projection().update(_state(steering=["x" * 5000]), NOW))
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    engine = get_engine(settings.database_url)
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert lessons_for(settings.database_url, "p-proj", "a landing page") == []
        assert lessons_for(settings.database_url, "p-missing", "a landing page") == []
        assert project_spend(settings.database_url, "p-proj")[1] == 0.0
        with session_scope(settings.database_url) as session:
            rows, total, _ = list_projects(session, with_state=False)
            assert total == 1 and rows[0].name == "Mugs"
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    project_reads = [s for s in statements if "FROM project" in s]
    assert len(project_reads) >= 4
    assert not [s for s in project_reads if "project.state" in s], project_reads


def _gate(gate_id: str, title: str = "Approve", **fields: object) -> GateView:
    return GateView(id=gate_id, kind=GateKind.plan, title=title, created_at=NOW, **fields)  # type: ignore[arg-type]


def test_a_list_of_objects_with_ids_goes_item_by_item() -> None:
    projection = Projection()
    state = _state(gates=[_gate("g1"), _gate("g2")])
    projection.update(state, NOW)
    state.gates[1].status = GateStatus.approved
    state.gates.append(_gate("g3"))
    update = projection.update(state, NOW + timedelta(seconds=1))
    assert update.changes is not None
    sent = update.changes["gates"]
    assert [g["id"] for g in sent["$items"]] == ["g2", "g3"], "g1 did not change and is not sent"
    assert sent["$order"] == ['"g1"', '"g2"', '"g3"']
    # Lists without ids (steering notes) still go whole.
    state.steering.append("note")
    assert projection.update(state, NOW + timedelta(seconds=2)).changes == {"steering": ["note"]}


def test_items_merge_in_order_and_a_late_item_sync_fills_in_without_undoing_newer_items(
    settings: Settings,
) -> None:
    store = StoreActivities(settings)
    projection = Projection()
    state = _state(gates=[_gate("g1"), _gate("g2")])
    store._sync_project(projection.update(state, NOW))

    state.gates.insert(1, _gate("g-new", title="Added between"))  # introduced by the older sync
    state.gates[0].title = "Approve (first version)"
    older = projection.update(state, NOW + timedelta(seconds=1))
    state.gates[0].title = "Approve (second version)"
    state.gates[2].status = GateStatus.rejected
    newer = projection.update(state, NOW + timedelta(seconds=2))
    assert newer.changes is not None and [g["id"] for g in newer.changes["gates"]["$items"]] == ["g1", "g2"]

    store._sync_project(newer)
    row = _row(settings, "p-proj")
    assert row is not None and row.state is not None
    # g-new's body has not come yet: the list holds what it knows, in the newest order.
    assert [g["id"] for g in row.state["gates"]] == ["g1", "g2"]
    store._sync_project(older)
    row = _row(settings, "p-proj")
    assert row is not None and row.state is not None
    assert ProjectState.model_validate(row.state).gates == state.gates
    assert row.state["gates"][0]["title"] == "Approve (second version)", "the late sync's older title lost"

    # A gate pruned from the state leaves the stored list too.
    state.gates.pop(0)
    store._sync_project(projection.update(state, NOW + timedelta(seconds=3)))
    row = _row(settings, "p-proj")
    assert row is not None and row.state is not None
    assert ProjectState.model_validate(row.state).gates == state.gates
    assert not [k for k in row.state[VERSIONS_KEY] if k.startswith('gates/"g1"')]


def test_a_late_whole_list_keeps_the_newer_items_and_loses_none(settings: Settings) -> None:
    """A run's first sync sends its lists whole; if a newer item sync lands first, both count."""
    from store.projection import merge_state

    projection = Projection()
    state = _state(gates=[_gate("g1"), _gate("g2")])
    whole = projection.update(state, NOW)
    state.gates[1].status = GateStatus.approved
    newer = projection.update(state, NOW + timedelta(seconds=1))
    assert whole.changes is not None and newer.changes is not None
    merged = merge_state(None, newer.changes, newer.seq)
    merged = merge_state(merged, whole.changes, whole.seq)
    assert ProjectState.model_validate(merged).gates == state.gates


def test_a_late_item_sync_does_not_bring_back_a_list_a_newer_sync_emptied() -> None:
    from store.projection import merge_state

    merged = merge_state(None, {"gates": [_gate("g1").model_dump(mode="json")]}, 1)
    merged = merge_state(merged, {"gates": []}, 3)
    late = {"gates": {"$items": [_gate("g2").model_dump(mode="json")], "$order": ['"g1"', '"g2"']}}
    assert merge_state(merged, late, 2)["gates"] == []


def test_two_syncs_of_one_project_at_once_merge_one_after_the_other(settings: Settings, any_db_url: str) -> None:
    """The second waits for the first's row lock and merges onto what it wrote: nothing is lost
    (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)."""
    settings = settings.model_copy(update={"database_url": any_db_url})
    import threading

    from sqlalchemy import update
    from sqlmodel import Session, col

    from store.db import get_engine
    from store.projection import merge_state

    store = StoreActivities(settings)
    projection = Projection()
    state = _state()
    store._sync_project(projection.update(state, NOW))
    state.notes.append("from the second sync")
    second = projection.update(state, NOW + timedelta(seconds=2))

    with Session(get_engine(settings.database_url)) as first:
        # The first sync holds the row (as _sync_project does) while the second one starts.
        first.execute(update(Project).where(col(Project.id) == "p-proj").values(updated_at=Project.updated_at))
        other = threading.Thread(target=store._sync_project, args=(second,))
        other.start()
        other.join(0.5)
        assert other.is_alive(), "the second sync waits for the row"
        row = first.get(Project, "p-proj")
        assert row is not None
        row.state = merge_state(row.state, {"steering": ["from the first sync"]}, second.seq - 1)
        first.add(row)
        first.commit()
    other.join(30)
    assert not other.is_alive()
    stored = _row(settings, "p-proj")
    assert stored is not None and stored.state is not None
    assert stored.state["steering"] == ["from the first sync"]
    assert stored.state["notes"] == ["from the second sync"]


async def test_a_gate_and_a_decision_write_apply_the_sync_they_carry(settings: Settings, any_db_url: str) -> None:
    """`open_gate` and `record_decision` carry the read model's sync due with them
    (PATCH_STORE_SYNCS): the gate row or audit entry, then the project's row, in one activity."""
    settings = settings.model_copy(update={"database_url": any_db_url})
    store = StoreActivities(settings)
    projection = Projection()
    state = _state()
    store._sync_project(projection.update(state, NOW))
    gate = GateView(id="p-proj-g1", key="interview", kind=GateKind.interview, title="Questions", created_at=NOW)
    state.gates.append(gate)
    state.status = Status.waiting_approval
    opened = GateRecord(
        project_id="p-proj",
        project_workflow_id="project-p-proj",
        gate=gate,
        sync=projection.update(state, NOW + timedelta(seconds=1)),
    )
    await store.open_gate(opened)
    row = _row(settings, "p-proj")
    assert row is not None and row.status == "waiting_approval" and row.pending_gates == 1
    assert [g["id"] for g in (row.state or {})["gates"]] == ["p-proj-g1"]

    gate.status, gate.decision, gate.decided_by = GateStatus.approved, "approve", "alice"
    state.status = Status.running
    decided = DecisionRecord(
        project_id="p-proj",
        gate_id=gate.id,
        decision="approve",
        approver="alice",
        channel=Channel.api,
        decided_at=NOW + timedelta(seconds=2),
        sync=projection.update(state, NOW + timedelta(seconds=2)),
    )
    await store.record_decision(decided)
    row = _row(settings, "p-proj")
    assert row is not None and row.status == "running" and row.pending_gates == 0
    assert ProjectState.model_validate({k: v for k, v in (row.state or {}).items() if k != VERSIONS_KEY}) == state
    with session_scope(settings.database_url) as session:
        audit = session.exec(select(Decision).where(Decision.gate_id == gate.id)).one()
        stored_gate = session.get(Gate, gate.id)
    assert audit.approver == "alice" and stored_gate is not None and stored_gate.status == "approved"
