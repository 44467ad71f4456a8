"""The SQLite store on real files: migrations, persistence, and refusing bad databases."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from signaling.models import LinkRecord, Role, RoomKind, RoomRecord
from signaling.store import SqliteStore, StoreError, StoreProblem
from signaling.store.migrations import SCHEMA_VERSION
from signaling.tokens import sha256_hex

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def _make(path: Path) -> None:
    store = await SqliteStore.open(path)
    await store.close()


def _room(room_id: str) -> RoomRecord:
    return RoomRecord(
        id=room_id,
        name="Standup",
        kind=RoomKind.LONG_TERM,
        created_at=T0,
        updated_at=T0,
        metadata={"team": "core"},
        config={"chat": {"enabled": False}},
        links={
            r: LinkRecord(room_id, r, f"s-{room_id}-{r}", sha256_hex(f"s-{room_id}-{r}"))
            for r in Role
        },
    )


async def test_new_database_is_wal_and_migrated(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "meetbox.db"
    await _make(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_rooms_and_links_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "meetbox.db"
    store = await SqliteStore.open(path)
    assert await store.insert_room(_room("a"))
    assert not await store.insert_room(_room("a"))  # id taken: refused, not overwritten
    await store.close()
    store = await SqliteStore.open(path)
    room = await store.get_room("a")
    await store.close()
    assert room is not None
    assert room.metadata == {"team": "core"} and room.config == {"chat": {"enabled": False}}
    assert room.created_at == T0
    assert {r: ln.secret for r, ln in room.links.items()} == {r: f"s-a-{r}" for r in Role}


async def test_stale_version_update_is_refused(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "meetbox.db")
    await store.insert_room(_room("a"))
    first = await store.get_room("a")
    second = await store.get_room("a")
    assert first is not None and second is not None
    first.name = "first"
    assert await store.update_room(first)
    second.name = "second"
    assert not await store.update_room(second)
    assert not await store.delete_room("a", version=second.version)
    stored = await store.get_room("a")
    assert stored is not None and stored.name == "first"
    await store.close()


async def test_locked_database_refuses_to_open(tmp_path: Path) -> None:
    path = tmp_path / "meetbox.db"
    await _make(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError) as info:
            await SqliteStore.open(path, busy_timeout_ms=50)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert info.value.problem is StoreProblem.LOCKED
    assert "locked by another process" in info.value.message


async def test_garbage_file_is_reported_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "meetbox.db"
    path.write_bytes(b"this is not a database at all" * 200)
    with pytest.raises(StoreError) as info:
        await SqliteStore.open(path)
    assert info.value.problem is StoreProblem.CORRUPT
    assert "backup" in info.value.message
    assert path.read_bytes().startswith(b"this is not")  # left untouched


async def test_damaged_pages_are_reported_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "meetbox.db"
    store = await SqliteStore.open(path)
    for i in range(50):
        await store.insert_room(_room(f"room-{i}"))
    await store.close()
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    for offset in range(page * 2, page * 4):  # wreck two pages past the header
        data[offset] = 0xA5
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError) as info:
        await SqliteStore.open(path)
    assert info.value.problem is StoreProblem.CORRUPT


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "meetbox.db"
    await _make(path)
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 3}")
    with pytest.raises(StoreError) as info:
        await SqliteStore.open(path)
    assert info.value.problem is StoreProblem.NEWER_SCHEMA
    assert f"schema version {SCHEMA_VERSION + 3}" in info.value.message
    assert "Upgrade meetbox" in info.value.message
