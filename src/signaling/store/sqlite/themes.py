"""Themes and their logos on SQLite (:class:`~signaling.store.themes.ThemeStore`)."""

from __future__ import annotations

import json
import sqlite3

from signaling.clock import format_ts, parse_ts
from signaling.models import ThemeRecord
from signaling.store.page import Page
from signaling.store.sqlite.database import SqliteConcept

__all__ = ["SqliteThemes"]

_THEME_COLUMNS = "id, name, base, colours, brand_text, created_at, updated_at, logo_type"


class SqliteThemes(SqliteConcept):
    async def save_theme(self, theme: ThemeRecord) -> None:
        """Insert or update ``theme`` (its logo is kept; see :meth:`set_theme_logo`)."""
        colours = json.dumps(
            [theme.primary, theme.background, theme.accent, theme.text], separators=(",", ":")
        )
        await self._db.write(
            "INSERT INTO themes (id, name, base, colours, brand_text, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
            "base = excluded.base, colours = excluded.colours, "
            "brand_text = excluded.brand_text, updated_at = excluded.updated_at",
            (
                theme.id,
                theme.name,
                theme.base,
                colours,
                theme.brand_text,
                format_ts(theme.created_at),
                format_ts(theme.updated_at),
            ),
        )

    async def get_theme(self, theme_id: str) -> ThemeRecord | None:
        return await self._db.one_of(
            _theme_of,
            f"SELECT {_THEME_COLUMNS} FROM themes WHERE id = ?",
            (theme_id,),
        )

    async def list_themes(self, limit: int, after: tuple[str, str] | None) -> Page[ThemeRecord]:
        return await self._db.page(_theme_of, "themes", _THEME_COLUMNS, [], [], limit, after)

    async def delete_theme(self, theme_id: str) -> bool:
        return await self._db.write("DELETE FROM themes WHERE id = ?", (theme_id,)) == 1

    async def set_theme_logo(self, theme_id: str, logo: bytes | None, kind: str | None) -> bool:
        return (
            await self._db.write(
                "UPDATE themes SET logo = ?, logo_type = ? WHERE id = ?", (logo, kind, theme_id)
            )
            == 1
        )

    async def get_theme_logo(self, theme_id: str) -> tuple[bytes, str] | None:
        row = await self._db.one("SELECT logo, logo_type FROM themes WHERE id = ?", (theme_id,))
        if row is None or row[0] is None:
            return None
        return bytes(row[0]), str(row[1])


def _theme_of(row: sqlite3.Row) -> ThemeRecord:
    primary, background, accent, text = json.loads(row[3])
    return ThemeRecord(
        id=row[0],
        name=row[1],
        base=row[2],
        primary=primary,
        background=background,
        accent=accent,
        text=text,
        brand_text=row[4],
        created_at=parse_ts(row[5]),
        updated_at=parse_ts(row[6]),
        logo_type=row[7],
    )
