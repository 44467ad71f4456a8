"""The one aiosqlite connection every SQLite concept module shares: reads, writes,
transactions and keyset pages, with a full disk typed as :class:`StoreFull`.

One connection, one lock: a write must not land inside another coroutine's transaction.
Reads outside :meth:`SqliteDatabase.snapshot` take no lock (WAL readers do not block).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from signaling.clock import format_ts, parse_ts
from signaling.store.page import Page
from signaling.store.sqlite.errors import full_is_typed

__all__ = ["SqliteConcept", "SqliteDatabase", "dt", "scalar", "ts"]

# aiosqlite logs every statement with its parameters at DEBUG, and those parameters include
# link secrets and key hashes. Secrets never reach a log, whatever level the operator picks.
logging.getLogger("aiosqlite").setLevel(logging.INFO)

T = TypeVar("T")


def ts(value: datetime | None) -> str | None:
    return None if value is None else format_ts(value)


def dt(value: str | None) -> datetime | None:
    return None if value is None else parse_ts(value)


async def scalar(db: aiosqlite.Connection, sql: str) -> Any:
    """The first column of the first row, or ``None``."""
    async with db.execute(sql) as cursor:
        row = await cursor.fetchone()
    return None if row is None else row[0]


class SqliteDatabase:
    """An open, migrated SQLite file (see :func:`signaling.store.sqlite.schema.open_database`)."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self.connection = db
        self.path = path
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        await self.connection.close()

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[None]:
        """Reads that must agree with each other (a room and its links): one read
        transaction, so a delete by another connection cannot land between them."""
        async with self._lock:
            await self.connection.execute("BEGIN")
            try:
                yield
            finally:
                await self.connection.rollback()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Statements run through :meth:`execute` inside it commit together or not at all."""
        async with self._lock:
            with full_is_typed(self.path):
                await self.connection.execute("BEGIN IMMEDIATE")
                try:
                    yield
                    # A full disk may refuse the commit itself (the WAL cannot grow).
                    await self.connection.commit()
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        await self.connection.rollback()
                    raise

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Cursor:
        """One statement inside :meth:`transaction` (which holds the lock)."""
        return await self.connection.execute(sql, tuple(params))

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        """One statement per row inside :meth:`transaction`."""
        await self.connection.executemany(sql, rows)

    async def one(self, sql: str, params: Iterable[Any]) -> sqlite3.Row | None:
        async with self.connection.execute(sql, tuple(params)) as cursor:
            return await cursor.fetchone()

    async def all(self, sql: str, params: Iterable[Any]) -> list[sqlite3.Row]:
        async with self.connection.execute(sql, tuple(params)) as cursor:
            return list(await cursor.fetchall())

    async def one_of(
        self, of: Callable[[sqlite3.Row], T], sql: str, params: Iterable[Any]
    ) -> T | None:
        """The first row made a record by ``of``, or ``None``."""
        row = await self.one(sql, params)
        return None if row is None else of(row)

    async def scalar(self, sql: str) -> Any:
        return await scalar(self.connection, sql)

    async def write(self, sql: str, params: Iterable[Any]) -> int:
        """One statement, atomic on its own (autocommit); returns the rows it changed."""
        async with self._lock:
            with full_is_typed(self.path):
                cursor = await self.connection.execute(sql, tuple(params))
            return cursor.rowcount

    async def page(
        self,
        of: Callable[[sqlite3.Row], T],
        table: str,
        columns: str,
        clauses: list[str],
        params: list[Any],
        limit: int,
        after: tuple[str, str] | None,
        order: str = "created_at",
        id_column: str = "id",
    ) -> Page[T]:
        """One page of ``table`` newest first (keyset on ``order, id``), each row made a
        record by ``of``, with the sort key to continue after when more rows follow.
        ``columns`` starts with ``id``."""
        clauses = list(clauses)
        params = list(params)
        if after is not None:
            clauses.append(f"({order} < ? OR ({order} = ? AND {id_column} < ?))")
            params.extend([after[0], after[0], after[1]])
        sql = f"SELECT {columns} FROM {table}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY {order} DESC, {id_column} DESC LIMIT ?"
        rows = await self.all(sql, [*params, limit + 1])
        if len(rows) <= limit:
            return Page([of(row) for row in rows], None)
        position = [name.strip() for name in columns.split(",")].index(order)
        last = rows[limit - 1]
        return Page([of(row) for row in rows[:limit]], (str(last[position]), str(last[0])))


class SqliteConcept:
    """The base of each concept's implementation: its tables over a shared database.

    A concept class defines only public methods of its protocol (helpers are module
    functions), so :class:`~signaling.store.sqlite.store.SqliteStore` can inherit them all
    without two defining one name.
    """

    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database
