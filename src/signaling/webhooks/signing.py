"""Signing and verifying webhook deliveries. Receivers can use this module on its own:

    from signaling.webhooks.signing import Verifier, InvalidSignature

    verifier = Verifier(secret)          # one per endpoint secret; keep it for replays
    try:
        event = verifier.verify(raw_body, headers)   # headers: any case-insensitive mapping
    except InvalidSignature as exc:
        return 400, str(exc)

Each delivery carries ``X-Meetbox-Timestamp`` (Unix seconds when it was sent) and
``X-Meetbox-Signature``: hex HMAC-SHA256 of ``"{timestamp}.{raw body}"`` with the endpoint's
secret. A body changed in transit, a timestamp outside the tolerance (5 minutes) or the same
signed request seen twice is refused. Redeliveries are signed afresh (new timestamp), so they
pass; deduplicate events on their ``id``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from signaling.errors import SignalingError

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "InvalidSignature",
    "Verifier",
    "sign",
    "verify",
]

SIGNATURE_HEADER = "X-Meetbox-Signature"
TIMESTAMP_HEADER = "X-Meetbox-Timestamp"
#: Seconds a timestamp may be away from the receiver's clock.
DEFAULT_TOLERANCE = 300


class InvalidSignature(SignalingError, ValueError):
    """The request is not a genuine, fresh delivery from meetbox."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def verify(
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> dict[str, Any]:
    """Check the signature and the timestamp of one delivery; return the parsed event.
    Raises :class:`InvalidSignature` saying what is wrong. No replay check: see
    :class:`Verifier`."""
    stamp = _header(headers, TIMESTAMP_HEADER)
    signature = _header(headers, SIGNATURE_HEADER)
    if not stamp or not signature:
        raise InvalidSignature(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER}")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise InvalidSignature(f"{TIMESTAMP_HEADER} is not an integer") from None
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise InvalidSignature("the signature does not match the body")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise InvalidSignature(
            f"the timestamp is {int(current - timestamp)} s away from now (tolerance "
            f"{int(tolerance)} s): stale or replayed"
        )
    try:
        event: dict[str, Any] = json.loads(body)
    except ValueError:
        raise InvalidSignature("the body is not JSON") from None
    return event


class Verifier:
    """:func:`verify` plus replay protection: a signed request is accepted once. Remembers
    signatures for the tolerance window, at most ``max_remembered`` of them."""

    def __init__(
        self,
        secret: str,
        *,
        tolerance: float = DEFAULT_TOLERANCE,
        max_remembered: int = 100_000,
    ) -> None:
        self._secret = secret
        self._tolerance = tolerance
        self._max = max_remembered
        self._seen: OrderedDict[str, float] = OrderedDict()

    def verify(
        self, body: bytes, headers: Mapping[str, str], *, now: float | None = None
    ) -> dict[str, Any]:
        current = time.time() if now is None else now
        event = verify(self._secret, body, headers, tolerance=self._tolerance, now=current)
        signature = (_header(headers, SIGNATURE_HEADER) or "").strip().lower()
        while self._seen and (
            len(self._seen) >= self._max
            or next(iter(self._seen.values())) < current - 2 * self._tolerance
        ):
            self._seen.popitem(last=False)
        if signature in self._seen:
            raise InvalidSignature("this request was already received: replayed")
        self._seen[signature] = current
        return event
