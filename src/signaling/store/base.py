"""The store interface: what the services need from persistence.

:class:`signaling.store.sqlite.SqliteStore` is the embedded default; a PostgreSQL store for the
multi-node milestone implements the same protocol. Every method is one atomic operation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from ..models import (
    ApiKeyRecord,
    LinkRecord,
    MeetingRecord,
    Role,
    RoomKind,
    RoomRecord,
    RoomStatus,
)

__all__ = ["Page", "RoomFilter", "Store"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RoomFilter:
    #: Case-insensitive substring of the room name.
    name: str | None = None
    status: RoomStatus | None = None
    kind: RoomKind | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    #: Sort key of the last item when more may follow, else ``None``.
    next_after: tuple[str, str] | None


class Store(Protocol):
    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise if the database cannot answer a query."""

    # settings
    async def get_setting(self, name: str) -> str | None: ...

    async def set_setting_if_absent(self, name: str, value: str) -> str:
        """Store ``value`` under ``name`` unless one is there; return the stored value."""

    # rooms
    async def insert_room(self, room: RoomRecord) -> bool:
        """Insert ``room`` and its links; ``False`` if the id is taken."""

    async def get_room(self, room_id: str) -> RoomRecord | None: ...

    async def list_rooms(
        self, where: RoomFilter, limit: int, after: tuple[str, str] | None
    ) -> Page[RoomRecord]:
        """Rooms newest first; ``after`` is the ``next_after`` of the previous page."""

    async def update_room(self, room: RoomRecord) -> bool:
        """Write ``room`` if its stored version is still ``room.version``; bump the version."""

    async def delete_room(self, room_id: str, version: int | None = None) -> bool:
        """Delete the room (at ``version`` if given); ``True`` if this call deleted it."""

    async def rooms_due(self, now: datetime, limit: int) -> list[RoomRecord]:
        """Rooms whose ``expires_at`` has passed and that nobody is in."""

    async def next_expiry(self) -> datetime | None:
        """The earliest ``expires_at`` of an empty room."""

    async def rooms_in_use(self) -> list[RoomRecord]: ...

    # links
    async def find_link(self, secret_hash: str) -> LinkRecord | None: ...

    async def find_retired_link(self, secret_hash: str) -> tuple[str, Role] | None: ...

    async def replace_links(
        self, room_id: str, links: list[LinkRecord], retired_at: datetime
    ) -> bool:
        """Swap in ``links`` (one per role), retiring the secrets they replace."""

    # meeting history
    async def insert_meeting(self, meeting_id: str, room_id: str, started_at: datetime) -> None: ...

    async def end_meeting(self, meeting_id: str, ended_at: datetime, reason: str) -> None: ...

    async def record_join(
        self, meeting_id: str, participant_id: str, nickname: str, role: Role, at: datetime
    ) -> None: ...

    async def record_leave(
        self, meeting_id: str, participant_id: str, at: datetime, reason: str
    ) -> None:
        """Close the participant's open stay, if any."""

    async def list_meetings(
        self, room_id: str, limit: int, after: tuple[str, str] | None
    ) -> Page[MeetingRecord]:
        """A room's meetings, newest first, with their attendance."""

    async def close_open_meetings(self, at: datetime, reason: str) -> int:
        """Mark meetings (and stays) left open by a process that is gone as ended."""

    # API keys
    async def insert_api_key(self, key: ApiKeyRecord) -> None: ...

    async def find_api_key(self, key_hash: str) -> ApiKeyRecord | None: ...

    async def get_api_key(self, key_id: str) -> ApiKeyRecord | None: ...

    async def list_api_keys(self, limit: int, after: tuple[str, str] | None) -> Page[ApiKeyRecord]:
        """Keys newest first, revoked ones included."""

    async def revoke_api_key(self, key_id: str, now: datetime) -> bool: ...

    async def touch_api_key(self, key_id: str, now: datetime) -> None: ...
