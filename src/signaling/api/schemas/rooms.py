"""Rooms: their config, create and update bodies, the room as shown, bulk delete, links."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool
from pydantic.json_schema import SkipJsonSchema

from signaling.api.schemas.common import (
    BulkDeleteFailure,
    Input,
    Metadata,
    Name,
    ThemeId,
    UtcDatetime,
)
from signaling.models import Role, RoomKind, RoomStatus
from signaling.rooms.policies import DeletePolicyMeeting, DeletePolicyRecordings

__all__ = [
    "BulkDeleteResult",
    "DeletePolicyMeeting",
    "DeletePolicyRecordings",
    "Link",
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
]


class RecordingLayout(StrEnum):
    GRID = "grid"
    SPEAKER = "speaker"
    SINGLE_SPEAKER = "single_speaker"


class RecordingAccess(StrEnum):
    """Who may see a room's recordings besides administrators and the recordings link."""

    ADMIN = "admin"
    MODERATOR = "moderator"
    MODERATOR_SPEAKER = "moderator_speaker"


class ChatConfig(Input):
    enabled: StrictBool = True


class ScreenShareConfig(Input):
    enabled: StrictBool = True


class RecordingConfig(Input):
    enabled: StrictBool = True
    auto_start: StrictBool = False
    layout: RecordingLayout = RecordingLayout.GRID
    access: RecordingAccess = RecordingAccess.MODERATOR


class RoomConfig(Input):
    chat: ChatConfig = Field(default_factory=ChatConfig)
    screen_share: ScreenShareConfig = Field(default_factory=ScreenShareConfig)
    recording: RecordingConfig = Field(default_factory=RecordingConfig)


class EnabledPatch(Input):
    enabled: StrictBool | None = None


class RecordingConfigPatch(Input):
    enabled: StrictBool | None = None
    auto_start: StrictBool | None = None
    layout: RecordingLayout | None = None
    access: RecordingAccess | None = None


class RoomConfigPatch(Input):
    """A partial config: the keys given replace the room's, the rest stay."""

    chat: EnabledPatch | None = None
    screen_share: EnabledPatch | None = None
    recording: RecordingConfigPatch | None = None


PositiveLimit = Annotated[int, Field(ge=1, le=1000)]
SessionMinutes = Annotated[int, Field(ge=1, le=24 * 60)]


class RoomCreate(Input):
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


class RoomUpdate(Input):
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


class BulkDeleteResult(BaseModel):
    deleted: list[str]
    scheduled: list[str] = Field(description="Deleted when their meeting ends.")
    failed: list[BulkDeleteFailure]


class RotateLinks(Input):
    roles: list[Role] = Field(
        default_factory=lambda: list(Role),
        min_length=1,
        max_length=3,
        description="Which links get new secrets (all by default).",
    )
