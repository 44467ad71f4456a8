"""Rooms and their links on SQLite (:class:`~signaling.store.rooms.RoomStore`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from signaling.clock import format_ts, parse_ts
from signaling.models import LinkRecord, OutboxEvent, Role, RoomKind, RoomRecord, RoomStatus
from signaling.store.page import Page
from signaling.store.rooms import RoomFilter
from signaling.store.sqlite.database import SqliteConcept, SqliteDatabase, dt, ts
from signaling.store.sqlite.outbox import write_events

__all__ = ["SqliteRooms"]

_ROOM_COLUMNS = (
    "id, name, kind, created_at, updated_at, auto_delete_at, delete_after_use, "
    "max_participants, session_length_minutes, theme_id, metadata, config, closed, in_use, "
    "emptied_at, delete_requested_at, expires_at, version"
)


class SqliteRooms(SqliteConcept):
    async def insert_room(self, room: RoomRecord, events: Sequence[OutboxEvent] = ()) -> bool:
        try:
            async with self._db.transaction():
                await self._db.execute(
                    f"INSERT INTO rooms ({_ROOM_COLUMNS}) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    _room_row(room),
                )
                await self._db.executemany(
                    "INSERT INTO room_links (room_id, role, secret, secret_hash) "
                    "VALUES (?, ?, ?, ?)",
                    [
                        (ln.room_id, ln.role.value, ln.secret, ln.secret_hash)
                        for ln in room.links.values()
                    ],
                )
                await write_events(self._db, events)
        except sqlite3.IntegrityError:
            return False
        return True

    async def get_room(self, room_id: str) -> RoomRecord | None:
        async with self._db.snapshot():
            row = await self._db.one(f"SELECT {_ROOM_COLUMNS} FROM rooms WHERE id = ?", (room_id,))
            if row is None:
                return None
            rooms = [_room_of(row)]
            await _attach_links(self._db, rooms)
        return rooms[0]

    async def list_rooms(
        self, where: RoomFilter, limit: int, after: tuple[str, str] | None
    ) -> Page[RoomRecord]:
        clauses: list[str] = []
        params: list[Any] = []
        if where.name:
            clauses.append("instr(lower(name), lower(?)) > 0")
            params.append(where.name)
        if where.kind is not None:
            clauses.append("kind = ?")
            params.append(where.kind.value)
        if where.status is RoomStatus.CLOSED:
            clauses.append("closed = 1")
        elif where.status is RoomStatus.ACTIVE_MEETING:
            clauses.append("closed = 0 AND in_use = 1")
        elif where.status is RoomStatus.OPEN:
            clauses.append("closed = 0 AND in_use = 0")
        async with self._db.snapshot():
            page = await self._db.page(
                _room_of, "rooms", _ROOM_COLUMNS, clauses, params, limit, after
            )
            await _attach_links(self._db, page.items)
        return page

    async def update_room(self, room: RoomRecord) -> bool:
        row = _room_row(room)
        updated = await self._db.write(
            "UPDATE rooms SET name = ?, kind = ?, created_at = ?, updated_at = ?, "
            "auto_delete_at = ?, delete_after_use = ?, max_participants = ?, "
            "session_length_minutes = ?, theme_id = ?, metadata = ?, config = ?, closed = ?, "
            "in_use = ?, emptied_at = ?, delete_requested_at = ?, expires_at = ?, "
            "version = version + 1 WHERE id = ? AND version = ?",
            (*row[1:-1], room.id, room.version),
        )
        if updated == 1:
            room.version += 1
            return True
        return False

    async def delete_room(
        self, room_id: str, version: int | None = None, events: Sequence[OutboxEvent] = ()
    ) -> bool:
        async with self._db.transaction():
            if version is None:
                cursor = await self._db.execute("DELETE FROM rooms WHERE id = ?", (room_id,))
            else:
                cursor = await self._db.execute(
                    "DELETE FROM rooms WHERE id = ? AND version = ?", (room_id, version)
                )
            if cursor.rowcount == 1:
                await write_events(self._db, events)
            return cursor.rowcount == 1

    async def rooms_due(self, now: datetime, limit: int) -> list[RoomRecord]:
        async with self._db.snapshot():
            rows = await self._db.all(
                f"SELECT {_ROOM_COLUMNS} FROM rooms WHERE expires_at IS NOT NULL "
                "AND expires_at <= ? AND in_use = 0 ORDER BY expires_at LIMIT ?",
                (format_ts(now), limit),
            )
            rooms = [_room_of(row) for row in rows]
            await _attach_links(self._db, rooms)
        return rooms

    async def next_expiry(self) -> datetime | None:
        value = await self._db.scalar(
            "SELECT min(expires_at) FROM rooms WHERE expires_at IS NOT NULL AND in_use = 0"
        )
        return dt(value)

    async def rooms_in_use(self) -> list[RoomRecord]:
        async with self._db.snapshot():
            rows = await self._db.all(f"SELECT {_ROOM_COLUMNS} FROM rooms WHERE in_use = 1", ())
            rooms = [_room_of(row) for row in rows]
            await _attach_links(self._db, rooms)
        return rooms

    # -- links -----------------------------------------------------------------------------

    async def find_link(self, secret_hash: str) -> LinkRecord | None:
        row = await self._db.one(
            "SELECT room_id, role, secret, secret_hash FROM room_links WHERE secret_hash = ?",
            (secret_hash,),
        )
        return None if row is None else LinkRecord(row[0], Role(row[1]), row[2], row[3])

    async def find_retired_link(self, secret_hash: str) -> tuple[str, Role] | None:
        row = await self._db.one(
            "SELECT room_id, role FROM retired_links WHERE secret_hash = ?", (secret_hash,)
        )
        return None if row is None else (str(row[0]), Role(row[1]))

    async def replace_links(
        self, room_id: str, links: list[LinkRecord], retired_at: datetime
    ) -> bool:
        try:
            async with self._db.transaction():
                await _replace_links(self._db, room_id, links, retired_at)
        except _NoSuchRoom:
            return False
        return True


class _NoSuchRoom(Exception):
    pass


async def _replace_links(
    db: SqliteDatabase, room_id: str, links: list[LinkRecord], retired_at: datetime
) -> None:
    for link in links:
        old = await db.one(
            "SELECT secret_hash FROM room_links WHERE room_id = ? AND role = ?",
            (room_id, link.role.value),
        )
        if old is None:
            raise _NoSuchRoom
        await db.execute(
            "INSERT OR REPLACE INTO retired_links (secret_hash, room_id, role, retired_at)"
            " VALUES (?, ?, ?, ?)",
            (old[0], room_id, link.role.value, format_ts(retired_at)),
        )
        await db.execute(
            "UPDATE room_links SET secret = ?, secret_hash = ? WHERE room_id = ? AND role = ?",
            (link.secret, link.secret_hash, room_id, link.role.value),
        )


async def _attach_links(db: SqliteDatabase, rooms: list[RoomRecord]) -> None:
    if not rooms:
        return
    by_id = {room.id: room for room in rooms}
    marks = ", ".join("?" for _ in by_id)
    rows = await db.all(
        f"SELECT room_id, role, secret, secret_hash FROM room_links WHERE room_id IN ({marks})",
        list(by_id),
    )
    for room_id, role, secret, secret_hash in rows:
        link = LinkRecord(room_id, Role(role), secret, secret_hash)
        by_id[room_id].links[link.role] = link


def _room_row(room: RoomRecord) -> tuple[Any, ...]:
    return (
        room.id,
        room.name,
        room.kind.value,
        format_ts(room.created_at),
        format_ts(room.updated_at),
        ts(room.auto_delete_at),
        int(room.delete_after_use),
        room.max_participants,
        room.session_length_minutes,
        room.theme_id,
        None if room.metadata is None else json.dumps(room.metadata, separators=(",", ":")),
        json.dumps(room.config, separators=(",", ":")),
        int(room.closed),
        int(room.in_use),
        ts(room.emptied_at),
        ts(room.delete_requested_at),
        ts(room.expires_at),
        room.version,
    )


def _room_of(row: sqlite3.Row) -> RoomRecord:
    return RoomRecord(
        id=row[0],
        name=row[1],
        kind=RoomKind(row[2]),
        created_at=parse_ts(row[3]),
        updated_at=parse_ts(row[4]),
        auto_delete_at=dt(row[5]),
        delete_after_use=bool(row[6]),
        max_participants=row[7],
        session_length_minutes=row[8],
        theme_id=row[9],
        metadata=None if row[10] is None else json.loads(row[10]),
        config=json.loads(row[11]),
        closed=bool(row[12]),
        in_use=bool(row[13]),
        emptied_at=dt(row[14]),
        delete_requested_at=dt(row[15]),
        expires_at=dt(row[16]),
        version=row[17],
    )
