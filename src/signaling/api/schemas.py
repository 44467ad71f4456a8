"""Pydantic models for the REST edge: request bodies are validated here, strictly.

Every request model forbids unknown keys, so a typo in a config key is a 422, not silently
ignored. Checks that need the clock (``auto_delete_at`` bounds) live in the room service.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
)
from pydantic.json_schema import SkipJsonSchema

from signaling.models import Role, RoomKind, RoomStatus
from signaling.rooms.policies import DeletePolicyMeeting, DeletePolicyRecordings
from signaling.text import visible_name

__all__ = [
    "BULK_IDS_PATTERN",
    "METADATA_MAX_BYTES",
    "ApiKey",
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyList",
    "Attendance",
    "BulkDeleteFailure",
    "BulkDeleteResult",
    "DeletePolicyMeeting",
    "DeletePolicyRecordings",
    "Delivery",
    "DeliveryList",
    "IceServer",
    "JoinPreview",
    "JoinPreviewRequest",
    "JoinRequest",
    "JoinResponse",
    "Link",
    "PastMeeting",
    "Problem",
    "RecordingAccess",
    "RecordingLayout",
    "Room",
    "RoomConfig",
    "RoomConfigPatch",
    "RoomCreate",
    "RoomLinks",
    "RoomList",
    "RoomUpdate",
    "RotateLinks",
    "Theme",
    "ThemeBase",
    "ThemeCreate",
    "ThemeList",
    "ThemeUpdate",
    "Webhook",
    "WebhookCreate",
    "WebhookCreated",
    "WebhookEventType",
    "WebhookList",
    "WebhookSecret",
    "WebhookUpdate",
]

METADATA_MAX_BYTES = 4096
#: ``ids=a,b,c`` of the bulk endpoints: 1 to 100 ids, commas between, nothing else.
BULK_IDS_PATTERN = r"^[A-Za-z0-9_-]{1,128}(?:,[A-Za-z0-9_-]{1,128}){0,99}$"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


#: Visible text: at least one non-space character, no control characters (C0, DEL, C1).
#: In the schema too, so clients and fuzzers see the rule.
_TEXT = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=_TEXT)
]
#: Also refused: a nickname of nothing but invisible characters (zero-width spaces, bidi
#: marks, ...), see :mod:`signaling.text`.
Nickname = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=_TEXT),
    AfterValidator(visible_name),
]
ThemeId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def _small_metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None:
        size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
        if size > METADATA_MAX_BYTES:
            raise ValueError(
                f"must be at most {METADATA_MAX_BYTES} bytes as compact JSON (is {size})"
            )
    return value


#: A timestamp with a timezone (naive ones are refused), stored and shown in UTC.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(lambda when: when.astimezone(UTC))]

Metadata = Annotated[dict[str, Any] | None, AfterValidator(_small_metadata)]


class RecordingLayout(StrEnum):
    GRID = "grid"
    SPEAKER = "speaker"
    SINGLE_SPEAKER = "single_speaker"


class RecordingAccess(StrEnum):
    """Who may see a room's recordings besides administrators and the recordings link."""

    ADMIN = "admin"
    MODERATOR = "moderator"
    MODERATOR_SPEAKER = "moderator_speaker"


class ChatConfig(_Input):
    enabled: StrictBool = True


class ScreenShareConfig(_Input):
    enabled: StrictBool = True


class RecordingConfig(_Input):
    enabled: StrictBool = True
    auto_start: StrictBool = False
    layout: RecordingLayout = RecordingLayout.GRID
    access: RecordingAccess = RecordingAccess.MODERATOR


class RoomConfig(_Input):
    chat: ChatConfig = Field(default_factory=ChatConfig)
    screen_share: ScreenShareConfig = Field(default_factory=ScreenShareConfig)
    recording: RecordingConfig = Field(default_factory=RecordingConfig)


class EnabledPatch(_Input):
    enabled: StrictBool | None = None


class RecordingConfigPatch(_Input):
    enabled: StrictBool | None = None
    auto_start: StrictBool | None = None
    layout: RecordingLayout | None = None
    access: RecordingAccess | None = None


class RoomConfigPatch(_Input):
    """A partial config: the keys given replace the room's, the rest stay."""

    chat: EnabledPatch | None = None
    screen_share: EnabledPatch | None = None
    recording: RecordingConfigPatch | None = None


PositiveLimit = Annotated[int, Field(ge=1, le=1000)]
SessionMinutes = Annotated[int, Field(ge=1, le=24 * 60)]


class RoomCreate(_Input):
    name: Name = "Room"
    kind: RoomKind = RoomKind.LONG_TERM
    auto_delete_at: UtcDatetime | None = Field(
        default=None,
        description="long_term rooms only: at least 1 hour and at most 5 years ahead.",
    )
    delete_after_use: StrictBool = Field(
        default=False,
        description="Delete the room 10 minutes after the last participant leaves.",
    )
    max_participants: PositiveLimit | None = None
    session_length_minutes: SessionMinutes | None = None
    theme_id: ThemeId | None = None
    metadata: Metadata = Field(default=None, description="Any JSON object up to 4 KiB.")
    config: RoomConfig = Field(default_factory=RoomConfig)


class RoomUpdate(_Input):
    """Fields to change. Absent fields stay; ``null`` clears a nullable field."""

    # Fields that cannot be cleared are not nullable in the schema (null is refused, 422).
    name: Name | SkipJsonSchema[None] = None
    status: Literal[RoomStatus.OPEN, RoomStatus.CLOSED] | SkipJsonSchema[None] = Field(
        default=None, description="`closed` rooms refuse joins; `open` admits them again."
    )
    auto_delete_at: UtcDatetime | None = None
    delete_after_use: StrictBool | SkipJsonSchema[None] = None
    max_participants: PositiveLimit | None = None
    session_length_minutes: SessionMinutes | None = None
    theme_id: ThemeId | None = None
    metadata: Metadata = None
    config: RoomConfigPatch | None = None


class Link(BaseModel):
    url: str
    secret: str


class RoomLinks(BaseModel):
    moderator: Link
    speaker: Link
    recordings: Link


class Room(BaseModel):
    id: str
    name: str
    kind: RoomKind
    status: RoomStatus
    auto_delete_at: datetime | None
    delete_after_use: bool
    max_participants: int | None
    session_length_minutes: int | None
    theme_id: str | None
    metadata: dict[str, Any] | None
    config: RoomConfig
    links: RoomLinks
    expires_at: datetime | None = Field(
        description="When the room stops admitting people and is deleted once empty; "
        "null while nothing is scheduled."
    )
    created_at: datetime
    updated_at: datetime


class RoomList(BaseModel):
    items: list[Room]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class BulkDeleteFailure(BaseModel):
    id: str
    status: int
    type: str
    detail: str


class BulkDeleteResult(BaseModel):
    deleted: list[str]
    scheduled: list[str] = Field(description="Deleted when their meeting ends.")
    failed: list[BulkDeleteFailure]


class RotateLinks(_Input):
    roles: list[Role] = Field(
        default_factory=lambda: list(Role),
        min_length=1,
        max_length=3,
        description="Which links get new secrets (all by default).",
    )


class JoinRequest(_Input):
    secret: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    nickname: Nickname


class JoinPreviewRequest(_Input):
    secret: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class IceServer(BaseModel):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class JoinRoom(BaseModel):
    id: str
    name: str
    theme_id: str | None
    config: RoomConfig


class JoinPreview(BaseModel):
    role: Role = Field(description="What the link lets its holder do.")
    room: JoinRoom
    theme: Theme | None = Field(description="The room's theme, if it has one.")
    invite_url: str | None = Field(
        None, description="Moderator links only: the speaker link, to invite people."
    )


class JoinResponse(BaseModel):
    token: str = Field(description="Signed participant token: present it on the WebSocket.")
    token_expires_at: datetime
    participant_id: str
    nickname: str
    role: Role
    room: JoinRoom
    ws_url: str
    ice_servers: list[IceServer]


class ApiKeyCreate(_Input):
    name: Name


class ApiKey(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyList(BaseModel):
    items: list[ApiKey]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class ApiKeyCreated(ApiKey):
    key: str = Field(description="The key itself. Shown only this once.")


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


class WebhookCreate(_Input):
    url: WebhookUrl = Field(description="Where events are POSTed.")
    events: list[WebhookEventType] = Field(
        default_factory=list, max_length=20, description="Event types to send; empty: all."
    )
    enabled: StrictBool = True
    description: Description | None = None


class WebhookUpdate(_Input):
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


Colour = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
BrandText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=_TEXT)
]


class ThemeBase(StrEnum):
    LIGHT = "light"
    DARK = "dark"


class ThemeCreate(_Input):
    name: Name
    base: ThemeBase = ThemeBase.DARK
    primary: Colour = Field("#3d7bfd", description="Buttons and links.")
    background: Colour = Field("#10131a", description="The page.")
    accent: Colour = Field("#35c27a", description="Highlights: the active speaker.")
    text: Colour = "#eef1f7"
    brand_text: BrandText | None = Field(None, description="Shown above the room name.")


class ThemeUpdate(_Input):
    name: Name | None = None
    base: ThemeBase | None = None
    primary: Colour | None = None
    background: Colour | None = None
    accent: Colour | None = None
    text: Colour | None = None
    brand_text: BrandText | None = None


class Theme(BaseModel):
    id: str
    name: str
    base: ThemeBase
    primary: str
    background: str
    accent: str
    text: str
    brand_text: str | None
    logo_url: str | None = Field(description="Public: the join and meeting views load it.")
    created_at: datetime
    updated_at: datetime


class ThemeList(BaseModel):
    items: list[Theme]
    next_cursor: str | None


class Attendance(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    participant_id: str
    nickname: str
    role: Role
    joined_at: datetime
    left_at: datetime | None
    leave_reason: str | None


class PastMeeting(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    room_id: str
    started_at: datetime
    ended_at: datetime | None = Field(description="null while the meeting is live")
    end_reason: str | None
    participants: list[Attendance]


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None


# -- recordings -----------------------------------------------------------------------------


class RecordingPreset(StrEnum):
    P480 = "480p"
    P720 = "720p"
    P1080 = "1080p"


class RecordingStart(_Input):
    """Both default to the room's configuration (layout) and 720p."""

    layout: RecordingLayout | None = None
    preset: RecordingPreset = RecordingPreset.P720


class Recording(BaseModel):
    id: str
    room_id: str
    room_name: str
    meeting_id: str
    status: str = Field(description="starting | active | ending | complete | failed | aborted")
    layout: RecordingLayout
    width: int
    height: int
    created_at: datetime
    started_at: datetime | None = Field(description="When the first frame was recorded.")
    ended_at: datetime | None
    duration_s: float | None
    size_bytes: int | None
    end_reason: str | None = Field(
        description="Why a recording ended: stopped, meeting_ended, max_duration."
    )
    error: str | None = Field(description="What went wrong, for failed and aborted ones.")
    shared: bool = Field(description="Whether a share link is active.")
    media_url: str | None = Field(
        description="Where to play it (HTTP Range), once it has ended. For callers without "
        "an API key it carries a short-lived access parameter."
    )
    download_url: str | None


class RecordingList(BaseModel):
    items: list[Recording]
    next_cursor: str | None


class RecordingShare(BaseModel):
    url: str = Field(description="Opens the recording for anyone who has it, until revoked.")


class RecordingBulkDeleted(BaseModel):
    deleted: list[str]
    failed: list[BulkDeleteFailure]
