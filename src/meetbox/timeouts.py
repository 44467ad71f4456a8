"""HTTP connection timeouts that uvicorn lacks.

uvicorn times out an idle keep-alive connection only after it has answered a request on it,
and has no timeout at all for a request whose head never finishes. So a connection that
sends nothing, or sends headers a byte at a time (slowloris), stayed open for good.
:class:`HeadTimeoutProtocol` gives every request's head :data:`HEAD_TIMEOUT` seconds from its
first byte (from the connection's opening for the first request) and closes the connection
when it runs out. Heads are bounded in size by h11 itself (16 KiB), bodies by
:class:`signaling.api.limits.BodyLimit`.
"""

from __future__ import annotations

import asyncio
import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["HEAD_TIMEOUT", "KEEP_ALIVE_TIMEOUT", "HeadTimeoutProtocol"]

logger = logging.getLogger(__name__)

#: Seconds a request's line and headers may take to arrive.
HEAD_TIMEOUT = 10.0
#: Seconds a connection may stay idle between requests (uvicorn's ``timeout_keep_alive``).
KEEP_ALIVE_TIMEOUT = 5


class HeadTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head."""

    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and self.conn.their_state is h11.IDLE:
            self._arm()  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm()  # the head is complete (or the request was refused)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(HEAD_TIMEOUT, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            logger.debug("closing a connection whose request head did not arrive in time")
            self.transport.close()
