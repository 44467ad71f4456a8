"""Why the store could not be opened (:class:`StoreError`), or could not save something
(:class:`StoreFull`). Each carries a message a person can act on."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["StoreError", "StoreFull", "StoreProblem"]


class StoreProblem(StrEnum):
    LOCKED = "locked"
    CORRUPT = "corrupt"
    READ_ONLY = "read-only"
    NEWER_SCHEMA = "newer-schema"
    IN_USE = "in-use"
    UNAVAILABLE = "unavailable"


class StoreError(Exception):
    """The database cannot be used; the server must not start."""

    def __init__(self, problem: StoreProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message


class StoreFull(Exception):
    """A write failed because the disk holding the database is full (SQLITE_FULL). Nothing
    of that write was kept; reads still work. The HTTP edge answers 507."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
