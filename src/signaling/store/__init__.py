"""Persistence: the :class:`Store` interface and its embedded SQLite implementation."""

from .base import Page, RoomFilter, Store
from .errors import StoreError, StoreFull, StoreProblem
from .sqlite import SqliteStore

__all__ = ["Page", "RoomFilter", "SqliteStore", "Store", "StoreError", "StoreFull", "StoreProblem"]
