"""API keys and the server's settings on SQLite
(:class:`~signaling.store.accounts.AccountStore`)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from signaling.clock import format_ts, parse_ts
from signaling.models import ApiKeyRecord
from signaling.store.page import Page
from signaling.store.sqlite.database import SqliteConcept, dt, ts

__all__ = ["SqliteAccounts"]

_KEY_COLUMNS = "id, name, prefix, key_hash, created_at, last_used_at, revoked_at"


class SqliteAccounts(SqliteConcept):
    async def get_setting(self, name: str) -> str | None:
        row = await self._db.one("SELECT value FROM settings WHERE name = ?", (name,))
        return None if row is None else str(row[0])

    async def set_setting_if_absent(self, name: str, value: str) -> str:
        await self._db.write(
            "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
            (name, value),
        )
        stored = await self.get_setting(name)
        assert stored is not None
        return stored

    # -- API keys --------------------------------------------------------------------------

    async def insert_api_key(self, key: ApiKeyRecord) -> None:
        await self._db.write(
            "INSERT INTO api_keys (id, name, prefix, key_hash, created_at, last_used_at, "
            "revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                key.id,
                key.name,
                key.prefix,
                key.key_hash,
                format_ts(key.created_at),
                ts(key.last_used_at),
                ts(key.revoked_at),
            ),
        )

    async def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        return await self._db.one_of(
            _key_of,
            f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_hash = ?",
            (key_hash,),
        )

    async def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        return await self._db.one_of(
            _key_of,
            f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE id = ?",
            (key_id,),
        )

    async def list_api_keys(self, limit: int, after: tuple[str, str] | None) -> Page[ApiKeyRecord]:
        return await self._db.page(_key_of, "api_keys", _KEY_COLUMNS, [], [], limit, after)

    async def revoke_api_key(self, key_id: str, now: datetime) -> bool:
        return (
            await self._db.write(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (format_ts(now), key_id),
            )
            == 1
        )

    async def touch_api_key(self, key_id: str, now: datetime) -> None:
        await self._db.write(
            "UPDATE api_keys SET last_used_at = ? WHERE id = ?", (format_ts(now), key_id)
        )


def _key_of(row: sqlite3.Row) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row[0],
        name=row[1],
        prefix=row[2],
        key_hash=row[3],
        created_at=parse_ts(row[4]),
        last_used_at=dt(row[5]),
        revoked_at=dt(row[6]),
    )
