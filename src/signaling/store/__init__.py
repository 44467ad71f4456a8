"""Persistence: the store protocols (one per concept, :mod:`signaling.store.base` has the
contract they share) and their embedded SQLite implementation."""

from signaling.store.base import (
    AccountStore,
    MeetingStore,
    Page,
    RecordingStore,
    RoomFilter,
    RoomStore,
    Store,
    StoreConnection,
    ThemeStore,
    WebhookStore,
)
from signaling.store.errors import StoreError, StoreException, StoreFull, StoreProblem
from signaling.store.sqlite import SqliteStore

__all__ = [
    "AccountStore",
    "MeetingStore",
    "Page",
    "RecordingStore",
    "RoomFilter",
    "RoomStore",
    "SqliteStore",
    "Store",
    "StoreConnection",
    "StoreError",
    "StoreException",
    "StoreFull",
    "StoreProblem",
    "ThemeStore",
    "WebhookStore",
]
