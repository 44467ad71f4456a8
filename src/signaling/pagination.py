"""Opaque cursors for keyset pagination (newest first, by ``created_at`` then ``id``)."""

from __future__ import annotations

import base64
import binascii
import json

from signaling.errors import InvalidCursor

__all__ = ["CURSOR_PATTERN", "MAX_LIMIT", "decode_cursor", "encode_cursor"]

MAX_LIMIT = 100
#: What a cursor looks like (unpadded base64url), for the API schema. One that looks right
#: but that this server did not make is refused with 400 ``invalid-cursor``: no schema can
#: tell which positions a server handed out.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"


def encode_cursor(after: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(after)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[str, str] | None:
    """The sort key a cursor stands for; :class:`InvalidCursor` if this server did not make
    it."""
    if not cursor:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if isinstance(raw, list) and len(raw) == 2 and all(isinstance(p, str) for p in raw):
            return raw[0], raw[1]
    except (ValueError, binascii.Error, UnicodeDecodeError):
        pass
    raise InvalidCursor(
        "cursor is not one this server handed out",
        errors=[{"loc": ["query", "cursor"], "msg": "invalid"}],
    )
