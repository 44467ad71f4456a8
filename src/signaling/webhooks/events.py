"""Webhook events: their types and bodies.

Each body is ``{id, type, created_at, data}`` where ``data`` is the resource as the REST API
shows it. Events are built where the change happens and written to the outbox in the same
transaction (see :mod:`signaling.store.base`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from signaling.api.schemas import Attendance, PastMeeting
from signaling.clock import format_ts
from signaling.models import AttendanceRecord, MeetingRecord, OutboxEvent
from signaling.tokens import new_secret

__all__ = [
    "EMITTED",
    "EVENT_TYPES",
    "TEST_EVENT",
    "event",
    "meeting_data",
    "participant_data",
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


def meeting_data(meeting: MeetingRecord) -> PastMeeting:
    return PastMeeting.model_validate(meeting)


def participant_data(meeting_id: str, room_id: str, stay: AttendanceRecord) -> dict[str, Any]:
    return {
        "meeting_id": meeting_id,
        "room_id": room_id,
        **Attendance.model_validate(stay).model_dump(mode="json"),
    }
