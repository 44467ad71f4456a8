"""ICE servers handed to clients, with time-limited TURN credentials (the coturn REST scheme:
``use-auth-secret`` / ``static-auth-secret`` in turnserver.conf).

The username is ``"<expiry unix time>:<participant id>"`` and the password is
``base64(HMAC-SHA1(shared secret, username))``: coturn checks both without a database, and
the credential stops working at the expiry. Pure: ``now`` is an argument.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = ["IceConfig", "IceServerEntry", "turn_credentials"]

DEFAULT_TURN_TTL = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class IceServerEntry:
    urls: list[str]
    username: str | None = None
    credential: str | None = None


def turn_credentials(secret: str, user: str, expires_at: datetime) -> tuple[str, str]:
    username = f"{int(expires_at.timestamp())}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


@dataclass(frozen=True, slots=True)
class IceConfig:
    """``urls``: ``stun:`` and ``turn:``/``turns:`` URLs. TURN URLs get credentials made
    from ``turn_secret``; without a secret they are handed out without credentials."""

    urls: list[str] = field(default_factory=list)
    turn_secret: str | None = None
    turn_ttl: timedelta = DEFAULT_TURN_TTL

    def __post_init__(self) -> None:
        for url in self.urls:
            if not url.startswith(("stun:", "turn:", "turns:")):
                raise ValueError(f"ICE server URLs start with stun:, turn: or turns: ({url!r})")

    def for_participant(self, participant_id: str, now: datetime) -> list[IceServerEntry]:
        stun = [u for u in self.urls if u.startswith("stun:")]
        turn = [u for u in self.urls if not u.startswith("stun:")]
        servers = [IceServerEntry(urls=stun)] if stun else []
        if turn:
            if self.turn_secret:
                user, password = turn_credentials(
                    self.turn_secret, participant_id, now + self.turn_ttl
                )
                servers.append(IceServerEntry(urls=turn, username=user, credential=password))
            else:
                servers.append(IceServerEntry(urls=turn))
        return servers
