"""Why the store could not be opened (:class:`StoreError`), or could not save something
(:class:`StoreFull`). Each carries a message a person can act on. The tree::

    StoreException
    ├── StoreError    the database cannot be used: raised on opening, ``problem`` says why;
    │                 the server must not start
    └── StoreFull     a write failed for a full disk: nothing of it kept, reads still work;
                      the HTTP edge answers 507

Every backend raises these and only these for those two outcomes (see
:mod:`signaling.store.base`).
"""

from __future__ import annotations

from enum import StrEnum

from signaling.errors import SignalingError

__all__ = ["StoreError", "StoreException", "StoreFull", "StoreProblem"]


class StoreProblem(StrEnum):
    LOCKED = "locked"
    CORRUPT = "corrupt"
    READ_ONLY = "read-only"
    NEWER_SCHEMA = "newer-schema"
    IN_USE = "in-use"
    UNAVAILABLE = "unavailable"


class StoreException(SignalingError):
    """The root of the store's errors."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StoreError(StoreException):
    """The database cannot be used; the server must not start."""

    def __init__(self, problem: StoreProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


class StoreFull(StoreException):
    """A write failed because the disk holding the database is full (SQLITE_FULL). Nothing
    of that write was kept; reads still work. The HTTP edge answers 507."""
