"""Drop STUN messages aioice cannot parse instead of raising on the event loop.

aioice's ``StunProtocol.datagram_received`` treats a ``ValueError`` from its STUN parser as
"not STUN" but lets other parse errors through: an attribute too short for its type (a
2-byte PRIORITY, say) raises ``struct.error`` out of the datagram callback. The socket
survives, but every such packet from anyone who can reach a media port is an unhandled
exception with a traceback in the log. :func:`install` wraps the callback once: those
packets are dropped and counted (``STATS.malformed_stun``). aioice is pinned exactly.
"""

from __future__ import annotations

import logging
import struct
from typing import Any

from aioice.ice import StunProtocol

from .stats import STATS

__all__ = ["install"]

logger = logging.getLogger(__name__)

#: What aioice's parser and request handling raise on malformed input.
_MALFORMED = (struct.error, ValueError, KeyError, IndexError, TypeError)


def install() -> None:
    """Idempotent."""
    original: Any = StunProtocol.datagram_received
    if getattr(original, "__wrapped__", None) is not None:
        return

    def datagram_received(self: StunProtocol, data: bytes | str, addr: tuple[Any, ...]) -> None:
        try:
            original(self, data, addr)
        except _MALFORMED as exc:
            STATS.malformed_stun += 1
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("dropped a malformed STUN message from %s: %r", addr, exc)

    datagram_received.__wrapped__ = original  # type: ignore[attr-defined]
    StunProtocol.datagram_received = datagram_received  # type: ignore[method-assign]
