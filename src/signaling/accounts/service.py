"""API keys, the admin password and the token signing key, and the first-start bootstrap."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from signaling.clock import Clock
from signaling.errors import Invalid, NotFound, Unauthorized
from signaling.models import ApiKeyRecord
from signaling.pagination import decode_cursor
from signaling.store import AccountStore, Page, StoreFull
from signaling.tokens import new_secret, sha256_hex

__all__ = [
    "API_KEY_MIN_LENGTH",
    "Accounts",
    "FirstStart",
    "hash_password",
    "verify_password",
]

logger = logging.getLogger(__name__)

API_KEY_PREFIX = "mbk_"
API_KEY_MIN_LENGTH = 24
ADMIN_PASSWORD_MIN_LENGTH = 12
#: ``last_used_at`` is written at most this often per key: no write per request.
TOUCH_INTERVAL = timedelta(minutes=1)

_SETTING_INITIALIZED = "initialized_at"
_SETTING_ADMIN_PASSWORD = "admin_password_hash"
#: How long an admin console login lasts.
ADMIN_SESSION_TTL = timedelta(hours=12)
_SETTING_TOKEN_KEY = "token_signing_key"

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=len(expected), **_SCRYPT)
    return hmac.compare_digest(digest, expected)


@dataclass(frozen=True, slots=True)
class FirstStart:
    """Credentials created on the first start, to be shown once. ``None``: seeded by the
    operator (``MEETBOX_INITIAL_*``), so there is nothing to show."""

    admin_password: str | None
    api_key: str | None


class Accounts:
    def __init__(self, store: AccountStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        #: ``last_used_at`` could not be written lately (said once in the log, not per request).
        self._touch_failing = False

    async def bootstrap(
        self, initial_api_key: str | None = None, initial_admin_password: str | None = None
    ) -> FirstStart | None:
        """On an empty store, create the admin password and the first API key.

        Returns what was generated (to print once), or ``None`` if the store was set up
        already; the ``initial_*`` values only count on that first start.
        """
        if initial_api_key is not None and len(initial_api_key) < API_KEY_MIN_LENGTH:
            raise Invalid(f"the initial API key must be at least {API_KEY_MIN_LENGTH} characters")
        if (
            initial_admin_password is not None
            and len(initial_admin_password) < ADMIN_PASSWORD_MIN_LENGTH
        ):
            raise Invalid(
                f"the initial admin password must be at least {ADMIN_PASSWORD_MIN_LENGTH} "
                "characters"
            )
        await self._store.set_setting_if_absent(_SETTING_TOKEN_KEY, secrets.token_hex(32))
        if await self._store.get_setting(_SETTING_INITIALIZED) is not None:
            return None
        password = initial_admin_password or new_secret(12)
        await self._store.set_setting_if_absent(_SETTING_ADMIN_PASSWORD, hash_password(password))
        _, key = await self.create_api_key("initial", key=initial_api_key)
        await self._store.set_setting_if_absent(_SETTING_INITIALIZED, self._clock.now().isoformat())
        logger.info("first start: created the admin password and API key 'initial'")
        return FirstStart(
            admin_password=None if initial_admin_password else password,
            api_key=None if initial_api_key else key,
        )

    async def token_signing_key(self) -> bytes:
        value = await self._store.get_setting(_SETTING_TOKEN_KEY)
        if value is None:
            value = await self._store.set_setting_if_absent(
                _SETTING_TOKEN_KEY, secrets.token_hex(32)
            )
        return bytes.fromhex(value)

    async def check_admin_password(self, password: str) -> bool:
        stored = await self._store.get_setting(_SETTING_ADMIN_PASSWORD)
        # scrypt takes tens of milliseconds of CPU: off the event loop, which carries media.
        return stored is not None and await asyncio.to_thread(verify_password, password, stored)

    async def admin_session(self, now: datetime) -> tuple[str, datetime]:
        """A signed admin console session (the cookie's value) and when it expires."""
        expires = now + ADMIN_SESSION_TTL
        body = f"{int(expires.timestamp())}.{new_secret(12)}"
        return f"{body}.{await self._session_mac(body)}", expires

    async def admin_session_expiry(self, value: str | None, now: datetime) -> datetime | None:
        """When the admin session ``value`` (a cookie) expires; None if it is not a good one
        or has expired."""
        if not value or value.count(".") != 2:
            return None
        body, _, mac = value.rpartition(".")
        if not hmac.compare_digest(mac, await self._session_mac(body)):
            return None
        try:
            expires = datetime.fromtimestamp(int(body.split(".", 1)[0]), tz=now.tzinfo)
        except (ValueError, OverflowError, OSError):
            return None
        return expires if now < expires else None

    async def _session_mac(self, body: str) -> str:
        key = await self.token_signing_key()
        return hmac.new(key, b"admin-session:" + body.encode(), hashlib.sha256).hexdigest()

    async def create_api_key(self, name: str, key: str | None = None) -> tuple[ApiKeyRecord, str]:
        """A new key named ``name``; returns the record and the key (shown only once)."""
        key = key or API_KEY_PREFIX + new_secret(32)
        record = ApiKeyRecord(
            id="key_" + new_secret(6),
            name=name,
            prefix=key[:8],
            key_hash=sha256_hex(key),
            created_at=self._clock.now(),
        )
        await self._store.insert_api_key(record)
        return record, key

    async def authenticate(self, key: str) -> ApiKeyRecord:
        """The record of a valid, unrevoked key. (How a request carries its key, and what a
        request without one is told, is the HTTP edge's: :mod:`signaling.api.deps`.)"""
        record = await self._store.find_api_key(sha256_hex(key))
        if record is None:
            raise Unauthorized("the API key is not valid")
        if record.revoked_at is not None:
            raise Unauthorized("the API key has been revoked")
        now = self._clock.now()
        if record.last_used_at is None or now - record.last_used_at >= TOUCH_INTERVAL:
            await self._touch(record, now)
        return record

    async def _touch(self, record: ApiKeyRecord, now: datetime) -> None:
        """Bookkeeping: a request is never refused because its key's ``last_used_at`` could
        not be saved (a full disk)."""
        try:
            await self._store.touch_api_key(record.id, now)
        except StoreFull as exc:
            if not self._touch_failing:
                logger.warning("API keys' last use is not being recorded: %s", exc.message)
            self._touch_failing = True
            return
        if self._touch_failing:
            logger.info("API keys' last use is recorded again")
        self._touch_failing = False
        record.last_used_at = now

    async def list_api_keys(self, limit: int, cursor: str | None) -> Page[ApiKeyRecord]:
        return await self._store.list_api_keys(limit, decode_cursor(cursor))

    async def revoke_api_key(self, key_id: str) -> ApiKeyRecord:
        if not await self._store.revoke_api_key(key_id, self._clock.now()):
            record = await self._store.get_api_key(key_id)
            if record is None:
                raise NotFound(f"no API key with id {key_id!r}")
            return record  # already revoked: revoking again is a no-op
        record = await self._store.get_api_key(key_id)
        assert record is not None
        return record
