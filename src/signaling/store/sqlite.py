"""The embedded store: one SQLite file in WAL mode, through aiosqlite."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from signaling.clock import format_ts, parse_ts
from signaling.models import (
    ApiKeyRecord,
    AttendanceRecord,
    DeliveryRecord,
    DeliveryStatus,
    DueDelivery,
    LinkRecord,
    MeetingRecord,
    OutboxEvent,
    RecordingRecord,
    RecordingStatus,
    Role,
    RoomKind,
    RoomRecord,
    RoomStatus,
    ThemeRecord,
    WebhookRecord,
)
from signaling.store.base import Page, RoomFilter
from signaling.store.errors import StoreError, StoreFull, StoreProblem
from signaling.store.migrations import MIGRATIONS, SCHEMA_VERSION
from signaling.tokens import new_secret

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


def _is_full(exc: sqlite3.Error) -> bool:
    code: int | None = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == sqlite3.SQLITE_FULL
    return "database or disk is full" in str(exc)


@contextlib.contextmanager
def _full_is_typed(path: Path) -> Iterator[None]:
    """A write refused for lack of disk space becomes :class:`StoreFull` (a request can
    answer that with 507); other SQLite errors are left as they are."""
    try:
        yield
    except sqlite3.Error as exc:
        if not _is_full(exc):
            raise
        raise StoreFull(
            f"the disk holding the database {path} is full; free space on it (old "
            "recordings are usually the bulk of a data dir)"
        ) from None


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
        # One connection: a write must not land inside another coroutine's transaction.
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def _snapshot(self) -> AsyncIterator[None]:
        """Reads that must agree with each other (a room and its links): one read
        transaction, so a delete by another connection cannot land between them."""
        async with self._lock:
            await self._db.execute("BEGIN")
            try:
                yield
            finally:
                await self._db.rollback()

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        async with self._lock:
            with _full_is_typed(self.path):
                await self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield
                    # A full disk may refuse the commit itself (the WAL cannot grow).
                    await self._db.commit()
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        await self._db.rollback()
                    raise

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

    async def insert_room(self, room: RoomRecord, events: Sequence[OutboxEvent] = ()) -> bool:
        try:
            async with self._transaction():
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
                await self._enqueue(events)
        except sqlite3.IntegrityError:
            return False
        return True

    async def get_room(self, room_id: str) -> RoomRecord | None:
        async with self._snapshot():
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
        async with self._snapshot():
            rows, next_after = await self._page(
                "rooms", _ROOM_COLUMNS, clauses, params, limit, after
            )
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

    async def delete_room(
        self, room_id: str, version: int | None = None, events: Sequence[OutboxEvent] = ()
    ) -> bool:
        async with self._transaction():
            if version is None:
                cursor = await self._db.execute("DELETE FROM rooms WHERE id = ?", (room_id,))
            else:
                cursor = await self._db.execute(
                    "DELETE FROM rooms WHERE id = ? AND version = ?", (room_id, version)
                )
            if cursor.rowcount == 1:
                await self._enqueue(events)
            return cursor.rowcount == 1

    async def rooms_due(self, now: datetime, limit: int) -> list[RoomRecord]:
        async with self._snapshot():
            rows = await self._all(
                f"SELECT {_ROOM_COLUMNS} FROM rooms WHERE expires_at IS NOT NULL "
                "AND expires_at <= ? AND in_use = 0 ORDER BY expires_at LIMIT ?",
                (format_ts(now), limit),
            )
            rooms = [_room_of(row) for row in rows]
            await self._attach_links(rooms)
        return rooms

    async def next_expiry(self) -> datetime | None:
        value = await _scalar(
            self._db,
            "SELECT min(expires_at) FROM rooms WHERE expires_at IS NOT NULL AND in_use = 0",
        )
        return _dt(value)

    async def rooms_in_use(self) -> list[RoomRecord]:
        async with self._snapshot():
            rows = await self._all(f"SELECT {_ROOM_COLUMNS} FROM rooms WHERE in_use = 1", ())
            rooms = [_room_of(row) for row in rows]
            await self._attach_links(rooms)
        return rooms

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
            async with self._transaction():
                await self._replace_links(room_id, links, retired_at)
        except _NoSuchRoom:
            return False
        return True

    async def _replace_links(
        self, room_id: str, links: list[LinkRecord], retired_at: datetime
    ) -> None:
        for link in links:
            old = await self._one(
                "SELECT secret_hash FROM room_links WHERE room_id = ? AND role = ?",
                (room_id, link.role.value),
            )
            if old is None:
                raise _NoSuchRoom
            await self._db.execute(
                "INSERT OR REPLACE INTO retired_links (secret_hash, room_id, role, retired_at)"
                " VALUES (?, ?, ?, ?)",
                (old[0], room_id, link.role.value, format_ts(retired_at)),
            )
            await self._db.execute(
                "UPDATE room_links SET secret = ?, secret_hash = ? WHERE room_id = ? AND role = ?",
                (link.secret, link.secret_hash, room_id, link.role.value),
            )

    # -- meeting history -------------------------------------------------------------------

    async def insert_meeting(
        self,
        meeting_id: str,
        room_id: str,
        started_at: datetime,
        events: Sequence[OutboxEvent] = (),
    ) -> None:
        async with self._transaction():
            await self._db.execute(
                "INSERT INTO meetings (id, room_id, started_at) VALUES (?, ?, ?)",
                (meeting_id, room_id, format_ts(started_at)),
            )
            await self._enqueue(events)

    async def end_meeting(
        self,
        meeting_id: str,
        ended_at: datetime,
        reason: str,
        events: Sequence[OutboxEvent] = (),
    ) -> None:
        at = format_ts(ended_at)
        async with self._transaction():
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
            await self._enqueue(events)

    async def record_join(
        self,
        meeting_id: str,
        participant_id: str,
        nickname: str,
        role: Role,
        at: datetime,
        events: Sequence[OutboxEvent] = (),
    ) -> None:
        async with self._transaction():
            await self._db.execute(
                "INSERT INTO meeting_participants (meeting_id, participant_id, nickname, role, "
                "joined_at) VALUES (?, ?, ?, ?, ?)",
                (meeting_id, participant_id, nickname, role.value, format_ts(at)),
            )
            await self._enqueue(events)

    async def record_leave(
        self,
        meeting_id: str,
        participant_id: str,
        at: datetime,
        reason: str,
        events: Sequence[OutboxEvent] = (),
    ) -> None:
        async with self._transaction():
            cursor = await self._db.execute(
                "UPDATE meeting_participants SET left_at = ?, leave_reason = ? "
                "WHERE meeting_id = ? AND participant_id = ? AND left_at IS NULL",
                (format_ts(at), reason, meeting_id, participant_id),
            )
            if cursor.rowcount:
                await self._enqueue(events)

    async def get_meeting(self, meeting_id: str) -> MeetingRecord | None:
        row = await self._one(
            "SELECT id, room_id, started_at, ended_at, end_reason FROM meetings WHERE id = ?",
            (meeting_id,),
        )
        if row is None:
            return None
        meetings = {row[0]: MeetingRecord(row[0], row[1], parse_ts(row[2]), _dt(row[3]), row[4])}
        await self._attach_stays(meetings)
        return meetings[row[0]]

    async def open_meeting_ids(self) -> list[str]:
        rows = await self._all("SELECT id FROM meetings WHERE ended_at IS NULL", ())
        return [str(row[0]) for row in rows]

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
        await self._attach_stays(meetings)
        return Page(list(meetings.values()), next_after)

    async def _attach_stays(self, meetings: dict[str, MeetingRecord]) -> None:
        if not meetings:
            return
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

    # -- recordings -------------------------------------------------------------------------

    async def save_recording(
        self, recording: RecordingRecord, events: Sequence[OutboxEvent] = ()
    ) -> None:
        """Insert or replace ``recording`` (with its webhook events, atomically)."""
        async with self._transaction():
            await self._db.execute(
                f"INSERT OR REPLACE INTO recordings ({_RECORDING_COLUMNS}) "
                f"VALUES ({', '.join('?' for _ in _RECORDING_COLUMNS.split(','))})",
                _recording_row(recording),
            )
            await self._enqueue(events)

    async def get_recording(self, recording_id: str) -> RecordingRecord | None:
        row = await self._one(
            f"SELECT {_RECORDING_COLUMNS} FROM recordings WHERE id = ?", (recording_id,)
        )
        return None if row is None else _recording_of(row)

    async def find_shared_recording(self, share_hash: str) -> RecordingRecord | None:
        row = await self._one(
            f"SELECT {_RECORDING_COLUMNS} FROM recordings WHERE share_hash = ?", (share_hash,)
        )
        return None if row is None else _recording_of(row)

    async def list_recordings(
        self,
        room_id: str | None,
        statuses: Sequence[RecordingStatus],
        limit: int,
        after: tuple[str, str] | None,
    ) -> Page[RecordingRecord]:
        clauses: list[str] = []
        params: list[Any] = []
        if room_id is not None:
            clauses.append("room_id = ?")
            params.append(room_id)
        if statuses:
            clauses.append(f"status IN ({', '.join('?' for _ in statuses)})")
            params.extend(status.value for status in statuses)
        rows, next_after = await self._page(
            "recordings", _RECORDING_COLUMNS, clauses, params, limit, after
        )
        return Page([_recording_of(row) for row in rows], next_after)

    async def count_recordings(self, room_id: str) -> int:
        row = await self._one("SELECT COUNT(*) FROM recordings WHERE room_id = ?", (room_id,))
        return 0 if row is None else int(row[0])

    async def delete_recording(self, recording_id: str, events: Sequence[OutboxEvent] = ()) -> bool:
        async with self._transaction():
            cursor = await self._db.execute("DELETE FROM recordings WHERE id = ?", (recording_id,))
            deleted = cursor.rowcount == 1
            if deleted:
                await self._enqueue(events)
            return deleted

    # -- themes -----------------------------------------------------------------------------

    async def save_theme(self, theme: ThemeRecord) -> None:
        """Insert or update ``theme`` (its logo is kept; see :meth:`set_theme_logo`)."""
        colours = json.dumps(
            [theme.primary, theme.background, theme.accent, theme.text], separators=(",", ":")
        )
        await self._write(
            "INSERT INTO themes (id, name, base, colours, brand_text, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
            "base = excluded.base, colours = excluded.colours, "
            "brand_text = excluded.brand_text, updated_at = excluded.updated_at",
            (
                theme.id,
                theme.name,
                theme.base,
                colours,
                theme.brand_text,
                format_ts(theme.created_at),
                format_ts(theme.updated_at),
            ),
        )

    async def get_theme(self, theme_id: str) -> ThemeRecord | None:
        row = await self._one(f"SELECT {_THEME_COLUMNS} FROM themes WHERE id = ?", (theme_id,))
        return None if row is None else _theme_of(row)

    async def list_themes(self, limit: int, after: tuple[str, str] | None) -> Page[ThemeRecord]:
        rows, next_after = await self._page("themes", _THEME_COLUMNS, [], [], limit, after)
        return Page([_theme_of(row) for row in rows], next_after)

    async def delete_theme(self, theme_id: str) -> bool:
        return await self._write("DELETE FROM themes WHERE id = ?", (theme_id,)) == 1

    async def set_theme_logo(self, theme_id: str, logo: bytes | None, kind: str | None) -> bool:
        return (
            await self._write(
                "UPDATE themes SET logo = ?, logo_type = ? WHERE id = ?", (logo, kind, theme_id)
            )
            == 1
        )

    async def get_theme_logo(self, theme_id: str) -> tuple[bytes, str] | None:
        row = await self._one("SELECT logo, logo_type FROM themes WHERE id = ?", (theme_id,))
        if row is None or row[0] is None:
            return None
        return bytes(row[0]), str(row[1])

    # -- revoked participant tokens -----------------------------------------------------------

    async def revoke_token(self, token_id: str, until: datetime) -> None:
        await self._write(
            "INSERT OR REPLACE INTO revoked_tokens (token_id, until) VALUES (?, ?)",
            (token_id, format_ts(until)),
        )

    async def is_token_revoked(self, token_id: str, now: datetime) -> bool:
        row = await self._one(
            "SELECT 1 FROM revoked_tokens WHERE token_id = ? AND until > ?",
            (token_id, format_ts(now)),
        )
        return row is not None

    async def prune_revoked_tokens(self, now: datetime) -> None:
        await self._write("DELETE FROM revoked_tokens WHERE until <= ?", (format_ts(now),))

    # -- webhooks ---------------------------------------------------------------------------

    async def insert_webhook(self, hook: WebhookRecord) -> None:
        await self._write(
            f"INSERT INTO webhooks ({_HOOK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            _hook_row(hook),
        )

    async def get_webhook(self, webhook_id: str) -> WebhookRecord | None:
        row = await self._one(f"SELECT {_HOOK_COLUMNS} FROM webhooks WHERE id = ?", (webhook_id,))
        return None if row is None else _hook_of(row)

    async def list_webhooks(self, limit: int, after: tuple[str, str] | None) -> Page[WebhookRecord]:
        rows, next_after = await self._page("webhooks", _HOOK_COLUMNS, [], [], limit, after)
        return Page([_hook_of(row) for row in rows], next_after)

    async def update_webhook(self, hook: WebhookRecord) -> bool:
        row = _hook_row(hook)
        return (
            await self._write(
                "UPDATE webhooks SET url = ?, events = ?, enabled = ?, secret = ?, "
                "description = ?, created_at = ?, updated_at = ? WHERE id = ?",
                (*row[1:], hook.id),
            )
            == 1
        )

    async def delete_webhook(self, webhook_id: str) -> bool:
        return await self._write("DELETE FROM webhooks WHERE id = ?", (webhook_id,)) == 1

    async def enqueue(
        self, events: Sequence[OutboxEvent], only_webhook: str | None = None
    ) -> list[str]:
        """Write ``events`` to the outbox on their own; returns the deliveries' ids."""
        async with self._transaction():
            return await self._enqueue(events, only_webhook)

    async def _enqueue(
        self, events: Sequence[OutboxEvent], only_webhook: str | None = None
    ) -> list[str]:
        """Inside a transaction: the events, and one pending delivery per endpoint that
        wants each (enabled or not: a disabled endpoint gets them once enabled again). For
        ``only_webhook`` the delivery is left to the caller (no retry time is set)."""
        if not events:
            return []
        if only_webhook is None:
            rows = await self._all(f"SELECT {_HOOK_COLUMNS} FROM webhooks", ())
        else:
            rows = await self._all(
                f"SELECT {_HOOK_COLUMNS} FROM webhooks WHERE id = ?", (only_webhook,)
            )
        hooks = [_hook_of(row) for row in rows]
        created: list[str] = []
        for event in events:
            at = format_ts(event.created_at)
            wanting = [h for h in hooks if only_webhook is not None or h.wants(event.type)]
            if not wanting:
                continue  # nobody listens: nothing to keep
            await self._db.execute(
                "INSERT INTO webhook_events (id, type, room_id, created_at, body) "
                "VALUES (?, ?, ?, ?, ?)",
                (event.id, event.type, event.room_id, at, event.body),
            )
            for hook in wanting:
                delivery_id = "dlv_" + new_secret(12)
                await self._db.execute(
                    "INSERT INTO webhook_deliveries (id, webhook_id, event_id, room_id, status, "
                    "attempts, created_at, next_attempt_at, give_up_at) "
                    "VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
                    (
                        delivery_id,
                        hook.id,
                        event.id,
                        event.room_id,
                        at,
                        None if only_webhook else at,
                        format_ts(event.created_at + DELIVERY_WINDOW),
                    ),
                )
                created.append(delivery_id)
        return created

    async def list_deliveries(
        self, webhook_id: str, limit: int, after: tuple[str, str] | None
    ) -> Page[DeliveryRecord]:
        rows, next_after = await self._page(
            "webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id",
            _DELIVERY_COLUMNS,
            ["d.webhook_id = ?"],
            [webhook_id],
            limit,
            after,
            order="d.created_at",
            id_column="d.id",
        )
        return Page([_delivery_of(row) for row in rows], next_after)

    async def get_delivery(self, webhook_id: str, delivery_id: str) -> DeliveryRecord | None:
        row = await self._one(
            f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries d "
            "JOIN webhook_events e ON e.id = d.event_id WHERE d.webhook_id = ? AND d.id = ?",
            (webhook_id, delivery_id),
        )
        return None if row is None else _delivery_of(row)

    async def due_deliveries(
        self, now: datetime, limit: int, exclude: Iterable[str] = ()
    ) -> list[DueDelivery]:
        """Pending deliveries due by ``now`` to enabled endpoints, oldest first, holding back
        any that has an earlier pending delivery of the same room to the same endpoint."""
        skip = list(exclude)
        marks = ", ".join("?" for _ in skip)
        rows = await self._all(
            f"SELECT {_DELIVERY_COLUMNS}, w.url, w.secret, e.body FROM webhook_deliveries d "
            "JOIN webhook_events e ON e.id = d.event_id "
            "JOIN webhooks w ON w.id = d.webhook_id "
            "WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND w.enabled = 1 "
            + (f"AND d.id NOT IN ({marks}) " if skip else "")
            + "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE "
            "p.webhook_id = d.webhook_id AND p.room_id = d.room_id AND p.status = 'pending' "
            "AND p.seq < d.seq) ORDER BY d.seq LIMIT ?",
            (format_ts(now), *skip, limit),
        )
        n = len(_DELIVERY_COLUMNS.split(","))
        return [DueDelivery(_delivery_of(row), row[n], row[n + 1], row[n + 2]) for row in rows]

    async def next_delivery_at(self) -> datetime | None:
        value = await _scalar(
            self._db,
            "SELECT min(d.next_attempt_at) FROM webhook_deliveries d "
            "JOIN webhooks w ON w.id = d.webhook_id WHERE d.status = 'pending' AND w.enabled = 1",
        )
        return _dt(value)

    async def prune_deliveries(self, before: datetime) -> int:
        """Forget finished deliveries (delivered or failed) created before ``before``, and
        events nobody still has to receive. Returns how many deliveries went."""
        async with self._transaction():
            cursor = await self._db.execute(
                "DELETE FROM webhook_deliveries WHERE status != 'pending' AND created_at < ?",
                (format_ts(before),),
            )
            await self._db.execute(
                "DELETE FROM webhook_events WHERE created_at < ? AND id NOT IN "
                "(SELECT event_id FROM webhook_deliveries)",
                (format_ts(before),),
            )
            return cursor.rowcount

    async def save_delivery(self, delivery: DeliveryRecord) -> None:
        """Record an attempt's outcome (or a redelivery request)."""
        await self._write(
            "UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, "
            "give_up_at = ?, last_attempt_at = ?, last_status_code = ?, last_error = ?, "
            "delivered_at = ? WHERE id = ?",
            (
                delivery.status.value,
                delivery.attempts,
                _ts(delivery.next_attempt_at),
                format_ts(delivery.give_up_at),
                _ts(delivery.last_attempt_at),
                delivery.last_status_code,
                delivery.last_error,
                _ts(delivery.delivered_at),
                delivery.id,
            ),
        )

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
        async with self._lock:
            with _full_is_typed(self.path):
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
        id_column: str = "id",
    ) -> tuple[list[sqlite3.Row], tuple[str, str] | None]:
        """One page of ``table`` newest first (keyset on ``order, id``), and the sort key to
        continue after when more rows follow. ``columns`` starts with ``id``."""
        clauses = list(clauses)
        params = list(params)
        if after is not None:
            clauses.append(f"({order} < ? OR ({order} = ? AND {id_column} < ?))")
            params.extend([after[0], after[0], after[1]])
        sql = f"SELECT {columns} FROM {table}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY {order} DESC, {id_column} DESC LIMIT ?"
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
_RECORDING_COLUMNS = (
    "id, room_id, room_name, meeting_id, status, layout, width, height, created_at, filename, "
    "started_at, ended_at, duration_s, size_bytes, end_reason, error, share_hash"
)


def _recording_row(r: RecordingRecord) -> tuple[Any, ...]:
    return (
        r.id,
        r.room_id,
        r.room_name,
        r.meeting_id,
        r.status.value,
        r.layout,
        r.width,
        r.height,
        format_ts(r.created_at),
        r.filename,
        None if r.started_at is None else format_ts(r.started_at),
        None if r.ended_at is None else format_ts(r.ended_at),
        r.duration_s,
        r.size_bytes,
        r.end_reason,
        r.error,
        r.share_hash,
    )


def _recording_of(row: sqlite3.Row) -> RecordingRecord:
    return RecordingRecord(
        id=row[0],
        room_id=row[1],
        room_name=row[2],
        meeting_id=row[3],
        status=RecordingStatus(row[4]),
        layout=row[5],
        width=row[6],
        height=row[7],
        created_at=parse_ts(row[8]),
        filename=row[9],
        started_at=_dt(row[10]),
        ended_at=_dt(row[11]),
        duration_s=row[12],
        size_bytes=row[13],
        end_reason=row[14],
        error=row[15],
        share_hash=row[16],
    )


_THEME_COLUMNS = "id, name, base, colours, brand_text, created_at, updated_at, logo_type"


def _theme_of(row: sqlite3.Row) -> ThemeRecord:
    primary, background, accent, text = json.loads(row[3])
    return ThemeRecord(
        id=row[0],
        name=row[1],
        base=row[2],
        primary=primary,
        background=background,
        accent=accent,
        text=text,
        brand_text=row[4],
        created_at=parse_ts(row[5]),
        updated_at=parse_ts(row[6]),
        logo_type=row[7],
    )


_HOOK_COLUMNS = "id, url, events, enabled, secret, description, created_at, updated_at"
_DELIVERY_COLUMNS = (
    "d.id, d.webhook_id, d.event_id, e.type, d.status, d.attempts, d.created_at, "
    "d.next_attempt_at, d.give_up_at, d.last_attempt_at, d.last_status_code, d.last_error, "
    "d.delivered_at"
)
#: How long a delivery is retried before it is marked failed.
DELIVERY_WINDOW = timedelta(hours=24)


class _NoSuchRoom(Exception):
    pass


def _hook_row(hook: WebhookRecord) -> tuple[Any, ...]:
    return (
        hook.id,
        hook.url,
        json.dumps(hook.events),
        int(hook.enabled),
        hook.secret,
        hook.description,
        format_ts(hook.created_at),
        format_ts(hook.updated_at),
    )


def _hook_of(row: sqlite3.Row) -> WebhookRecord:
    return WebhookRecord(
        id=row[0],
        url=row[1],
        events=list(json.loads(row[2])),
        enabled=bool(row[3]),
        secret=row[4],
        description=row[5],
        created_at=parse_ts(row[6]),
        updated_at=parse_ts(row[7]),
    )


def _delivery_of(row: sqlite3.Row) -> DeliveryRecord:
    return DeliveryRecord(
        id=row[0],
        webhook_id=row[1],
        event_id=row[2],
        event_type=row[3],
        status=DeliveryStatus(row[4]),
        attempts=row[5],
        created_at=parse_ts(row[6]),
        next_attempt_at=_dt(row[7]),
        give_up_at=parse_ts(row[8]),
        last_attempt_at=_dt(row[9]),
        last_status_code=row[10],
        last_error=row[11],
        delivered_at=_dt(row[12]),
    )


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
