"""What may reach DTLS and SRTP from a media socket (RELIABILITY 23 and 24).

aioice 0.13 hands every datagram that does not parse as STUN to the DTLS transport, whatever
its size and whoever sent it, through an unbounded queue; aiortc's DTLS transport then reads
``data[0]``, so one empty datagram from anyone who can reach a media port raised
``IndexError`` out of its receive loop and ended that participant's media. Its parser errors
on odd STUN (a 2-byte PRIORITY) raised out of the datagram callback too.

:func:`install` wraps those aioice and aiortc entry points once (both are pinned exactly):

- a datagram reaches DTLS/SRTP only if its source is a *validated* address of that ICE
  connection: one that sent an authenticated STUN binding request (it knows the ICE
  password; what mediasoup and LiveKit check) or whose connectivity check succeeded;
- empty datagrams, datagrams over :data:`MAX_DATAGRAM` bytes and datagrams whose first byte
  is neither STUN, DTLS nor RTP/RTCP (RFC 7983) are dropped first;
- at most :data:`MAX_QUEUED` datagrams wait for the DTLS transport; more are dropped;
- a packet that makes aiortc's (or the relay's) receive path raise is dropped, and the
  connection goes on;
- STUN that aioice's parser cannot take is dropped;
- decrypted RTP and RTCP that aiortc's parsers cannot take are dropped: they raised more
  than the ``ValueError`` aiortc catches (``struct.error`` on a header extension of the wrong
  length, or routing a REMB that lists more SSRCs than it holds; found by
  tests/sfu/test_fuzz.py).

Every drop is counted by reason (:data:`sfu.stats.STATS`, ``/metrics``). Nothing is logged
per packet unless debug logging is on. :func:`classify` is the pure part.
"""

from __future__ import annotations

import enum
import logging
import struct
from typing import Any, cast

from aioice import stun
from aioice.ice import CandidatePair, Connection, StunProtocol
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtp import RtcpPacket, RtpPacket

from sfu.stats import STATS

__all__ = ["MAX_DATAGRAM", "MAX_QUEUED", "Drop", "classify", "install"]

logger = logging.getLogger(__name__)

#: The largest non-STUN datagram taken: an Ethernet MTU (Janus caps RTP/RTCP there too;
#: browsers keep RTP, RTCP and DTLS records under about 1200 bytes).
MAX_DATAGRAM = 1500
#: Datagrams waiting for one connection's DTLS transport (a few seconds of a camera).
MAX_QUEUED = 1024
#: Validated addresses kept per socket (a client has one or two; only the ICE password adds).
MAX_PEERS = 16
#: Receive-path failures in a row after which the failure is let through (a transport that
#: raises on every call is broken, not attacked): far more than packets an attack can send
#: between two good ones without being the peer.
MAX_FAILURES_IN_A_ROW = 10_000

#: What aioice's parser and request handling raise on malformed input.
_MALFORMED = (struct.error, ValueError, KeyError, IndexError, TypeError)


class Drop(enum.Enum):
    """Why a datagram on a media port was dropped (the ``reason`` label in ``/metrics``)."""

    EMPTY = "empty"
    OVERSIZE = "oversize"
    UNKNOWN = "unknown"
    STRANGER = "stranger"
    QUEUE_FULL = "queue_full"
    MALFORMED_STUN = "malformed_stun"
    MALFORMED_RTP = "malformed_rtp"
    MALFORMED_RTCP = "malformed_rtcp"
    RECEIVE_ERROR = "receive_error"


def classify(data: bytes) -> Drop | None:
    """Whether a datagram that is not STUN can go to DTLS/SRTP by its looks alone: None if
    it can, else why not. First bytes per RFC 7983: 20-63 DTLS, 128-191 RTP/RTCP."""
    size = len(data)
    if size == 0:
        return Drop.EMPTY
    if size > MAX_DATAGRAM:
        return Drop.OVERSIZE
    first = data[0]
    if 19 < first < 64 or 127 < first < 192:
        return None
    return Drop.UNKNOWN


def _peers(protocol: StunProtocol) -> set[tuple[str, int]]:
    peers: set[tuple[str, int]] | None = getattr(protocol, "_meetbox_peers", None)
    if peers is None:
        peers = set()
        protocol._meetbox_peers = peers  # type: ignore[attr-defined]
    return peers


def validate(protocol: StunProtocol, addr: tuple[Any, ...]) -> None:
    """``addr`` proved to be the peer of ``protocol``'s connection."""
    peers = _peers(protocol)
    if len(peers) < MAX_PEERS:
        peers.add((addr[0], addr[1]))


def _count(reason: Drop, addr: Any) -> None:
    STATS.dropped_datagrams[reason.value] += 1
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("dropped a datagram from %s: %s", addr, reason.value)


def install() -> None:
    """Idempotent."""
    original: Any = StunProtocol.datagram_received
    if getattr(original, "__wrapped__", None) is not None:
        return

    def datagram_received(self: StunProtocol, data: bytes | str, addr: tuple[Any, ...]) -> None:
        packet = cast(bytes, data)  # a datagram protocol: always bytes
        if packet and packet[0] < 4:  # STUN's range (RFC 7983)
            try:
                stun.parse_message(packet)
            except ValueError:
                # Not STUN after all: aioice would pass it to DTLS, which ignores it.
                _count(Drop.UNKNOWN, addr)
                return
            except _MALFORMED:
                _count(Drop.MALFORMED_STUN, addr)
                return
            try:
                original(self, packet, addr)
            except _MALFORMED:
                _count(Drop.MALFORMED_STUN, addr)
            return
        reason = classify(packet)
        if reason is None:
            peers: set[tuple[str, int]] | None = getattr(self, "_meetbox_peers", None)
            if peers is not None and (addr[0], addr[1]) in peers:
                self.receiver.data_received(packet, self.local_candidate.component)
                return
            reason = Drop.STRANGER
        _count(reason, addr)

    datagram_received.__wrapped__ = original  # type: ignore[attr-defined]
    StunProtocol.datagram_received = datagram_received  # type: ignore[method-assign]

    request_received: Any = Connection.request_received

    def authenticated_request(
        self: Connection, message: stun.Message, addr: tuple[str, int], protocol: StunProtocol
    ) -> None:
        request_received(self, message, addr, protocol)
        # The checks aioice just made before answering (RFC 8489 9.1.3): only then does
        # the sender know this connection's ICE password.
        attributes = message.attributes
        if (
            message.message_method == stun.Method.BINDING
            and "USERNAME" in attributes
            and "MESSAGE-INTEGRITY" in attributes
            and self._valid_username(attributes["USERNAME"])
            and message.check_message_integrity(self.local_password.encode("utf8"))
        ):
            validate(protocol, addr)

    Connection.request_received = authenticated_request  # type: ignore[method-assign]

    check_state: Any = Connection.check_state

    def checked(self: Connection, pair: CandidatePair, state: CandidatePair.State) -> None:
        check_state(self, pair, state)
        if state == CandidatePair.State.SUCCEEDED:
            validate(pair.protocol, pair.remote_addr)

    Connection.check_state = checked  # type: ignore[method-assign]

    def data_received(self: Connection, data: bytes, component: int) -> None:
        if self._queue.qsize() >= MAX_QUEUED:
            _count(Drop.QUEUE_FULL, None)
            return
        self._queue.put_nowait((data, component))

    Connection.data_received = data_received  # type: ignore[method-assign]

    recv_next: Any = RTCDtlsTransport._recv_next

    async def guarded_recv_next(self: RTCDtlsTransport) -> None:
        try:
            await recv_next(self)
        except ConnectionError:
            raise
        except Exception as exc:
            failures = getattr(self, "_meetbox_failures", 0) + 1
            self._meetbox_failures = failures  # type: ignore[attr-defined]
            if failures >= MAX_FAILURES_IN_A_ROW:
                raise
            _count(Drop.RECEIVE_ERROR, None)
            if not getattr(self, "_meetbox_warned", False):  # once per connection
                self._meetbox_warned = True  # type: ignore[attr-defined]
                logger.warning("a media packet could not be handled, dropped: %r", exc)
        else:
            self._meetbox_failures = 0  # type: ignore[attr-defined]

    RTCDtlsTransport._recv_next = guarded_recv_next  # type: ignore[method-assign]

    # aiortc's own two routing steps, with every parse error caught (it catches ValueError).
    async def handle_rtp_data(self: RTCDtlsTransport, data: bytes, arrival_time_ms: int) -> None:
        try:
            packet = RtpPacket.parse(data, self._rtp_header_extensions_map)
        except _MALFORMED:
            _count(Drop.MALFORMED_RTP, None)
            return
        receiver = self._rtp_router.route_rtp(packet)
        if receiver is not None:
            await receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms)

    async def handle_rtcp_data(self: RTCDtlsTransport, data: bytes) -> None:
        try:
            packets = RtcpPacket.parse(data)
        except _MALFORMED:
            _count(Drop.MALFORMED_RTCP, None)
            return
        for packet in packets:
            try:
                recipients = self._rtp_router.route_rtcp(packet)
            except _MALFORMED:  # a REMB listing more SSRCs than it holds: struct.error
                _count(Drop.MALFORMED_RTCP, None)
                continue
            for recipient in recipients:
                await recipient._handle_rtcp_packet(packet)

    RTCDtlsTransport._handle_rtp_data = handle_rtp_data  # type: ignore[method-assign]
    RTCDtlsTransport._handle_rtcp_data = handle_rtcp_data  # type: ignore[method-assign]
