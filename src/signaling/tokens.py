"""Random secrets, their hashes, and the signed participant token.

The participant token is a JWT (RFC 7519) signed with HS256, so any JWT library can read it;
verification here accepts only ``HS256`` (never ``none``), checks the signature in constant
time and checks expiry against an injected ``now``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from signaling.errors import TokenError
from signaling.models import Role

__all__ = [
    "ParticipantClaims",
    "issue_participant_token",
    "new_secret",
    "sha256_hex",
    "verify_participant_token",
]

_HEADER = {"alg": "HS256", "typ": "JWT"}
_ISSUER = "meetbox"
#: Longer tokens are refused before any parsing.
MAX_TOKEN_BYTES = 4096


def new_secret(nbytes: int = 24) -> str:
    """A URL-safe random secret of ``nbytes`` bytes (24 bytes = 192 bits)."""
    return secrets.token_urlsafe(nbytes)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class ParticipantClaims:
    """What a participant token says, once verified."""

    #: The participant id the signaling layer admits this token as.
    participant_id: str
    room_id: str
    role: Role
    nickname: str
    issued_at: datetime
    expires_at: datetime
    #: Unique token id: what a kick revokes.
    token_id: str
    #: Set for the recorder's token only: it joins as a hidden, subscribe-only participant.
    recording_id: str | None = None


def issue_participant_token(
    key: bytes,
    *,
    participant_id: str,
    room_id: str,
    role: Role,
    nickname: str,
    now: datetime,
    ttl: timedelta,
    recording_id: str | None = None,
) -> tuple[str, ParticipantClaims]:
    claims = ParticipantClaims(
        participant_id=participant_id,
        room_id=room_id,
        role=role,
        nickname=nickname,
        issued_at=now,
        expires_at=now + ttl,
        token_id=new_secret(12),
        recording_id=recording_id,
    )
    payload = {
        "iss": _ISSUER,
        "sub": participant_id,
        "room": room_id,
        "role": role.value,
        "name": nickname,
        "iat": int(now.timestamp()),
        "exp": int(claims.expires_at.timestamp()),
        "jti": claims.token_id,
    }
    if recording_id is not None:
        payload["rec"] = recording_id
    signing_input = ".".join(
        [
            _b64e(json.dumps(_HEADER, separators=(",", ":")).encode()),
            _b64e(json.dumps(payload, separators=(",", ":")).encode()),
        ]
    )
    signature = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64e(signature)}", claims


def verify_participant_token(key: bytes, token: str, now: datetime) -> ParticipantClaims:
    """The claims of ``token``, or :class:`TokenError` saying what is wrong with it."""
    if not token:
        raise TokenError("no token")
    if len(token) > MAX_TOKEN_BYTES:
        raise TokenError("token too long")
    parts = token.split(".")
    if len(parts) != 3 or not token.isascii():
        raise TokenError("token is not a JWT")
    try:
        header = json.loads(_b64d(parts[0]))
        signature = _b64d(parts[2])
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError("token is not a JWT") from exc
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise TokenError("token algorithm must be HS256")
    expected = hmac.new(key, f"{parts[0]}.{parts[1]}".encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise TokenError("token signature does not match")
    try:
        payload: Any = json.loads(_b64d(parts[1]))
        if payload.get("iss") != _ISSUER:
            raise TokenError("token was not issued by meetbox")
        claims = ParticipantClaims(
            participant_id=str(payload["sub"]),
            room_id=str(payload["room"]),
            role=Role(payload["role"]),
            nickname=str(payload["name"]),
            issued_at=datetime.fromtimestamp(int(payload["iat"]), UTC),
            expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
            token_id=str(payload["jti"]),
            recording_id=None if payload.get("rec") is None else str(payload["rec"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise TokenError("token claims are malformed") from exc
    if claims.expires_at <= now:
        raise TokenError("token expired")
    return claims
