"""The way out to one subscriber: encrypt with its SRTP context and send to its nominated ICE
pair, with as little Python per packet as possible (the relay's hot path).

aiortc's own path (``RTCDtlsTransport._send_rtp``) is a coroutine per packet through several
layers, ending in ``transport.sendto``. Here each subscriber gets an :class:`Egress` once its
DTLS transport is connected: a duplicate of the ICE socket's descriptor (so a plain
non-blocking ``sendto``, no event-loop transport), the remote address, and libsrtp called
directly on a buffer allocated once. Relies on aiortc internals (``_state``, ``_tx_srtp``,
``transport._connection._nominated``) and pylibsrtp's (``_srtp``, ``_cdata``, ``_buffer``),
both pinned in pyproject.toml.

A subscriber relayed through TURN gets an egress too, which hands each packet to aiortc's
path (aioice must wrap it for the TURN server): slower, but decided once, not per packet.

A packet that cannot go out (socket buffer full, encryption refused) is dropped and counted:
real-time media is not queued behind a slow socket.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

from aioice.ice import StunProtocol
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcdtlstransport import State as DtlsState
from pylibsrtp import _binding

from .background import log_failure

__all__ = ["Egress"]

_lib: Any = _binding.lib
_ffi: Any = _binding.ffi
#: libsrtp's largest SRTP trailer (auth tag + MKI), as pylibsrtp reserves it.
_TRAILER = 144


class Egress:
    """Encrypt-and-send to one subscriber. Valid while its DTLS transport is connected."""

    __slots__ = ("_cdata", "_len", "_max", "_sock", "_srtp", "_view", "addr", "dropped", "dtls")

    def __init__(self, dtls: RTCDtlsTransport, sock: socket.socket | None, addr: Any) -> None:
        """``sock`` None: relayed through TURN, sent through aiortc."""
        self.dtls = dtls
        self.addr = addr
        self.dropped = 0
        self._sock = sock
        session: Any = dtls._tx_srtp
        self._srtp = session._srtp[0]
        self._cdata = session._cdata
        self._view = memoryview(session._buffer)
        self._len = _ffi.new("int *")
        self._max = len(self._view) - _TRAILER

    @classmethod
    def open(cls, dtls: RTCDtlsTransport) -> Egress | None:
        """An egress for ``dtls`` once it is connected (None before): straight to the socket
        over a plain UDP pair, through aiortc when relayed by TURN."""
        if dtls._state is not DtlsState.CONNECTED or dtls._tx_srtp is None:
            return None
        pair = dtls.transport._connection._nominated.get(1)
        if pair is None:
            return None
        transport = pair.protocol.transport if type(pair.protocol) is StunProtocol else None
        ice_socket = transport.get_extra_info("socket") if transport is not None else None
        if ice_socket is None:
            return cls(dtls, None, pair.remote_addr)
        sock = socket.socket(fileno=os.dup(ice_socket.fileno()))
        sock.setblocking(False)
        return cls(dtls, sock, pair.remote_addr)

    def send(self, data: bytes) -> bool:
        """Encrypt ``data`` (one RTP packet) and send it; False if it was dropped."""
        if self._sock is None:
            task = asyncio.ensure_future(self.dtls._send_rtp(data))
            task.add_done_callback(log_failure)
            return True
        n = len(data)
        if n > self._max:
            self.dropped += 1
            return False
        view = self._view
        view[:n] = data
        self._len[0] = n
        if _lib.srtp_protect(self._srtp, self._cdata, self._len) != 0:
            self.dropped += 1
            return False
        try:
            self._sock.sendto(view[: self._len[0]], self.addr)
        except OSError:  # the socket buffer is full, or the socket went away
            self.dropped += 1
            return False
        return True

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
