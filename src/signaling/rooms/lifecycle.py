"""Room lifecycle: when a room refuses joins and when it is deleted. Sans-I/O.

Rules (DESIGN.md, from OpenVidu Meet):

- ``instant`` rooms are deleted 10 min after creation if nobody joined, and 10 min after the
  last participant leaves.
- ``long_term`` rooms live until ``auto_delete_at`` (if set); with ``delete_after_use`` they are
  also deleted 10 min after the last participant leaves.
- A delete asked for with ``with_meeting=when_meeting_ends`` expires the room at once.
- From ``expires_at`` on the room refuses joins, even if the sweeper has not run yet. An expired
  room that still has people in it is deleted as soon as it becomes empty.

Everything here takes ``now``; nothing reads a clock or touches the store.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from enum import StrEnum

from signaling.models import RoomKind, RoomRecord

__all__ = [
    "AFTER_USE_GRACE",
    "INSTANT_UNUSED_GRACE",
    "JoinRefusal",
    "expires_at",
    "is_deletable",
    "join_refusal",
    "on_participant_joined",
    "on_room_empty",
    "with_expiry",
]

#: An instant room nobody joined is deleted this long after creation.
INSTANT_UNUSED_GRACE = timedelta(minutes=10)
#: Instant rooms, and long-term rooms with ``delete_after_use``, are deleted this long after
#: the last participant leaves.
AFTER_USE_GRACE = timedelta(minutes=10)


class JoinRefusal(StrEnum):
    CLOSED = "closed"
    EXPIRED = "expired"


def expires_at(room: RoomRecord) -> datetime | None:
    """The moment from which ``room`` refuses joins, or ``None``."""
    candidates: list[datetime] = []
    if room.auto_delete_at is not None:
        candidates.append(room.auto_delete_at)
    if room.delete_requested_at is not None:
        candidates.append(room.delete_requested_at)
    if not room.in_use:
        if room.kind is RoomKind.INSTANT:
            if room.emptied_at is None:
                candidates.append(room.created_at + INSTANT_UNUSED_GRACE)
            else:
                candidates.append(room.emptied_at + AFTER_USE_GRACE)
        elif room.delete_after_use and room.emptied_at is not None:
            candidates.append(room.emptied_at + AFTER_USE_GRACE)
    return min(candidates) if candidates else None


def with_expiry(room: RoomRecord) -> RoomRecord:
    """``room`` with ``expires_at`` recomputed from its other fields."""
    return dataclasses.replace(room, expires_at=expires_at(room))


def join_refusal(room: RoomRecord, now: datetime) -> JoinRefusal | None:
    """Why ``room`` refuses a join at ``now``, or ``None`` if it admits one."""
    if room.closed:
        return JoinRefusal.CLOSED
    expiry = expires_at(room)
    if expiry is not None and expiry <= now:
        return JoinRefusal.EXPIRED
    return None


def is_deletable(room: RoomRecord, now: datetime) -> bool:
    """Whether the sweeper should delete ``room`` at ``now``."""
    expiry = expires_at(room)
    return expiry is not None and expiry <= now and not room.in_use


def on_participant_joined(room: RoomRecord, now: datetime) -> RoomRecord:
    """The room after someone joined it (idempotent while it stays occupied)."""
    del now  # occupancy does not depend on when the join happened
    return with_expiry(dataclasses.replace(room, in_use=True))


def on_room_empty(room: RoomRecord, now: datetime) -> RoomRecord:
    """The room after its last participant left."""
    return with_expiry(dataclasses.replace(room, in_use=False, emptied_at=now))
