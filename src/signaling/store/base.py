"""The store interface: what the services need from persistence, one protocol per concept.

::

    Store                  everything, for the composition root and today's call sites
    ├── StoreConnection    health check and close
    ├── RoomStore          rooms and their links              (signaling.store.rooms)
    ├── MeetingStore       meetings, attendance, revocations  (signaling.store.meetings)
    ├── RecordingStore     recordings                         (signaling.store.recordings)
    ├── WebhookStore       endpoints, the outbox, deliveries  (signaling.store.webhooks)
    ├── AccountStore       API keys and settings              (signaling.store.accounts)
    └── ThemeStore         themes and logos                   (signaling.store.themes)

A service depends on the protocols it uses; :class:`signaling.store.sqlite.SqliteStore` is the
embedded default and implements them all, a PostgreSQL store for the multi-node milestone
implements the same ones.

What every backend guarantees, whichever protocol:

- **One method, one transaction.** A method's writes land together or not at all; a read
  that returns a record with its parts (a room with its links, a meeting with its
  attendance) reads them consistently.
- **The outbox is transactional.** Methods that take ``events`` write them to the webhook
  outbox (see :mod:`signaling.store.webhooks`) in the same transaction as the change, so an
  event exists exactly when its change does; a method that says it changed nothing (returns
  ``False``) writes no events.
- **Errors.** A write refused because the disk is full raises
  :class:`~signaling.store.errors.StoreFull` (nothing of it kept; reads still work; the
  HTTP edge answers 507). Opening the store raises
  :class:`~signaling.store.errors.StoreError`, whose ``problem`` says why (locked,
  corrupt, read-only, newer schema, unavailable) and whose message says what to do. Anything
  else is the backend's own error (an integrity error for a reference to a row that does
  not exist, say) and is a bug, not an outcome to handle.
- **Pages** are keyset pages, newest first: ``after`` is the ``next_after`` of the previous
  :class:`Page`.
- **Schema.** Opening applies the migrations of :mod:`signaling.store.migrations` up to
  :data:`~signaling.store.migrations.SCHEMA_VERSION` and refuses a newer database; opening is
  each backend's own class method, as what to open (a path, a DSN) differs.
"""

from __future__ import annotations

from typing import Protocol

from signaling.store.accounts import AccountStore
from signaling.store.meetings import MeetingStore
from signaling.store.page import Page
from signaling.store.recordings import RecordingStore
from signaling.store.rooms import RoomFilter, RoomStore
from signaling.store.themes import ThemeStore
from signaling.store.webhooks import WebhookStore

__all__ = [
    "AccountStore",
    "MeetingStore",
    "Page",
    "RecordingStore",
    "RoomFilter",
    "RoomStore",
    "Store",
    "StoreConnection",
    "ThemeStore",
    "WebhookStore",
]


class StoreConnection(Protocol):
    async def close(self) -> None:
        """Release the database; the store is not used afterwards."""

    async def ping(self) -> None:
        """Raise if the database cannot answer a query (the readiness check)."""


class Store(
    StoreConnection,
    RoomStore,
    MeetingStore,
    RecordingStore,
    WebhookStore,
    AccountStore,
    ThemeStore,
    Protocol,
):
    """Every concept's store in one: what the composition root hands to the services."""
