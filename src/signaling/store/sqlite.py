"""The embedded store: one SQLite file in WAL mode, through aiosqlite."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from ..clock import format_ts, parse_ts
from ..models import (
    ApiKeyRecord,
    AttendanceRecord,
    LinkRecord,
    MeetingRecord,
    Role,
    RoomKind,
    RoomRecord,
    RoomStatus,
)
from .base import Page, RoomFilter
from .errors import StoreError, StoreProblem
from .migrations import MIGRATIONS, SCHEMA_VERSION

__all__ = ["SqliteStore"]

logger = logging.getLogger(__name__)

# aiosqlite logs every statement with its parameters at DEBUG, and those parameters include
# link secrets and key hashes. Secrets never reach a log, whatever level the operator picks.
logging.getLogger("aiosqlite").setLevel(logging.INFO)

_ROOM_COLUMNS = (
    "id, name, kind, created_at, updated_at, auto_delete_at, delete_after_use, "
    "max_participants, session_length_minutes, theme_id, metadata, config, closed, in_use, "
    "emptied_at, delete_requested_at, expires_at, version"
)


def _ts(value: datetime | None) -> str | None:
    return None if value is None else format_ts(value)


def _dt(value: str | None) -> datetime | None:
    return None if value is None else parse_ts(value)


def _problem_of(exc: sqlite3.Error) -> StoreProblem | None:
    code = getattr(exc, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreProblem.LOCKED
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return StoreProblem.CORRUPT
    if primary in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        return StoreProblem.READ_ONLY
    return None


def _explain(problem: StoreProblem, path: Path, exc: BaseException | None = None) -> StoreError:
    what = {
        StoreProblem.LOCKED: (
            f"the database {path} is locked by another process. Stop whatever holds it "
            "(another meetbox server, a backup tool or an sqlite3 shell in a transaction) "
            "and start again."
        ),
        StoreProblem.CORRUPT: (
            f"the database {path} is corrupt or is not an SQLite database. Restore it from a "
            "backup, or move it away to start with an empty one."
        ),
        StoreProblem.READ_ONLY: (
            f"the database {path} (or its folder) cannot be written. Give the user running "
            "meetbox write access to the file and its folder, or choose another --data-dir."
        ),
        StoreProblem.UNAVAILABLE: f"the database {path} could not be opened",
    }[problem]
    if exc is not None:
        what += f" (SQLite said: {exc})"
    return StoreError(problem, what)


class SqliteStore:
    """Implements :class:`signaling.store.base.Store` on one SQLite file."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self.path = path

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path, *, busy_timeout_ms: int = 2000) -> SqliteStore:
        """Open (creating and migrating as needed) the database at ``path``.

        Raises :class:`StoreError` when the file is locked, corrupt, read-only or from a
        newer meetbox; the message says which and what to do.
        """
        path = Path(path)
        folder = path.parent
        if not folder.exists():
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _explain(StoreProblem.READ_ONLY, path, exc) from exc
        if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise _explain(StoreProblem.READ_ONLY, path)
        try:
            # Autocommit: multi-statement writes open their own BEGIN IMMEDIATE.
            db = await aiosqlite.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None)
        except sqlite3.Error as exc:
            raise _explain(_problem_of(exc) or StoreProblem.UNAVAILABLE, path, exc) from exc
        try:
            await cls._prepare(db, path)
        except BaseException:
            await db.close()
            raise
        return cls(db, path)

    @staticmethod
    async def _prepare(db: aiosqlite.Connection, path: Path) -> None:
        try:
            await db.execute("PRAGMA foreign_keys = ON")
            mode = await _scalar(db, "PRAGMA journal_mode = WAL")
            if str(mode).lower() != "wal":
                raise _explain(StoreProblem.READ_ONLY, path)
            await db.execute("PRAGMA synchronous = NORMAL")
            check = await _scalar(db, "PRAGMA quick_check")
            if check != "ok":
                raise StoreError(
                    StoreProblem.CORRUPT,
                    f"the database {path} failed its integrity check ({check}). Restore it "
                    "from a backup, or move it away to start with an empty one.",
                )
            version = int(await _scalar(db, "PRAGMA user_version"))
            if version > SCHEMA_VERSION:
                raise StoreError(
                    StoreProblem.NEWER_SCHEMA,
                    f"the database {path} has schema version {version}, written by a newer "
                    f"meetbox; this one knows versions up to {SCHEMA_VERSION}. Upgrade "
                    "meetbox, or restore a backup taken before the upgrade.",
                )
            # A server that cannot write is no server: find out now, not on the first request.
            await db.execute("BEGIN IMMEDIATE")
            await db.rollback()
            for number, sql in MIGRATIONS:
                if number <= version:
                    continue
                logger.info("applying schema migration %d to %s", number, path)
                await db.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _statements(sql):
                        await db.execute(statement)
                    await db.execute(f"PRAGMA user_version = {number}")
                    await db.commit()
                except BaseException:
                    await db.rollback()
                    raise
        except sqlite3.Error as exc:
            raise _explain(_problem_of(exc) or StoreProblem.UNAVAILABLE, path, exc) from exc

    async def close(self) -> None:
        await self._db.close()

    async def ping(self) -> None:
        await _scalar(self._db, "SELECT 1")

    # -- settings --------------------------------------------------------------------------

    async def get_setting(self, name: str) -> str | None:
        row = await self._one("SELECT value FROM settings WHERE name = ?", (name,))
        return None if row is None else str(row[0])

    async def set_setting_if_absent(self, name: str, value: str) -> str:
        await self._write(
            "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
            (name, value),
        )
        stored = await self.get_setting(name)
        assert stored is not None
        return stored

    # -- rooms -----------------------------------------------------------------------------

    async def insert_room(self, room: RoomRecord) -> bool:
        try:
            await self._db.execute("BEGIN IMMEDIATE")
            await self._db.execute(
                f"INSERT INTO rooms ({_ROOM_COLUMNS}) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _room_row(room),
            )
            await self._db.executemany(
                "INSERT INTO room_links (room_id, role, secret, secret_hash) VALUES (?, ?, ?, ?)",
                [
                    (ln.room_id, ln.role.value, ln.secret, ln.secret_hash)
                    for ln in room.links.values()
                ],
            )
            await self._db.commit()
        except sqlite3.IntegrityError:
            await self._db.rollback()
            return False
        except BaseException:
            await self._db.rollback()
            raise
        return True

    async def get_room(self, room_id: str) -> RoomRecord | None:
        row = await self._one(f"SELECT {_ROOM_COLUMNS} FROM rooms WHERE id = ?", (room_id,))
        if row is None:
            return None
        rooms = [_room_of(row)]
        await self._attach_links(rooms)
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
        rows, next_after = await self._page("rooms", _ROOM_COLUMNS, clauses, params, limit, after)
        rooms = [_room_of(row) for row in rows]
        await self._attach_links(rooms)
        return Page(rooms, next_after)

    async def update_room(self, room: RoomRecord) -> bool:
        row = _room_row(room)
        updated = await self._write(
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

    async def delete_room(self, room_id: str, version: int | None = None) -> bool:
        if version is None:
            return await self._write("DELETE FROM rooms WHERE id = ?", (room_id,)) == 1
        return (
            await self._write("DELETE FROM rooms WHERE id = ? AND version = ?", (room_id, version))
            == 1
        )

    async def rooms_due(self, now: datetime, limit: int) -> list[RoomRecord]:
        rows = await self._all(
            f"SELECT {_ROOM_COLUMNS} FROM rooms WHERE expires_at IS NOT NULL "
            "AND expires_at <= ? AND in_use = 0 ORDER BY expires_at LIMIT ?",
            (format_ts(now), limit),
        )
        return [_room_of(row) for row in rows]

    async def next_expiry(self) -> datetime | None:
        value = await _scalar(
            self._db,
            "SELECT min(expires_at) FROM rooms WHERE expires_at IS NOT NULL AND in_use = 0",
        )
        return _dt(value)

    async def rooms_in_use(self) -> list[RoomRecord]:
        rows = await self._all(f"SELECT {_ROOM_COLUMNS} FROM rooms WHERE in_use = 1", ())
        return [_room_of(row) for row in rows]

    # -- links -----------------------------------------------------------------------------

    async def find_link(self, secret_hash: str) -> LinkRecord | None:
        row = await self._one(
            "SELECT room_id, role, secret, secret_hash FROM room_links WHERE secret_hash = ?",
            (secret_hash,),
        )
        return None if row is None else LinkRecord(row[0], Role(row[1]), row[2], row[3])

    async def find_retired_link(self, secret_hash: str) -> tuple[str, Role] | None:
        row = await self._one(
            "SELECT room_id, role FROM retired_links WHERE secret_hash = ?", (secret_hash,)
        )
        return None if row is None else (str(row[0]), Role(row[1]))

    async def replace_links(
        self, room_id: str, links: list[LinkRecord], retired_at: datetime
    ) -> bool:
        try:
            await self._db.execute("BEGIN IMMEDIATE")
            for link in links:
                old = await self._one(
                    "SELECT secret_hash FROM room_links WHERE room_id = ? AND role = ?",
                    (room_id, link.role.value),
                )
                if old is None:
                    await self._db.rollback()
                    return False
                await self._db.execute(
                    "INSERT OR REPLACE INTO retired_links (secret_hash, room_id, role, retired_at)"
                    " VALUES (?, ?, ?, ?)",
                    (old[0], room_id, link.role.value, format_ts(retired_at)),
                )
                await self._db.execute(
                    "UPDATE room_links SET secret = ?, secret_hash = ? "
                    "WHERE room_id = ? AND role = ?",
                    (link.secret, link.secret_hash, room_id, link.role.value),
                )
            await self._db.commit()
        except BaseException:
            await self._db.rollback()
            raise
        return True

    # -- meeting history -------------------------------------------------------------------

    async def insert_meeting(self, meeting_id: str, room_id: str, started_at: datetime) -> None:
        await self._write(
            "INSERT INTO meetings (id, room_id, started_at) VALUES (?, ?, ?)",
            (meeting_id, room_id, format_ts(started_at)),
        )

    async def end_meeting(self, meeting_id: str, ended_at: datetime, reason: str) -> None:
        at = format_ts(ended_at)
        await self._db.execute("BEGIN IMMEDIATE")
        try:
            await self._db.execute(
                "UPDATE meetings SET ended_at = ?, end_reason = ? "
                "WHERE id = ? AND ended_at IS NULL",
                (at, reason, meeting_id),
            )
            await self._db.execute(
                "UPDATE meeting_participants SET left_at = ?, leave_reason = ? "
                "WHERE meeting_id = ? AND left_at IS NULL",
                (at, reason, meeting_id),
            )
            await self._db.commit()
        except BaseException:
            await self._db.rollback()
            raise

    async def record_join(
        self, meeting_id: str, participant_id: str, nickname: str, role: Role, at: datetime
    ) -> None:
        await self._write(
            "INSERT INTO meeting_participants (meeting_id, participant_id, nickname, role, "
            "joined_at) VALUES (?, ?, ?, ?, ?)",
            (meeting_id, participant_id, nickname, role.value, format_ts(at)),
        )

    async def record_leave(
        self, meeting_id: str, participant_id: str, at: datetime, reason: str
    ) -> None:
        await self._write(
            "UPDATE meeting_participants SET left_at = ?, leave_reason = ? "
            "WHERE meeting_id = ? AND participant_id = ? AND left_at IS NULL",
            (format_ts(at), reason, meeting_id, participant_id),
        )

    async def list_meetings(
        self, room_id: str, limit: int, after: tuple[str, str] | None
    ) -> Page[MeetingRecord]:
        rows, next_after = await self._page(
            "meetings",
            "id, room_id, started_at, ended_at, end_reason",
            ["room_id = ?"],
            [room_id],
            limit,
            after,
            order="started_at",
        )
        meetings = {
            row[0]: MeetingRecord(row[0], row[1], parse_ts(row[2]), _dt(row[3]), row[4])
            for row in rows
        }
        if meetings:
            marks = ", ".join("?" for _ in meetings)
            stays = await self._all(
                "SELECT meeting_id, participant_id, nickname, role, joined_at, left_at, "
                f"leave_reason FROM meeting_participants WHERE meeting_id IN ({marks}) "
                "ORDER BY joined_at, rowid",
                list(meetings),
            )
            for meeting_id, pid, nickname, role, joined, left, reason in stays:
                meetings[meeting_id].participants.append(
                    AttendanceRecord(pid, nickname, Role(role), parse_ts(joined), _dt(left), reason)
                )
        return Page(list(meetings.values()), next_after)

    async def close_open_meetings(self, at: datetime, reason: str) -> int:
        open_ids = [
            str(row[0])
            for row in await self._all("SELECT id FROM meetings WHERE ended_at IS NULL", ())
        ]
        for meeting_id in open_ids:
            await self.end_meeting(meeting_id, at, reason)
        return len(open_ids)

    # -- API keys --------------------------------------------------------------------------

    async def insert_api_key(self, key: ApiKeyRecord) -> None:
        await self._write(
            "INSERT INTO api_keys (id, name, prefix, key_hash, created_at, last_used_at, "
            "revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                key.id,
                key.name,
                key.prefix,
                key.key_hash,
                format_ts(key.created_at),
                _ts(key.last_used_at),
                _ts(key.revoked_at),
            ),
        )

    async def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        row = await self._one(
            f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_hash = ?", (key_hash,)
        )
        return None if row is None else _key_of(row)

    async def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        row = await self._one(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE id = ?", (key_id,))
        return None if row is None else _key_of(row)

    async def list_api_keys(self, limit: int, after: tuple[str, str] | None) -> Page[ApiKeyRecord]:
        rows, next_after = await self._page("api_keys", _KEY_COLUMNS, [], [], limit, after)
        return Page([_key_of(row) for row in rows], next_after)

    async def revoke_api_key(self, key_id: str, now: datetime) -> bool:
        return (
            await self._write(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (format_ts(now), key_id),
            )
            == 1
        )

    async def touch_api_key(self, key_id: str, now: datetime) -> None:
        await self._write(
            "UPDATE api_keys SET last_used_at = ? WHERE id = ?", (format_ts(now), key_id)
        )

    # -- helpers ---------------------------------------------------------------------------

    async def _one(self, sql: str, params: Iterable[Any]) -> sqlite3.Row | None:
        async with self._db.execute(sql, tuple(params)) as cursor:
            return await cursor.fetchone()

    async def _all(self, sql: str, params: Iterable[Any]) -> list[sqlite3.Row]:
        async with self._db.execute(sql, tuple(params)) as cursor:
            return list(await cursor.fetchall())

    async def _write(self, sql: str, params: Iterable[Any]) -> int:
        cursor = await self._db.execute(sql, tuple(params))
        return cursor.rowcount

    async def _page(
        self,
        table: str,
        columns: str,
        clauses: list[str],
        params: list[Any],
        limit: int,
        after: tuple[str, str] | None,
        order: str = "created_at",
    ) -> tuple[list[sqlite3.Row], tuple[str, str] | None]:
        """One page of ``table`` newest first (keyset on ``order, id``), and the sort key to
        continue after when more rows follow. ``columns`` starts with ``id``."""
        clauses = list(clauses)
        params = list(params)
        if after is not None:
            clauses.append(f"({order} < ? OR ({order} = ? AND id < ?))")
            params.extend([after[0], after[0], after[1]])
        sql = f"SELECT {columns} FROM {table}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY {order} DESC, id DESC LIMIT ?"
        rows = await self._all(sql, [*params, limit + 1])
        if len(rows) <= limit:
            return rows, None
        position = [name.strip() for name in columns.split(",")].index(order)
        last = rows[limit - 1]
        return rows[:limit], (str(last[position]), str(last[0]))

    async def _attach_links(self, rooms: list[RoomRecord]) -> None:
        if not rooms:
            return
        by_id = {room.id: room for room in rooms}
        marks = ", ".join("?" for _ in by_id)
        rows = await self._all(
            f"SELECT room_id, role, secret, secret_hash FROM room_links WHERE room_id IN ({marks})",
            list(by_id),
        )
        for room_id, role, secret, secret_hash in rows:
            link = LinkRecord(room_id, Role(role), secret, secret_hash)
            by_id[room_id].links[link.role] = link


_KEY_COLUMNS = "id, name, prefix, key_hash, created_at, last_used_at, revoked_at"


def _key_of(row: sqlite3.Row) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row[0],
        name=row[1],
        prefix=row[2],
        key_hash=row[3],
        created_at=parse_ts(row[4]),
        last_used_at=_dt(row[5]),
        revoked_at=_dt(row[6]),
    )


def _room_row(room: RoomRecord) -> tuple[Any, ...]:
    return (
        room.id,
        room.name,
        room.kind.value,
        format_ts(room.created_at),
        format_ts(room.updated_at),
        _ts(room.auto_delete_at),
        int(room.delete_after_use),
        room.max_participants,
        room.session_length_minutes,
        room.theme_id,
        None if room.metadata is None else json.dumps(room.metadata, separators=(",", ":")),
        json.dumps(room.config, separators=(",", ":")),
        int(room.closed),
        int(room.in_use),
        _ts(room.emptied_at),
        _ts(room.delete_requested_at),
        _ts(room.expires_at),
        room.version,
    )


def _room_of(row: sqlite3.Row) -> RoomRecord:
    return RoomRecord(
        id=row[0],
        name=row[1],
        kind=RoomKind(row[2]),
        created_at=parse_ts(row[3]),
        updated_at=parse_ts(row[4]),
        auto_delete_at=_dt(row[5]),
        delete_after_use=bool(row[6]),
        max_participants=row[7],
        session_length_minutes=row[8],
        theme_id=row[9],
        metadata=None if row[10] is None else json.loads(row[10]),
        config=json.loads(row[11]),
        closed=bool(row[12]),
        in_use=bool(row[13]),
        emptied_at=_dt(row[14]),
        delete_requested_at=_dt(row[15]),
        expires_at=_dt(row[16]),
        version=row[17],
    )


async def _scalar(db: aiosqlite.Connection, sql: str) -> Any:
    async with db.execute(sql) as cursor:
        row = await cursor.fetchone()
    return None if row is None else row[0]


def _statements(script: str) -> list[str]:
    """Split a migration into statements (migrations hold no ``;`` inside literals)."""
    out = []
    for chunk in script.split(";"):
        lines = [ln for ln in chunk.splitlines() if not ln.strip().startswith("--")]
        text = "\n".join(lines).strip()
        if text:
            out.append(text)
    return out
