"""A meeting's history in the store, with the webhook events each change puts in the outbox
(in the same transaction): started, a participant joined or left, ended."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from datetime import datetime

from signaling.models import AttendanceRecord, MeetingRecord
from signaling.store import MeetingStore, StoreFull
from signaling.webhooks.events import event, meeting_data, participant_data

__all__ = ["MeetingHistory", "kept_going"]

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def kept_going(meeting_id: str) -> Iterator[None]:
    """A leave or an end that history (or the room's state) cannot record, the disk being
    full, still happens: the people in the meeting are told, and the next start closes what
    history left open."""
    try:
        yield
    except StoreFull as exc:
        logger.warning("meeting %s: history not updated: %s", meeting_id, exc.message)


class MeetingHistory:
    def __init__(self, store: MeetingStore, outbox_written: Callable[[], None]) -> None:
        self._store = store
        #: Called after webhook events were written to the outbox (wakes the deliverer).
        self.outbox_written = outbox_written

    async def started(self, meeting_id: str, room_id: str, now: datetime) -> None:
        record = MeetingRecord(meeting_id, room_id, now)
        started = event("meeting.started", room_id, meeting_data(record), now)
        await self._store.insert_meeting(meeting_id, room_id, now, [started])
        self.outbox_written()

    async def joined(self, meeting_id: str, room_id: str, stay: AttendanceRecord) -> None:
        data = participant_data(meeting_id, room_id, stay)
        joined = event("participant.joined", room_id, data, stay.joined_at)
        with kept_going(meeting_id):
            await self._store.record_join(
                meeting_id,
                stay.participant_id,
                stay.nickname,
                stay.role,
                stay.joined_at,
                [joined],
            )
            self.outbox_written()

    async def left(
        self,
        meeting_id: str,
        room_id: str,
        participant_id: str,
        reason: str,
        stay: AttendanceRecord | None,
        now: datetime,
    ) -> None:
        events = (
            []
            if stay is None
            else [
                event("participant.left", room_id, participant_data(meeting_id, room_id, stay), now)
            ]
        )
        with kept_going(meeting_id):
            await self._store.record_leave(meeting_id, participant_id, now, reason, events)
            self.outbox_written()

    async def ended(self, meeting_id: str, now: datetime, reason: str) -> None:
        """Record the end, with ``participant.left`` for whoever was still in and
        ``meeting.ended`` (with the whole attendance) for the webhooks."""
        with kept_going(meeting_id):
            await self._end(meeting_id, now, reason)

    async def _end(self, meeting_id: str, now: datetime, reason: str) -> None:
        meeting = await self._store.get_meeting(meeting_id)
        if meeting is None or meeting.ended_at is not None:
            return
        events = []
        for stay in meeting.participants:
            if stay.left_at is None:
                stay.left_at, stay.leave_reason = now, reason
                data = participant_data(meeting.id, meeting.room_id, stay)
                events.append(event("participant.left", meeting.room_id, data, now))
        meeting.ended_at, meeting.end_reason = now, reason
        events.append(event("meeting.ended", meeting.room_id, meeting_data(meeting), now))
        await self._store.end_meeting(meeting_id, now, reason, events)
        self.outbox_written()

    async def close_leftovers(self, now: datetime, reason: str) -> int:
        """End meetings a previous process left open (it is gone, and they with it)."""
        ids = await self._store.open_meeting_ids()
        for meeting_id in ids:
            await self._end(meeting_id, now, reason)
        return len(ids)
