"""SQLite's errors mapped onto the store's: which :class:`StoreProblem` an error on opening
is, and a full disk on a write as :class:`StoreFull`. Every message says what to do."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from signaling.store.errors import StoreError, StoreFull, StoreProblem

__all__ = ["explain", "full_is_typed", "is_full", "problem_of"]


def problem_of(exc: sqlite3.Error) -> StoreProblem | None:
    """The problem an error met while opening stands for, if it is one the operator can fix."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreProblem.LOCKED
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return StoreProblem.CORRUPT
    if primary in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        return StoreProblem.READ_ONLY
    return None


def is_full(exc: sqlite3.Error) -> bool:
    code: int | None = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == sqlite3.SQLITE_FULL
    return "database or disk is full" in str(exc)


@contextlib.contextmanager
def full_is_typed(path: Path) -> Iterator[None]:
    """A write refused for lack of disk space becomes :class:`StoreFull` (a request can
    answer that with 507); other SQLite errors are left as they are."""
    try:
        yield
    except sqlite3.Error as exc:
        if not is_full(exc):
            raise
        raise StoreFull(
            f"the disk holding the database {path} is full; free space on it (old "
            "recordings are usually the bulk of a data dir)"
        ) from None


def explain(problem: StoreProblem, path: Path, exc: BaseException | None = None) -> StoreError:
    what = {
        StoreProblem.LOCKED: (
            f"the database {path} is locked by another process. Stop whatever holds it "
            "(another meetbox server, a backup tool or an sqlite3 shell in a transaction) "
            "and start again."
        ),
        StoreProblem.CORRUPT: (
            f"the database {path} is corrupt or is not an SQLite database. Restore it from a "
            "backup, or move it away to start with an empty one."
        ),
        StoreProblem.READ_ONLY: (
            f"the database {path} (or its folder) cannot be written. Give the user running "
            "meetbox write access to the file and its folder, or choose another --data-dir."
        ),
        StoreProblem.UNAVAILABLE: f"the database {path} could not be opened",
    }[problem]
    if exc is not None:
        what += f" (SQLite said: {exc})"
    return StoreError(problem, what)
