"""``/join`` and ``/join/preview``: what a link secret is traded for."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from signaling.api.schemas.common import Input, Nickname
from signaling.api.schemas.rooms import RoomConfig
from signaling.api.schemas.themes import Theme
from signaling.models import Role

__all__ = [
    "IceServer",
    "JoinPreview",
    "JoinPreviewRequest",
    "JoinRequest",
    "JoinResponse",
    "JoinRoom",
]


class JoinRequest(Input):
    secret: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    nickname: Nickname


class JoinPreviewRequest(Input):
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
