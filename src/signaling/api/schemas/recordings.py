"""``/recordings``: starting one, a recording as shown, share links, bulk delete."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from signaling.api.schemas.common import BulkDeleteFailure, Input
from signaling.api.schemas.rooms import RecordingLayout

__all__ = [
    "Recording",
    "RecordingBulkDeleted",
    "RecordingList",
    "RecordingPreset",
    "RecordingShare",
    "RecordingStart",
]


class RecordingPreset(StrEnum):
    P480 = "480p"
    P720 = "720p"
    P1080 = "1080p"


class RecordingStart(Input):
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
