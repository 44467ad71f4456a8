"""Themes: colours, brand text and a logo for the join and meeting views of the rooms that
use them."""

from __future__ import annotations

import dataclasses
import logging

from signaling.api.schemas import ThemeCreate, ThemeUpdate
from signaling.clock import Clock
from signaling.errors import NoLogo, NotFound, PayloadTooLarge, UnknownTheme, UnsupportedMediaType
from signaling.models import ThemeRecord
from signaling.pagination import decode_cursor
from signaling.store import Page, ThemeStore
from signaling.tokens import new_secret

__all__ = ["LOGO_MAX_BYTES", "LOGO_TYPES", "ThemeService", "logo_type"]

logger = logging.getLogger(__name__)

LOGO_MAX_BYTES = 256 * 1024
#: What a logo may be, told by its first bytes (SVG is refused: it can carry script).
LOGO_TYPES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}


def logo_type(data: bytes) -> str | None:
    """The image type of ``data`` from its magic bytes (WebP too), or None."""
    for magic, kind in LOGO_TYPES.items():
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


class ThemeService:
    def __init__(self, store: ThemeStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def create(self, spec: ThemeCreate) -> ThemeRecord:
        now = self._clock.now()
        theme = ThemeRecord(
            id="thm_" + new_secret(6),
            name=spec.name,
            base=spec.base.value,
            primary=spec.primary,
            background=spec.background,
            accent=spec.accent,
            text=spec.text,
            brand_text=spec.brand_text,
            created_at=now,
            updated_at=now,
        )
        await self._store.save_theme(theme)
        logger.info("theme %s created", theme.id)
        return theme

    async def get(self, theme_id: str) -> ThemeRecord:
        theme = await self._store.get_theme(theme_id)
        if theme is None:
            raise NotFound(f"no theme with id {theme_id!r}")
        return theme

    async def check_exists(self, theme_id: str | None) -> None:
        """For rooms: a theme id must name a theme."""
        if theme_id is not None and await self._store.get_theme(theme_id) is None:
            raise UnknownTheme(f"no theme with id {theme_id!r}")

    async def list(self, limit: int, cursor: str | None) -> Page[ThemeRecord]:
        return await self._store.list_themes(limit, decode_cursor(cursor))

    async def update(self, theme_id: str, patch: ThemeUpdate) -> ThemeRecord:
        theme = await self.get(theme_id)
        changes = {k: v for k, v in patch.model_dump(exclude_unset=True).items() if v is not None}
        if "base" in changes:
            changes["base"] = str(changes["base"])
        if "brand_text" in patch.model_fields_set and patch.brand_text is None:
            changes["brand_text"] = None
        updated = dataclasses.replace(theme, **changes, updated_at=self._clock.now())
        await self._store.save_theme(updated)
        return updated

    async def delete(self, theme_id: str) -> None:
        """Rooms that used it show the default look."""
        if not await self._store.delete_theme(theme_id):
            raise NotFound(f"no theme with id {theme_id!r}")

    async def set_logo(self, theme_id: str, data: bytes) -> ThemeRecord:
        if len(data) > LOGO_MAX_BYTES:
            raise PayloadTooLarge(f"the logo is {len(data)} bytes; at most {LOGO_MAX_BYTES}")
        kind = logo_type(data)
        if kind is None:  # an empty body too
            raise UnsupportedMediaType("the logo must be a PNG, JPEG, GIF or WebP image")
        if not await self._store.set_theme_logo(theme_id, data, kind):
            raise NotFound(f"no theme with id {theme_id!r}")
        return await self.get(theme_id)

    async def logo(self, theme_id: str) -> tuple[bytes, str]:
        found = await self._store.get_theme_logo(theme_id)
        if found is None:
            await self.get(theme_id)  # 404 when there is no such theme
            raise NoLogo(f"theme {theme_id!r} has no logo")
        return found
