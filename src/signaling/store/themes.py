"""What the themes service needs from persistence: themes and their logos.

Each method is one statement, atomic on its own. Writes that fail for a full disk raise
:class:`~signaling.store.errors.StoreFull` and keep nothing.
"""

from __future__ import annotations

from typing import Protocol

from signaling.models import ThemeRecord
from signaling.store.page import Page

__all__ = ["ThemeStore"]


class ThemeStore(Protocol):
    async def save_theme(self, theme: ThemeRecord) -> None:
        """Insert or update (``created_at`` and the logo are kept on update; see
        :meth:`set_theme_logo`)."""

    async def get_theme(self, theme_id: str) -> ThemeRecord | None: ...

    async def list_themes(self, limit: int, after: tuple[str, str] | None) -> Page[ThemeRecord]:
        """Themes newest first (``created_at``, then ``id``)."""

    async def delete_theme(self, theme_id: str) -> bool:
        """``False`` if it did not exist. Rooms naming it are left as they are."""

    async def set_theme_logo(self, theme_id: str, logo: bytes | None, kind: str | None) -> bool:
        """Set (or with ``None`` clear) the logo and its media type; ``False`` if no such
        theme."""

    async def get_theme_logo(self, theme_id: str) -> tuple[bytes, str] | None:
        """``(bytes, media type)``, or ``None`` if no such theme or it has no logo."""
