"""Persistence: the :class:`Store` interface and its embedded SQLite implementation."""

from signaling.store.base import Page, RoomFilter, Store
from signaling.store.errors import StoreError, StoreFull, StoreProblem
from signaling.store.sqlite import SqliteStore

__all__ = ["Page", "RoomFilter", "SqliteStore", "Store", "StoreError", "StoreFull", "StoreProblem"]
