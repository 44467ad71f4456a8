"""Meeting history, attendance and revoked participant tokens on SQLite
(:class:`~signaling.store.meetings.MeetingStore`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from signaling.clock import format_ts, parse_ts
from signaling.models import AttendanceRecord, MeetingRecord, OutboxEvent, Role
from signaling.store.page import Page
from signaling.store.sqlite.database import SqliteConcept, SqliteDatabase, dt
from signaling.store.sqlite.outbox import write_events

__all__ = ["SqliteMeetings"]

_MEETING_COLUMNS = "id, room_id, started_at, ended_at, end_reason"


class SqliteMeetings(SqliteConcept):
    async def insert_meeting(
        self,
        meeting_id: str,
        room_id: str,
        started_at: datetime,
        events: Sequence[OutboxEvent] = (),
    ) -> None:
        async with self._db.transaction():
            await self._db.execute(
                "INSERT INTO meetings (id, room_id, started_at) VALUES (?, ?, ?)",
                (meeting_id, room_id, format_ts(started_at)),
            )
            await write_events(self._db, events)

    async def end_meeting(
        self,
        meeting_id: str,
        ended_at: datetime,
        reason: str,
        events: Sequence[OutboxEvent] = (),
    ) -> None:
        at = format_ts(ended_at)
        async with self._db.transaction():
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
            await write_events(self._db, events)

    async def record_join(
        self,
        meeting_id: str,
        participant_id: str,
        nickname: str,
        role: Role,
        at: datetime,
        events: Sequence[OutboxEvent] = (),
    ) -> None:
        async with self._db.transaction():
            await self._db.execute(
                "INSERT INTO meeting_participants (meeting_id, participant_id, nickname, role, "
                "joined_at) VALUES (?, ?, ?, ?, ?)",
                (meeting_id, participant_id, nickname, role.value, format_ts(at)),
            )
            await write_events(self._db, events)

    async def record_leave(
        self,
        meeting_id: str,
        participant_id: str,
        at: datetime,
        reason: str,
        events: Sequence[OutboxEvent] = (),
    ) -> None:
        async with self._db.transaction():
            cursor = await self._db.execute(
                "UPDATE meeting_participants SET left_at = ?, leave_reason = ? "
                "WHERE meeting_id = ? AND participant_id = ? AND left_at IS NULL",
                (format_ts(at), reason, meeting_id, participant_id),
            )
            if cursor.rowcount:
                await write_events(self._db, events)

    async def get_meeting(self, meeting_id: str) -> MeetingRecord | None:
        meeting = await self._db.one_of(
            _meeting_of, f"SELECT {_MEETING_COLUMNS} FROM meetings WHERE id = ?", (meeting_id,)
        )
        if meeting is not None:
            await _attach_stays(self._db, {meeting.id: meeting})
        return meeting

    async def open_meeting_ids(self) -> list[str]:
        rows = await self._db.all("SELECT id FROM meetings WHERE ended_at IS NULL", ())
        return [str(row[0]) for row in rows]

    async def list_meetings(
        self, room_id: str, limit: int, after: tuple[str, str] | None
    ) -> Page[MeetingRecord]:
        page = await self._db.page(
            _meeting_of,
            "meetings",
            _MEETING_COLUMNS,
            ["room_id = ?"],
            [room_id],
            limit,
            after,
            order="started_at",
        )
        await _attach_stays(self._db, {meeting.id: meeting for meeting in page.items})
        return page

    # -- revoked participant tokens ----------------------------------------------------------

    async def revoke_token(self, token_id: str, until: datetime) -> None:
        await self._db.write(
            "INSERT OR REPLACE INTO revoked_tokens (token_id, until) VALUES (?, ?)",
            (token_id, format_ts(until)),
        )

    async def is_token_revoked(self, token_id: str, now: datetime) -> bool:
        row = await self._db.one(
            "SELECT 1 FROM revoked_tokens WHERE token_id = ? AND until > ?",
            (token_id, format_ts(now)),
        )
        return row is not None

    async def prune_revoked_tokens(self, now: datetime) -> None:
        await self._db.write("DELETE FROM revoked_tokens WHERE until <= ?", (format_ts(now),))


async def _attach_stays(db: SqliteDatabase, meetings: dict[str, MeetingRecord]) -> None:
    if not meetings:
        return
    marks = ", ".join("?" for _ in meetings)
    stays = await db.all(
        "SELECT meeting_id, participant_id, nickname, role, joined_at, left_at, "
        f"leave_reason FROM meeting_participants WHERE meeting_id IN ({marks}) "
        "ORDER BY joined_at, rowid",
        list(meetings),
    )
    for meeting_id, pid, nickname, role, joined, left, reason in stays:
        meetings[meeting_id].participants.append(
            AttendanceRecord(pid, nickname, Role(role), parse_ts(joined), dt(left), reason)
        )


def _meeting_of(row: sqlite3.Row) -> MeetingRecord:
    return MeetingRecord(row[0], row[1], parse_ts(row[2]), dt(row[3]), row[4])
