"""Persistence: the :class:`Store` interface and its embedded SQLite implementation."""

from .base import Page, RoomFilter, Store
from .errors import StoreError, StoreProblem
from .sqlite import SqliteStore

__all__ = ["Page", "RoomFilter", "SqliteStore", "Store", "StoreError", "StoreProblem"]
