"""Recordings on SQLite (:class:`~signaling.store.recordings.RecordingStore`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from signaling.clock import format_ts, parse_ts
from signaling.models import OutboxEvent, RecordingRecord, RecordingStatus
from signaling.store.page import Page
from signaling.store.sqlite.database import SqliteConcept, dt
from signaling.store.sqlite.outbox import write_events

__all__ = ["SqliteRecordings"]

_RECORDING_COLUMNS = (
    "id, room_id, room_name, meeting_id, status, layout, width, height, created_at, filename, "
    "started_at, ended_at, duration_s, size_bytes, end_reason, error, share_hash"
)


class SqliteRecordings(SqliteConcept):
    async def save_recording(
        self, recording: RecordingRecord, events: Sequence[OutboxEvent] = ()
    ) -> None:
        """Insert or replace ``recording`` (with its webhook events, atomically)."""
        async with self._db.transaction():
            await self._db.execute(
                f"INSERT OR REPLACE INTO recordings ({_RECORDING_COLUMNS}) "
                f"VALUES ({', '.join('?' for _ in _RECORDING_COLUMNS.split(','))})",
                _recording_row(recording),
            )
            await write_events(self._db, events)

    async def get_recording(self, recording_id: str) -> RecordingRecord | None:
        return await self._db.one_of(
            _recording_of,
            f"SELECT {_RECORDING_COLUMNS} FROM recordings WHERE id = ?",
            (recording_id,),
        )

    async def find_shared_recording(self, share_hash: str) -> RecordingRecord | None:
        return await self._db.one_of(
            _recording_of,
            f"SELECT {_RECORDING_COLUMNS} FROM recordings WHERE share_hash = ?",
            (share_hash,),
        )

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
        return await self._db.page(
            _recording_of, "recordings", _RECORDING_COLUMNS, clauses, params, limit, after
        )

    async def count_recordings(self, room_id: str) -> int:
        row = await self._db.one("SELECT COUNT(*) FROM recordings WHERE room_id = ?", (room_id,))
        return 0 if row is None else int(row[0])

    async def delete_recording(self, recording_id: str, events: Sequence[OutboxEvent] = ()) -> bool:
        async with self._db.transaction():
            cursor = await self._db.execute("DELETE FROM recordings WHERE id = ?", (recording_id,))
            deleted = cursor.rowcount == 1
            if deleted:
                await write_events(self._db, events)
            return deleted


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
        started_at=dt(row[10]),
        ended_at=dt(row[11]),
        duration_s=row[12],
        size_bytes=row[13],
        end_reason=row[14],
        error=row[15],
        share_hash=row[16],
    )
