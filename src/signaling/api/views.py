"""How the REST API shows domain records: one function per resource, record in, model out.

Services return records (:mod:`signaling.models`) and never build these models; routes call
the functions here, and so do the webhook events (:mod:`signaling.webhooks.events`), whose
``data`` is by contract the resource as the REST API shows it. Recordings have their own
view module, beside the recordings routes.
"""

from __future__ import annotations

import re
from typing import Any

from signaling.api.schemas import (
    ApiKey,
    ApiKeyCreated,
    Attendance,
    Delivery,
    JoinRoom,
    Link,
    PastMeeting,
    Room,
    RoomConfig,
    RoomLinks,
    Theme,
    ThemeBase,
    Webhook,
    WebhookCreated,
    WebhookSecret,
)
from signaling.models import (
    ApiKeyRecord,
    AttendanceRecord,
    DeliveryRecord,
    MeetingRecord,
    Role,
    RoomRecord,
    ThemeRecord,
    WebhookRecord,
)
from signaling.pagination import encode_cursor
from signaling.rooms.links import link_url
from signaling.store import Page

__all__ = [
    "api_key_created_out",
    "api_key_out",
    "attendance_out",
    "delivery_out",
    "join_room_out",
    "next_cursor",
    "past_meeting_out",
    "room_out",
    "theme_out",
    "webhook_created_out",
    "webhook_out",
    "webhook_secret_out",
    "ws_url",
]


def next_cursor(page: Page[Any]) -> str | None:
    """A list's ``next_cursor``: where the next page starts, if there is one."""
    return encode_cursor(page.next_after) if page.next_after else None


# -- rooms and joining -------------------------------------------------------------------


def room_out(room: RoomRecord, public_url: str) -> Room:
    """The room with its links as shareable URLs on ``public_url``."""
    links = {
        role.value: Link(url=link_url(public_url, room.links[role]), secret=room.links[role].secret)
        for role in Role
    }
    return Room(
        id=room.id,
        name=room.name,
        kind=room.kind,
        status=room.status,
        auto_delete_at=room.auto_delete_at,
        delete_after_use=room.delete_after_use,
        max_participants=room.max_participants,
        session_length_minutes=room.session_length_minutes,
        theme_id=room.theme_id,
        metadata=room.metadata,
        config=RoomConfig.model_validate(room.config),
        links=RoomLinks.model_validate(links),
        expires_at=room.expires_at,
        created_at=room.created_at,
        updated_at=room.updated_at,
    )


def join_room_out(room: RoomRecord) -> JoinRoom:
    """What someone holding a link sees of the room: no links, no metadata."""
    return JoinRoom(
        id=room.id,
        name=room.name,
        theme_id=room.theme_id,
        config=RoomConfig.model_validate(room.config),
    )


def ws_url(public_url: str) -> str:
    """The WebSocket endpoint a participant token is presented on."""
    return re.sub(r"^http", "ws", public_url) + "/ws"


def theme_out(theme: ThemeRecord) -> Theme:
    return Theme(
        id=theme.id,
        name=theme.name,
        base=ThemeBase(theme.base),
        primary=theme.primary,
        background=theme.background,
        accent=theme.accent,
        text=theme.text,
        brand_text=theme.brand_text,
        logo_url=f"/api/v1/themes/{theme.id}/logo" if theme.logo_type else None,
        created_at=theme.created_at,
        updated_at=theme.updated_at,
    )


# -- meetings ----------------------------------------------------------------------------


def past_meeting_out(meeting: MeetingRecord) -> PastMeeting:
    return PastMeeting.model_validate(meeting)


def attendance_out(stay: AttendanceRecord) -> Attendance:
    return Attendance.model_validate(stay)


# -- webhooks ----------------------------------------------------------------------------


def webhook_out(hook: WebhookRecord) -> Webhook:
    """The endpoint without its secret."""
    return Webhook.model_validate(hook)


def webhook_created_out(hook: WebhookRecord) -> WebhookCreated:
    """The endpoint with its secret: shown once, when it is created."""
    return WebhookCreated(**webhook_out(hook).model_dump(), secret=hook.secret)


def webhook_secret_out(hook: WebhookRecord) -> WebhookSecret:
    return WebhookSecret(id=hook.id, secret=hook.secret)


def delivery_out(delivery: DeliveryRecord) -> Delivery:
    return Delivery.model_validate(delivery)


# -- API keys ----------------------------------------------------------------------------


def api_key_out(record: ApiKeyRecord) -> ApiKey:
    """The key's record, never the key."""
    return ApiKey.model_validate(record)


def api_key_created_out(record: ApiKeyRecord, key: str) -> ApiKeyCreated:
    """The key itself too: shown only when it is created."""
    return ApiKeyCreated(**api_key_out(record).model_dump(), key=key)
