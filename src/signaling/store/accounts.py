"""What the accounts service needs from persistence: API keys and the server's settings
(the admin password, the participant token key, first-run state).

Each method is one statement, atomic on its own. Writes that fail for a full disk raise
:class:`~signaling.store.errors.StoreFull` and keep nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from signaling.models import ApiKeyRecord
from signaling.store.page import Page

__all__ = ["AccountStore"]


class AccountStore(Protocol):
    async def get_setting(self, name: str) -> str | None: ...

    async def set_setting_if_absent(self, name: str, value: str) -> str:
        """Store ``value`` under ``name`` unless one is there; return the stored value (so
        of two servers racing to set it, both use the winner's)."""

    async def insert_api_key(self, key: ApiKeyRecord) -> None:
        """Add a key (a taken id or hash is the backend's integrity error)."""

    async def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        """The key with this hash, revoked or not."""

    async def get_api_key(self, key_id: str) -> ApiKeyRecord | None: ...

    async def list_api_keys(self, limit: int, after: tuple[str, str] | None) -> Page[ApiKeyRecord]:
        """Keys newest first (``created_at``, then ``id``), revoked ones included."""

    async def revoke_api_key(self, key_id: str, now: datetime) -> bool:
        """Mark the key revoked at ``now``; ``False`` if unknown or already revoked."""

    async def touch_api_key(self, key_id: str, now: datetime) -> None:
        """Set the key's ``last_used_at``."""
