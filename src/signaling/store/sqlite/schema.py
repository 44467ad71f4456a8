"""Opening the SQLite file: WAL mode, the integrity check, the schema version (kept in
``PRAGMA user_version``) and the migrations of :mod:`signaling.store.migrations`."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import aiosqlite

from signaling.store.errors import StoreError, StoreProblem
from signaling.store.migrations import SCHEMA_VERSION, pending, statements
from signaling.store.sqlite.database import SqliteDatabase, scalar
from signaling.store.sqlite.errors import explain, problem_of

__all__ = ["open_database"]

logger = logging.getLogger(__name__)


async def open_database(path: Path, *, busy_timeout_ms: int = 2000) -> SqliteDatabase:
    """Open (creating and migrating as needed) the database at ``path``.

    Raises :class:`StoreError` when the file is locked, corrupt, read-only or from a newer
    meetbox; the message says which and what to do. Its ``problem``:

    - ``LOCKED``: SQLITE_BUSY or SQLITE_LOCKED (another process holds a write lock).
    - ``CORRUPT``: SQLITE_CORRUPT, SQLITE_NOTADB, or a failed ``PRAGMA quick_check``.
    - ``READ_ONLY``: the folder or file cannot be written (or created), SQLITE_READONLY,
      SQLITE_CANTOPEN, SQLITE_PERM, or WAL mode refused.
    - ``NEWER_SCHEMA``: ``user_version`` above :data:`SCHEMA_VERSION`.
    - ``UNAVAILABLE``: any other SQLite error.
    """
    path = Path(path)
    folder = path.parent
    if not folder.exists():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise explain(StoreProblem.READ_ONLY, path, exc) from exc
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise explain(StoreProblem.READ_ONLY, path)
    try:
        # Autocommit: multi-statement writes open their own BEGIN IMMEDIATE.
        db = await aiosqlite.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise explain(problem_of(exc) or StoreProblem.UNAVAILABLE, path, exc) from exc
    try:
        await _prepare(db, path)
    except BaseException:
        await db.close()
        raise
    return SqliteDatabase(db, path)


async def _prepare(db: aiosqlite.Connection, path: Path) -> None:
    try:
        await db.execute("PRAGMA foreign_keys = ON")
        mode = await scalar(db, "PRAGMA journal_mode = WAL")
        if str(mode).lower() != "wal":
            raise explain(StoreProblem.READ_ONLY, path)
        await db.execute("PRAGMA synchronous = NORMAL")
        check = await scalar(db, "PRAGMA quick_check")
        if check != "ok":
            raise StoreError(
                StoreProblem.CORRUPT,
                f"the database {path} failed its integrity check ({check}). Restore it "
                "from a backup, or move it away to start with an empty one.",
            )
        version = int(await scalar(db, "PRAGMA user_version"))
        if version > SCHEMA_VERSION:
            raise StoreError(
                StoreProblem.NEWER_SCHEMA,
                f"the database {path} has schema version {version}, written by a newer "
                f"meetbox; this one knows versions up to {SCHEMA_VERSION}. Upgrade "
                "meetbox, or restore a backup taken before the upgrade.",
            )
        # A server that cannot write is no server: find out now, not on the first request.
        await db.execute("BEGIN IMMEDIATE")
        await db.rollback()
        for number, sql in pending(version):
            logger.info("applying schema migration %d to %s", number, path)
            await db.execute("BEGIN IMMEDIATE")
            try:
                for statement in statements(sql):
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {number}")
                await db.commit()
            except BaseException:
                await db.rollback()
                raise
    except sqlite3.Error as exc:
        raise explain(problem_of(exc) or StoreProblem.UNAVAILABLE, path, exc) from exc
