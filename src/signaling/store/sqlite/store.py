"""The embedded store: one SQLite file in WAL mode, through aiosqlite, every concept's
protocol on one connection.

:class:`SqliteStore` is the concept classes put together by inheritance. Each of them
(:class:`~signaling.store.sqlite.rooms.SqliteRooms`, ...) holds only the public methods of its
protocol over the shared :class:`~signaling.store.sqlite.database.SqliteDatabase`, so they
cannot clash, the store needs no forwarding method per protocol method (55 of them, a second
copy of the protocols to keep in step), and one concept can also be used on its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from signaling.store.sqlite.accounts import SqliteAccounts
from signaling.store.sqlite.database import SqliteDatabase
from signaling.store.sqlite.meetings import SqliteMeetings
from signaling.store.sqlite.recordings import SqliteRecordings
from signaling.store.sqlite.rooms import SqliteRooms
from signaling.store.sqlite.schema import open_database
from signaling.store.sqlite.themes import SqliteThemes
from signaling.store.sqlite.webhooks import SqliteWebhooks

if TYPE_CHECKING:
    from signaling.store.base import (
        AccountStore,
        MeetingStore,
        RecordingStore,
        RoomStore,
        Store,
        ThemeStore,
        WebhookStore,
    )

__all__ = ["SqliteStore"]


class SqliteStore(
    SqliteRooms,
    SqliteMeetings,
    SqliteRecordings,
    SqliteWebhooks,
    SqliteAccounts,
    SqliteThemes,
):
    """Implements :class:`signaling.store.base.Store` on one SQLite file."""

    @classmethod
    async def open(cls, path: Path, *, busy_timeout_ms: int = 2000) -> SqliteStore:
        """Open (creating and migrating as needed) the database at ``path``.

        Raises :class:`~signaling.store.errors.StoreError` when the file is locked, corrupt,
        read-only or from a newer meetbox; the message says which and what to do.
        """
        return cls(await open_database(path, busy_timeout_ms=busy_timeout_ms))

    @property
    def database(self) -> SqliteDatabase:
        return self._db

    @property
    def path(self) -> Path:
        return self._db.path

    async def close(self) -> None:
        await self._db.close()

    async def ping(self) -> None:
        await self._db.scalar("SELECT 1")


if TYPE_CHECKING:
    # Each concept class implements its protocol on its own, and the whole store all of
    # them: mypy checks it here rather than at the first call site that needs it.
    _ROOMS: type[RoomStore] = SqliteRooms
    _MEETINGS: type[MeetingStore] = SqliteMeetings
    _RECORDINGS: type[RecordingStore] = SqliteRecordings
    _WEBHOOKS: type[WebhookStore] = SqliteWebhooks
    _ACCOUNTS: type[AccountStore] = SqliteAccounts
    _THEMES: type[ThemeStore] = SqliteThemes
    _STORE: type[Store] = SqliteStore
