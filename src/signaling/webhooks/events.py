"""Webhook events: their types and bodies.

Each body is ``{id, type, created_at, data}`` where ``data`` is the resource as the REST API
shows it: the builders here take domain records and represent them with the REST API's own
view functions (:mod:`signaling.api.views`), so an event and a ``GET`` of the same resource
cannot drift apart. Services call a builder where the change happens and hand the event to the
store, which writes it to the outbox in the same transaction (see :mod:`signaling.store.base`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from signaling.api.views import attendance_out, past_meeting_out, room_out
from signaling.clock import format_ts
from signaling.models import AttendanceRecord, MeetingRecord, OutboxEvent, RoomRecord
from signaling.tokens import new_secret

__all__ = [
    "EMITTED",
    "EVENT_TYPES",
    "TEST_EVENT",
    "event",
    "meeting_data",
    "participant_data",
    "room_event",
]

EVENT_TYPES = (
    "meeting.started",
    "meeting.ended",
    "participant.joined",
    "participant.left",
    "recording.started",
    "recording.updated",
    "recording.ended",
    "room.created",
    "room.deleted",
    "room.expired",
)
#: Sent as rooms and meetings change (tests/signaling/test_webhooks.py sees each); the
#: recording.* ones follow recordings (tests/signaling/test_recordings.py).
EMITTED = tuple(t for t in EVENT_TYPES if not t.startswith("recording."))
#: Sent by ``POST /webhooks/{id}/test`` to that endpoint only.
TEST_EVENT = "webhook.test"


def event(
    type_: str, room_id: str | None, data: BaseModel | dict[str, Any], now: datetime
) -> OutboxEvent:
    """A new event with a fresh, stable id (receivers deduplicate on it)."""
    event_id = "evt_" + new_secret(12)
    payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    body = json.dumps(
        {"id": event_id, "type": type_, "created_at": format_ts(now), "data": payload},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return OutboxEvent(event_id, type_, room_id, now, body)


def room_event(type_: str, room: RoomRecord, public_url: str, now: datetime) -> OutboxEvent:
    """A ``room.*`` event: the room as it is at ``now``, its links on ``public_url``."""
    return event(type_, room.id, room_out(room, public_url), now)


def meeting_data(meeting: MeetingRecord) -> BaseModel:
    """The data of a ``meeting.*`` event: the meeting as its history shows it."""
    return past_meeting_out(meeting)


def participant_data(meeting_id: str, room_id: str, stay: AttendanceRecord) -> dict[str, Any]:
    """The data of a ``participant.*`` event: the stay, and where it is."""
    return {
        "meeting_id": meeting_id,
        "room_id": room_id,
        **attendance_out(stay).model_dump(mode="json"),
    }
