"""What the recordings service needs from persistence: the recordings' rows.

A recording's row outlives its room (no cascade: its file is still on disk). Every method is
one transaction; the ``events`` of a method are written in it. Writes that fail for a full
disk raise :class:`~signaling.store.errors.StoreFull` and keep nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from signaling.models import OutboxEvent, RecordingRecord, RecordingStatus
from signaling.store.page import Page

__all__ = ["RecordingStore"]


class RecordingStore(Protocol):
    async def save_recording(
        self, recording: RecordingRecord, events: Sequence[OutboxEvent] = ()
    ) -> None:
        """Insert or replace ``recording`` (by id), with ``events``."""

    async def get_recording(self, recording_id: str) -> RecordingRecord | None: ...

    async def find_shared_recording(self, share_hash: str) -> RecordingRecord | None:
        """The recording whose share link has this secret hash."""

    async def list_recordings(
        self,
        room_id: str | None,
        statuses: Sequence[RecordingStatus],
        limit: int,
        after: tuple[str, str] | None,
    ) -> Page[RecordingRecord]:
        """Newest first (``created_at``, then ``id``), of one room or of all; every status
        when ``statuses`` is empty."""

    async def count_recordings(self, room_id: str) -> int:
        """How many recordings the room has, whatever their status."""

    async def delete_recording(self, recording_id: str, events: Sequence[OutboxEvent] = ()) -> bool:
        """``True`` if this call deleted the row, and only then are ``events`` written."""
