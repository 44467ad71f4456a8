"""The store's shape: one protocol per concept, each implemented by one SQLite class, and the
classes usable alone over one shared connection."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from pathlib import Path

import pytest

from signaling.models import LinkRecord, Role, RoomKind, RoomRecord
from signaling.store import (
    AccountStore,
    MeetingStore,
    RecordingStore,
    RoomStore,
    SqliteStore,
    Store,
    StoreConnection,
    StoreError,
    StoreException,
    StoreFull,
    StoreProblem,
    ThemeStore,
    WebhookStore,
)
from signaling.store.migrations import MIGRATIONS, SCHEMA_VERSION, pending, statements
from signaling.store.sqlite import (
    SqliteAccounts,
    SqliteMeetings,
    SqliteRecordings,
    SqliteRooms,
    SqliteThemes,
    SqliteWebhooks,
    open_database,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

CONCEPTS = [
    (RoomStore, SqliteRooms),
    (MeetingStore, SqliteMeetings),
    (RecordingStore, SqliteRecordings),
    (WebhookStore, SqliteWebhooks),
    (AccountStore, SqliteAccounts),
    (ThemeStore, SqliteThemes),
]


def _methods(cls: type) -> set[str]:
    return {name for name, value in vars(cls).items() if inspect.iscoroutinefunction(value)}


@pytest.mark.parametrize(("protocol", "impl"), CONCEPTS, ids=lambda c: c.__name__)
def test_each_concept_class_implements_exactly_its_protocol(protocol: type, impl: type) -> None:
    assert _methods(impl) == _methods(protocol)
    for name in _methods(protocol):
        assert inspect.signature(getattr(impl, name)) == inspect.signature(
            getattr(protocol, name)
        ), name


def test_concepts_share_no_method_and_make_up_the_whole_store() -> None:
    seen: set[str] = set()
    for protocol, _ in CONCEPTS:
        assert not seen & _methods(protocol)
        seen |= _methods(protocol)
    everything = {name for cls in Store.__mro__ for name in _methods(cls)}
    assert everything == seen | _methods(StoreConnection)
    assert {n for n in dir(SqliteStore) if not n.startswith("_")} >= everything


async def test_concept_classes_work_alone_on_one_database(tmp_path: Path) -> None:
    database = await open_database(tmp_path / "meetbox.db")
    rooms, meetings = SqliteRooms(database), SqliteMeetings(database)
    try:
        room = RoomRecord(
            id="a",
            name="Standup",
            kind=RoomKind.LONG_TERM,
            created_at=T0,
            updated_at=T0,
            links={r: LinkRecord("a", r, f"s-{r}", f"h-{r}") for r in Role},
        )
        assert await rooms.insert_room(room)
        await meetings.insert_meeting("m1", "a", T0)
        await meetings.record_join("m1", "p1", "Ada", Role.SPEAKER, T0)
        meeting = await meetings.get_meeting("m1")
        assert meeting is not None and [p.nickname for p in meeting.participants] == ["Ada"]
        assert await rooms.delete_room("a")
        assert await meetings.get_meeting("m1") is None  # the history goes with its room
    finally:
        await database.close()


def test_pending_migrations_follow_the_version() -> None:
    assert [n for n, _ in pending(0)] == [n for n, _ in MIGRATIONS]
    assert pending(SCHEMA_VERSION) == []
    assert [n for n, _ in pending(SCHEMA_VERSION - 1)] == [SCHEMA_VERSION]


def test_statements_drop_comments_and_blanks() -> None:
    script = "-- a note\nCREATE TABLE a (x TEXT);\n\n  -- another\nCREATE INDEX b ON a (x);\n"
    assert statements(script) == ["CREATE TABLE a (x TEXT)", "CREATE INDEX b ON a (x)"]


def test_store_errors_share_one_root() -> None:
    full, error = StoreFull("disk full"), StoreError(StoreProblem.LOCKED, "locked")
    assert isinstance(full, StoreException) and isinstance(error, StoreException)
    assert (full.message, error.message, error.problem) == ("disk full", "locked", "locked")
    assert str(full) == "disk full" and str(error) == "locked"


def test_every_exported_name_exists() -> None:
    import signaling.store
    import signaling.store.sqlite

    for module in (signaling.store, signaling.store.sqlite):
        assert all(hasattr(module, name) for name in module.__all__)
