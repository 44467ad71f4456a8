"""What the rooms service needs from persistence: rooms and their links.

A room is stored with its links (one per :class:`~signaling.models.Role`); every read returns
both from one consistent read, so a delete landing in between cannot leave a room without
links. Writes that fail for a full disk raise :class:`~signaling.store.errors.StoreFull` and
keep nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from signaling.models import LinkRecord, OutboxEvent, Role, RoomKind, RoomRecord, RoomStatus
from signaling.store.page import Page

__all__ = ["RoomFilter", "RoomStore"]


@dataclass(frozen=True, slots=True)
class RoomFilter:
    #: Case-insensitive substring of the room name.
    name: str | None = None
    status: RoomStatus | None = None
    kind: RoomKind | None = None


class RoomStore(Protocol):
    async def insert_room(self, room: RoomRecord, events: Sequence[OutboxEvent] = ()) -> bool:
        """Insert ``room``, its links and ``events`` in one transaction; ``False`` (and
        nothing written) if the id or a link secret is taken."""

    async def get_room(self, room_id: str) -> RoomRecord | None:
        """The room with its links, or ``None``."""

    async def list_rooms(
        self, where: RoomFilter, limit: int, after: tuple[str, str] | None
    ) -> Page[RoomRecord]:
        """Rooms newest first (``created_at``, then ``id``), with their links; ``after`` is
        the ``next_after`` of the previous page."""

    async def update_room(self, room: RoomRecord) -> bool:
        """Write ``room`` (not its links) if its stored version is still ``room.version``;
        then bump the stored version and ``room.version`` and return ``True``. ``False``
        when another writer got there first, or the room is gone."""

    async def delete_room(
        self, room_id: str, version: int | None = None, events: Sequence[OutboxEvent] = ()
    ) -> bool:
        """Delete the room (at ``version`` if given) with its links, retired links and
        meeting history; ``True`` if this call deleted it, and only then are ``events``
        written, in the same transaction. Recordings are not deleted."""

    async def rooms_due(self, now: datetime, limit: int) -> list[RoomRecord]:
        """Rooms whose ``expires_at`` is at or before ``now`` and that nobody is in, soonest
        first, with their links."""

    async def next_expiry(self) -> datetime | None:
        """The earliest ``expires_at`` of a room nobody is in, or ``None``."""

    async def rooms_in_use(self) -> list[RoomRecord]:
        """Rooms marked ``in_use`` (after a restart: left so by a process that is gone)."""

    async def find_link(self, secret_hash: str) -> LinkRecord | None:
        """The current link with this secret hash."""

    async def find_retired_link(self, secret_hash: str) -> tuple[str, Role] | None:
        """``(room_id, role)`` of a secret that a rotation replaced, so a stale link can be
        told apart from an unknown one."""

    async def replace_links(
        self, room_id: str, links: list[LinkRecord], retired_at: datetime
    ) -> bool:
        """Swap in ``links`` (one per role), retiring the secrets they replace, all or
        nothing; ``False`` if the room (or its link for a role) does not exist."""
