"""``/api-keys``: a key's record, and the key itself once, when it is created."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from signaling.api.schemas.common import Input, Name

__all__ = ["ApiKey", "ApiKeyCreate", "ApiKeyCreated", "ApiKeyList"]


class ApiKeyCreate(Input):
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
