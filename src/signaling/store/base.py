"""The store interface: what the services need from persistence.

:class:`signaling.store.sqlite.SqliteStore` is the embedded default; a PostgreSQL store for the
multi-node milestone implements the same protocol. Every method is one atomic operation.

Methods that take ``events`` write them to the webhook outbox in the same transaction as the
change, so an event exists exactly when its change does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from signaling.models import (
    ApiKeyRecord,
    DeliveryRecord,
    DueDelivery,
    LinkRecord,
    MeetingRecord,
    OutboxEvent,
    RecordingRecord,
    RecordingStatus,
    Role,
    RoomKind,
    RoomRecord,
    RoomStatus,
    ThemeRecord,
    WebhookRecord,
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
    async def insert_room(self, room: RoomRecord, events: Sequence[OutboxEvent] = ()) -> bool:
        """Insert ``room`` and its links; ``False`` if the id is taken."""

    async def get_room(self, room_id: str) -> RoomRecord | None: ...

    async def list_rooms(
        self, where: RoomFilter, limit: int, after: tuple[str, str] | None
    ) -> Page[RoomRecord]:
        """Rooms newest first; ``after`` is the ``next_after`` of the previous page."""

    async def update_room(self, room: RoomRecord) -> bool:
        """Write ``room`` if its stored version is still ``room.version``; bump the version."""

    async def delete_room(
        self, room_id: str, version: int | None = None, events: Sequence[OutboxEvent] = ()
    ) -> bool:
        """Delete the room (at ``version`` if given); ``True`` if this call deleted it (and
        only then are ``events`` written)."""

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
    async def insert_meeting(
        self,
        meeting_id: str,
        room_id: str,
        started_at: datetime,
        events: Sequence[OutboxEvent] = (),
    ) -> None: ...

    async def end_meeting(
        self,
        meeting_id: str,
        ended_at: datetime,
        reason: str,
        events: Sequence[OutboxEvent] = (),
    ) -> None:
        """End the meeting and close its open stays with ``reason``."""

    async def record_join(
        self,
        meeting_id: str,
        participant_id: str,
        nickname: str,
        role: Role,
        at: datetime,
        events: Sequence[OutboxEvent] = (),
    ) -> None: ...

    async def record_leave(
        self,
        meeting_id: str,
        participant_id: str,
        at: datetime,
        reason: str,
        events: Sequence[OutboxEvent] = (),
    ) -> None:
        """Close the participant's open stay, if any (``events`` only if there was one)."""

    async def list_meetings(
        self, room_id: str, limit: int, after: tuple[str, str] | None
    ) -> Page[MeetingRecord]:
        """A room's meetings, newest first, with their attendance."""

    async def get_meeting(self, meeting_id: str) -> MeetingRecord | None: ...

    async def open_meeting_ids(self) -> list[str]:
        """Meetings not ended (after a restart: left open by a process that is gone)."""

    # themes
    async def save_recording(
        self, recording: RecordingRecord, events: Sequence[OutboxEvent] = ()
    ) -> None:
        """Insert or replace ``recording``."""

    async def get_recording(self, recording_id: str) -> RecordingRecord | None: ...

    async def find_shared_recording(self, share_hash: str) -> RecordingRecord | None: ...

    async def list_recordings(
        self,
        room_id: str | None,
        statuses: Sequence[RecordingStatus],
        limit: int,
        after: tuple[str, str] | None,
    ) -> Page[RecordingRecord]:
        """Newest first; every status when ``statuses`` is empty."""

    async def count_recordings(self, room_id: str) -> int: ...

    async def delete_recording(
        self, recording_id: str, events: Sequence[OutboxEvent] = ()
    ) -> bool: ...

    async def save_theme(self, theme: ThemeRecord) -> None:
        """Insert or update (the logo is kept)."""

    async def get_theme(self, theme_id: str) -> ThemeRecord | None: ...

    async def list_themes(self, limit: int, after: tuple[str, str] | None) -> Page[ThemeRecord]: ...

    async def delete_theme(self, theme_id: str) -> bool: ...

    async def set_theme_logo(self, theme_id: str, logo: bytes | None, kind: str | None) -> bool: ...

    async def get_theme_logo(self, theme_id: str) -> tuple[bytes, str] | None: ...

    # revoked participant tokens
    async def revoke_token(self, token_id: str, until: datetime) -> None:
        """Refuse the participant token ``token_id`` until ``until``."""

    async def is_token_revoked(self, token_id: str, now: datetime) -> bool: ...

    async def prune_revoked_tokens(self, now: datetime) -> None: ...

    # webhooks
    async def insert_webhook(self, hook: WebhookRecord) -> None: ...

    async def get_webhook(self, webhook_id: str) -> WebhookRecord | None: ...

    async def list_webhooks(
        self, limit: int, after: tuple[str, str] | None
    ) -> Page[WebhookRecord]: ...

    async def update_webhook(self, hook: WebhookRecord) -> bool: ...

    async def delete_webhook(self, webhook_id: str) -> bool:
        """Delete the endpoint and its deliveries."""

    async def enqueue(
        self, events: Sequence[OutboxEvent], only_webhook: str | None = None
    ) -> list[str]:
        """Write events to the outbox: a delivery for each endpoint that wants each. With
        ``only_webhook``: for that endpoint alone, whatever its filter, and not picked up by
        the worker (the caller attempts it). Returns the deliveries' ids."""

    async def list_deliveries(
        self, webhook_id: str, limit: int, after: tuple[str, str] | None
    ) -> Page[DeliveryRecord]: ...

    async def get_delivery(self, webhook_id: str, delivery_id: str) -> DeliveryRecord | None: ...

    async def due_deliveries(
        self, now: datetime, limit: int, exclude: Iterable[str] = ()
    ) -> list[DueDelivery]:
        """Pending deliveries due by ``now``, oldest first; one room's deliveries to one
        endpoint only in order (a later one waits while an earlier one is pending)."""

    async def next_delivery_at(self) -> datetime | None: ...

    async def save_delivery(self, delivery: DeliveryRecord) -> None: ...

    async def prune_deliveries(self, before: datetime) -> int:
        """Forget finished deliveries created before ``before`` (and their events)."""

    # API keys
    async def insert_api_key(self, key: ApiKeyRecord) -> None: ...

    async def find_api_key(self, key_hash: str) -> ApiKeyRecord | None: ...

    async def get_api_key(self, key_id: str) -> ApiKeyRecord | None: ...

    async def list_api_keys(self, limit: int, after: tuple[str, str] | None) -> Page[ApiKeyRecord]:
        """Keys newest first, revoked ones included."""

    async def revoke_api_key(self, key_id: str, now: datetime) -> bool: ...

    async def touch_api_key(self, key_id: str, now: datetime) -> None: ...
