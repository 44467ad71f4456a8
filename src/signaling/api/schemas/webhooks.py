"""``/webhooks``: endpoints, their event filter and URL rule, and the delivery log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from signaling.api.schemas.common import Input

__all__ = [
    "WEBHOOK_URL_PATTERN",
    "Delivery",
    "DeliveryList",
    "Webhook",
    "WebhookCreate",
    "WebhookCreated",
    "WebhookEventType",
    "WebhookList",
    "WebhookSecret",
    "WebhookUpdate",
]


class WebhookEventType(StrEnum):
    MEETING_STARTED = "meeting.started"
    MEETING_ENDED = "meeting.ended"
    PARTICIPANT_JOINED = "participant.joined"
    PARTICIPANT_LEFT = "participant.left"
    RECORDING_STARTED = "recording.started"
    RECORDING_UPDATED = "recording.updated"
    RECORDING_ENDED = "recording.ended"
    ROOM_CREATED = "room.created"
    ROOM_DELETED = "room.deleted"
    ROOM_EXPIRED = "room.expired"


_H16 = "[0-9A-Fa-f]{1,4}"
#: An IPv6 literal in its eight-group and ``::`` forms (no embedded IPv4, no zone).
_IPV6 = "|".join(
    [
        f"(?:{_H16}:){{7}}{_H16}",
        f"(?:{_H16}:){{1,7}}:",
        f"(?:{_H16}:){{1,6}}:{_H16}",
        *(f"(?:{_H16}:){{1,{6 - n}}}(?::{_H16}){{1,{n + 1}}}" for n in range(1, 6)),
        f"{_H16}:(?::{_H16}){{1,6}}",
        f":(?:(?::{_H16}){{1,7}}|:)",
    ]
)
_PORT = "(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
#: An absolute http(s) URL without credentials or fragment, as the schema states it: the
#: server accepts exactly what this matches (the fuzzer found a schema that took "00000000").
WEBHOOK_URL_PATTERN = (
    rf"^https?://(?:\[(?:{_IPV6})\]|[A-Za-z0-9._~-]+)(?::{_PORT})?(?:[/?][^#\s\x00-\x1f\x7f]*)?$"
)

WebhookUrl = Annotated[
    str,
    StringConstraints(min_length=8, max_length=2048, pattern=WEBHOOK_URL_PATTERN),
]
Description = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]


class WebhookCreate(Input):
    url: WebhookUrl = Field(description="Where events are POSTed.")
    events: list[WebhookEventType] = Field(
        default_factory=list, max_length=20, description="Event types to send; empty: all."
    )
    enabled: StrictBool = True
    description: Description | None = None


class WebhookUpdate(Input):
    url: WebhookUrl | None = None
    events: list[WebhookEventType] | None = Field(default=None, max_length=20)
    enabled: StrictBool | None = None
    description: Description | None = None


class Webhook(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    url: str
    events: list[str] = Field(description="Event types sent; empty: all.")
    enabled: bool
    description: str | None
    created_at: datetime
    updated_at: datetime


class WebhookCreated(Webhook):
    secret: str = Field(
        description="Signs every delivery (HMAC-SHA256). Shown only now and on rotation."
    )


class WebhookSecret(BaseModel):
    id: str
    secret: str = Field(description="The new signing secret. Shown only this once.")


class WebhookList(BaseModel):
    items: list[Webhook]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class Delivery(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    event_id: str = Field(description="Stable across retries: deduplicate on it.")
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    created_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None = Field(description="HTTP status of the last attempt.")
    last_error: str | None
    next_attempt_at: datetime | None = Field(description="When the next retry is due.")
    give_up_at: datetime = Field(description="Retries stop here; then `failed`.")
    delivered_at: datetime | None


class DeliveryList(BaseModel):
    items: list[Delivery]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")
