"""Domain records and enums shared by the store, the services and the HTTP edge."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "ApiKeyRecord",
    "AttendanceRecord",
    "DeliveryRecord",
    "DeliveryStatus",
    "DueDelivery",
    "LinkRecord",
    "MeetingRecord",
    "OutboxEvent",
    "RecordingRecord",
    "RecordingStatus",
    "Role",
    "RoomKind",
    "RoomRecord",
    "RoomStatus",
    "ThemeRecord",
    "WebhookRecord",
]


class RoomKind(StrEnum):
    LONG_TERM = "long_term"
    INSTANT = "instant"


class RoomStatus(StrEnum):
    OPEN = "open"
    ACTIVE_MEETING = "active_meeting"
    CLOSED = "closed"


class Role(StrEnum):
    MODERATOR = "moderator"
    SPEAKER = "speaker"
    RECORDINGS = "recordings"


@dataclass(slots=True)
class LinkRecord:
    room_id: str
    role: Role
    #: The secret itself: it is shown to integrators in the room's links, so it is kept.
    secret: str
    #: sha256 of the secret, hex: what ``POST /join`` looks it up by.
    secret_hash: str


@dataclass(slots=True)
class RoomRecord:
    id: str
    name: str
    kind: RoomKind
    created_at: datetime
    updated_at: datetime
    auto_delete_at: datetime | None = None
    delete_after_use: bool = False
    max_participants: int | None = None
    session_length_minutes: int | None = None
    theme_id: str | None = None
    metadata: dict[str, Any] | None = None
    #: The validated room config, as JSON (see ``signaling.api.schemas.RoomConfig``).
    config: dict[str, Any] = field(default_factory=dict)
    #: Set by the owner: a closed room refuses joins.
    closed: bool = False
    #: Someone is in the room (set by the meeting layer through the lifecycle hooks).
    in_use: bool = False
    #: When the room last became empty; ``None`` if nobody ever joined.
    emptied_at: datetime | None = None
    #: A delete with ``with_meeting=when_meeting_ends`` was asked for at this time.
    delete_requested_at: datetime | None = None
    #: Derived by the lifecycle engine: from this moment the room refuses joins, and it is
    #: deleted as soon as it is also empty. ``None``: no expiry.
    expires_at: datetime | None = None
    #: Optimistic concurrency: every update bumps it.
    version: int = 0
    links: dict[Role, LinkRecord] = field(default_factory=dict)

    @property
    def status(self) -> RoomStatus:
        if self.closed:
            return RoomStatus.CLOSED
        if self.in_use:
            return RoomStatus.ACTIVE_MEETING
        return RoomStatus.OPEN


@dataclass(slots=True)
class AttendanceRecord:
    """One stay of one participant in a meeting."""

    participant_id: str
    nickname: str
    role: Role
    joined_at: datetime
    left_at: datetime | None = None
    leave_reason: str | None = None


@dataclass(slots=True)
class MeetingRecord:
    id: str
    room_id: str
    started_at: datetime
    ended_at: datetime | None = None
    end_reason: str | None = None
    participants: list[AttendanceRecord] = field(default_factory=list)


@dataclass(slots=True)
class ApiKeyRecord:
    id: str
    name: str
    #: The first characters of the key, shown so people can tell keys apart.
    prefix: str
    key_hash: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """A webhook event, written to the outbox with the change that caused it."""

    id: str
    type: str
    #: Deliveries of events of one room to one endpoint go out in order; None: no order.
    room_id: str | None
    created_at: datetime
    #: The exact JSON body every endpoint receives: ``{id, type, created_at, data}``.
    body: str


@dataclass(slots=True)
class WebhookRecord:
    id: str
    url: str
    #: Event types sent to this endpoint; empty means all.
    events: list[str]
    enabled: bool
    #: Signs the bodies (HMAC-SHA256); shown to the owner once, at creation and rotation.
    secret: str
    description: str | None
    created_at: datetime
    updated_at: datetime

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(slots=True)
class DeliveryRecord:
    id: str
    webhook_id: str
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    #: Retries stop after this (24 h after the event, or after a redelivery was asked).
    give_up_at: datetime
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A delivery to attempt now, with what the attempt needs."""

    delivery: DeliveryRecord
    url: str
    secret: str
    body: str


@dataclass(slots=True)
class ThemeRecord:
    """How the join and meeting views look for rooms that use it."""

    id: str
    name: str
    #: "light" or "dark"
    base: str
    #: Colours as #rrggbb: buttons and links, page background, highlights, text.
    primary: str
    background: str
    accent: str
    text: str
    brand_text: str | None
    created_at: datetime
    updated_at: datetime
    logo_type: str | None = None


class RecordingStatus(StrEnum):
    STARTING = "starting"
    ACTIVE = "active"
    ENDING = "ending"
    COMPLETE = "complete"
    FAILED = "failed"
    ABORTED = "aborted"

    @property
    def live(self) -> bool:
        """Still being recorded (a recorder process is, or was, at work on it)."""
        return self in (RecordingStatus.STARTING, RecordingStatus.ACTIVE, RecordingStatus.ENDING)


@dataclass(slots=True)
class RecordingRecord:
    """One recording of one meeting: a file under the data dir's ``recordings/``."""

    id: str
    room_id: str
    #: The room's name when the recording started (rooms may be deleted, recordings kept).
    room_name: str
    meeting_id: str
    status: RecordingStatus
    layout: str
    width: int
    height: int
    created_at: datetime
    #: File name inside the recordings dir.
    filename: str
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_s: float | None = None
    size_bytes: int | None = None
    #: Why it ended: stopped, meeting_ended, max_duration (complete ones); what went wrong
    #: (failed and aborted ones) is in ``error``.
    end_reason: str | None = None
    error: str | None = None
    #: SHA-256 of the share link's secret, when shared.
    share_hash: str | None = None
