"""Why the store could not be opened. Each carries a message a person can act on."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["StoreError", "StoreProblem"]


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
