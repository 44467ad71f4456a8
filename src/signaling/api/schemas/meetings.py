"""Meeting history: a past (or live) meeting and who stayed when."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from signaling.models import Role

__all__ = ["Attendance", "PastMeeting"]


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
