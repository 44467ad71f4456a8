"""What the meetings adapter needs from persistence: meeting history, attendance, and the
participant tokens of people who were kicked.

One meeting row per meeting of a room, one attendance row per stay (someone who drops out and
comes back after the resume window has two). Every method is one transaction; the ``events``
of a method are written in it. Writes that fail for a full disk raise
:class:`~signaling.store.errors.StoreFull` and keep nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from signaling.models import MeetingRecord, OutboxEvent, Role
from signaling.store.page import Page

__all__ = ["MeetingStore"]


class MeetingStore(Protocol):
    async def insert_meeting(
        self,
        meeting_id: str,
        room_id: str,
        started_at: datetime,
        events: Sequence[OutboxEvent] = (),
    ) -> None:
        """Start a meeting of ``room_id`` (which must exist: the backend's integrity error
        otherwise)."""

    async def end_meeting(
        self,
        meeting_id: str,
        ended_at: datetime,
        reason: str,
        events: Sequence[OutboxEvent] = (),
    ) -> None:
        """End the meeting (unless already ended) and close its open stays with ``reason``.
        ``events`` are written either way."""

    async def record_join(
        self,
        meeting_id: str,
        participant_id: str,
        nickname: str,
        role: Role,
        at: datetime,
        events: Sequence[OutboxEvent] = (),
    ) -> None:
        """Open a stay for the participant."""

    async def record_leave(
        self,
        meeting_id: str,
        participant_id: str,
        at: datetime,
        reason: str,
        events: Sequence[OutboxEvent] = (),
    ) -> None:
        """Close the participant's open stay, if any (``events`` only if there was one)."""

    async def list_meetings(
        self, room_id: str, limit: int, after: tuple[str, str] | None
    ) -> Page[MeetingRecord]:
        """A room's meetings, newest first (``started_at``, then ``id``), with their
        attendance in the order people joined."""

    async def get_meeting(self, meeting_id: str) -> MeetingRecord | None:
        """The meeting with its attendance."""

    async def open_meeting_ids(self) -> list[str]:
        """Meetings not ended (after a restart: left open by a process that is gone)."""

    async def revoke_token(self, token_id: str, until: datetime) -> None:
        """Refuse the participant token ``token_id`` until ``until`` (a later call for the
        same token replaces the time)."""

    async def is_token_revoked(self, token_id: str, now: datetime) -> bool:
        """Whether ``token_id`` is refused at ``now``."""

    async def prune_revoked_tokens(self, now: datetime) -> None:
        """Forget revocations that have run out by ``now``."""
