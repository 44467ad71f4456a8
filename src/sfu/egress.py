"""The way out to one subscriber: encrypt with its SRTP context and send to its nominated ICE
pair, with as little Python per packet as possible (the relay's hot path).

aiortc's own path (``RTCDtlsTransport._send_rtp``) is a coroutine per packet through several
layers, ending in ``transport.sendto``. Here each subscriber gets an :class:`Egress` once its
DTLS transport is connected: a duplicate of the ICE socket's descriptor (so a plain
non-blocking ``sendto``, no event-loop transport), the remote address, and libsrtp called
directly on a buffer allocated once. Relies on aiortc, aioice and pylibsrtp internals (the
DTLS state, its SRTP session, the nominated pair), read through :mod:`sfu.internals`.

A subscriber relayed through TURN gets an egress too, which hands each packet to aiortc's
path (aioice must wrap it for the TURN server): slower, but decided once, not per packet.

The packet itself is written, protected and sent in one C call (``sfu._wire``, built at
install from src/sfu/_wire.c) when it can be; without the compiled module (no C compiler at
install time), or for an address the C path does not take, the same steps run in Python:
:func:`sfu.rtpwrite.build`, libsrtp through cffi, ``socket.sendto``.

A packet that cannot go out (socket buffer full, encryption refused) is dropped and counted:
real-time media is not queued behind a slow socket.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import sys
from types import ModuleType
from typing import Any

from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcdtlstransport import State as DtlsState

from sfu.background import log_failure
from sfu.internals import SRTP_FFI, SRTP_LIB, dtls_state, nominated, send_rtp_through_aiortc
from sfu.internals import srtp_session as _srtp_session
from sfu.rtpwrite import build

_wire: ModuleType | None
try:
    from sfu import _wire
except ImportError:  # built without a C compiler: the same steps in Python
    _wire = None

__all__ = ["Egress", "fast_path", "sockaddr"]

_lib: Any = SRTP_LIB
_ffi: Any = SRTP_FFI
#: srtp_protect's address, for the C path to call the same libsrtp as aiortc.
_PROTECT = int(_ffi.cast("uintptr_t", _ffi.addressof(_lib, "srtp_protect")))
#: libsrtp's largest SRTP trailer (auth tag + MKI), as pylibsrtp reserves it.
_TRAILER = 144


def fast_path() -> bool:
    """Whether the C send path (``sfu._wire``) was built."""
    return _wire is not None


def sockaddr(sock: socket.socket, addr: Any) -> bytes | None:
    """``addr`` (host, port[, flowinfo, scope_id]) as the struct sockaddr ``sendto(2)`` takes
    from ``sock``, or None where the C path leaves it to Python (not Linux, a host name or
    a scoped address, another family than the socket's)."""
    if sys.platform != "linux" or not isinstance(addr, tuple) or len(addr) < 2:
        return None
    host, port = addr[0], addr[1]
    try:
        if sock.family == socket.AF_INET:
            packed = socket.inet_pton(socket.AF_INET, host)
            return struct.pack("=H", socket.AF_INET) + struct.pack("!H", port) + packed + bytes(8)
        if sock.family == socket.AF_INET6:
            packed = socket.inet_pton(socket.AF_INET6, host)
            flowinfo, scope_id = (addr[2], addr[3]) if len(addr) >= 4 else (0, 0)
            return (
                struct.pack("=H", socket.AF_INET6)
                + struct.pack("!HI", port, flowinfo)
                + packed
                + struct.pack("=I", scope_id)
            )
    except (OSError, TypeError, ValueError, struct.error):
        pass
    return None


class Egress:
    """Encrypt-and-send to one subscriber. Valid while its DTLS transport is connected."""

    __slots__ = (
        "_cdata",
        "_ctx",
        "_fd",
        "_len",
        "_max",
        "_session",
        "_sock",
        "_sockaddr",
        "_srtp",
        "_view",
        "addr",
        "dropped",
        "dtls",
    )

    def __init__(self, dtls: RTCDtlsTransport, sock: socket.socket | None, addr: Any) -> None:
        """``sock`` None: relayed through TURN, sent through aiortc."""
        self.dtls = dtls
        self.addr = addr
        self.dropped = 0
        self._sock = sock
        srtp = _srtp_session(dtls)
        if srtp is None:
            raise ValueError("the DTLS transport has no SRTP session yet")
        # The session is held so libsrtp's context outlives every call made with its address.
        self._session, self._srtp, self._cdata, buffer = srtp
        self._view = memoryview(buffer)
        self._len = _ffi.new("int *")
        self._max = len(self._view) - _TRAILER
        #: The C path's arguments, or a None sockaddr where it is not used.
        self._sockaddr = sockaddr(sock, addr) if sock is not None and _wire is not None else None
        self._fd = sock.fileno() if sock is not None else -1
        self._ctx = int(_ffi.cast("uintptr_t", self._srtp)) if self._sockaddr else 0

    @classmethod
    def open(cls, dtls: RTCDtlsTransport) -> Egress | None:
        """An egress for ``dtls`` once it is connected (None before): straight to the socket
        over a plain UDP pair, through aiortc when relayed by TURN."""
        if dtls_state(dtls) is not DtlsState.CONNECTED or _srtp_session(dtls) is None:
            return None
        pair = nominated(dtls)
        if pair is None:
            return None
        ice_socket, remote_addr = pair
        if ice_socket is None:
            return cls(dtls, None, remote_addr)
        sock = socket.socket(fileno=os.dup(ice_socket.fileno()))
        sock.setblocking(False)
        return cls(dtls, sock, remote_addr)

    @property
    def fast(self) -> bool:
        """Whether packets to this subscriber go through the C path."""
        return self._sockaddr is not None

    def send_rtp(
        self, second: int, seq: int, ts: int, ssrc: int, mid: bytes, elements: bytes, payload: bytes
    ) -> bool:
        """Write (header byte 1 = marker | payload type ``second``; header extension
        elements ``mid`` + ``elements``), encrypt and send one RTP packet; False if dropped."""
        if self._sockaddr is not None:
            assert _wire is not None
            n = _wire.send_rtp(
                self._fd, self._sockaddr, self._ctx, _PROTECT,
                second, seq, ts, ssrc, mid + elements if mid and elements else mid or elements,
                payload,
            )  # fmt: skip
            if n < 0:
                self.dropped += 1
                return False
            return True
        data = build(bool(second & 0x80), second & 0x7F, seq, ts, ssrc, mid + elements, payload)
        return self.send(data)

    def send(self, data: bytes) -> bool:
        """Encrypt ``data`` (one RTP packet) and send it; False if it was dropped."""
        if self._sock is None:
            task = asyncio.ensure_future(send_rtp_through_aiortc(self.dtls, data))
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
        # The C path stops here: its descriptor number may be given to another socket next.
        self._sockaddr = None
        self._fd = -1
        if self._sock is not None:
            self._sock.close()
