"""Every use the SFU makes of aiortc, aioice and pylibsrtp internals, in one place.

aiortc, aioice and pylibsrtp are pinned exactly in pyproject.toml (:data:`WRITTEN_FOR`), and
tests/sfu/test_internals.py fails, naming the package and version, when another version is
installed or when an attribute named here is gone. The rest of ``sfu`` calls this module and
reads no underscore name of theirs. What is used, and why:

aiortc (``RTCDtlsTransport``)
  ``_state`` (read per packet: an egress is valid while CONNECTED), ``_tx_srtp`` (its libsrtp
  session, to encrypt outside aiortc), ``_send_rtp`` (the TURN path), ``transport._connection``
  (its aioice connection); patched: ``_recv_next`` (a packet that raises is dropped, the
  connection goes on), ``_handle_rtp_data`` and ``_handle_rtcp_data`` (every parse error
  caught; they read ``_rtp_header_extensions_map`` and ``_rtp_router``).
aiortc (``RTCRtpReceiver``)
  ``_handle_rtp_packet`` replaced per receiver (RTP goes to the relay, never to the jitter
  buffer and decoder) and ``__remote_bitrate_estimator`` dropped with it (only that handler
  feeds it; 0.47 MiB per video receiver), ``_handle_rtcp_packet`` wrapped per receiver
  (sender reports),
  ``_send_rtcp_pli`` and ``_send_rtcp_nack`` (keyframe requests and NACKs upstream).
aiortc (``RTCRtpSender``)
  ``_ssrc`` (the subscriber stream's SSRC), ``_stream_id`` (the msid stream: the publisher),
  ``_handle_rtcp_packet`` replaced per sender (subscriber RTCP comes to the relay), and the
  sender-report fields ``__ntp_timestamp``, ``__rtp_timestamp``, ``__packet_count``,
  ``__octet_count`` (no frame goes through the sender, so it never fills them).
aiortc (``RTCRtpTransceiver``)
  ``_codecs`` and ``_headerExtensions``: what was negotiated.
aiortc (``MediaStreamTrack``)
  ``_id`` set: a relayed track carries the published track's id (the msid track id).
aiortc (``RTCPeerConnection``)
  ``__iceTransports`` and the ``__connect`` task (found by its coroutine's name): ``close()``
  does not wait for either.
aioice (``Connection``)
  ``_nominated`` (the pair an egress sends on), ``_query_consent_task`` (stopped when it
  started after ``close()``), ``_queue`` (bounded); patched: ``request_received`` (reads
  ``_valid_username``: which addresses know the ICE password), ``check_state`` (which pass a
  check), ``data_received`` (the bounded queue).
aioice (``StunProtocol``)
  patched: ``datagram_received`` (what reaches DTLS/SRTP, :mod:`sfu.guard`); our own
  attribute ``_meetbox_peers`` holds the validated addresses.
aioice (modules)
  ``aioice.ice.asyncio`` and ``aioice.turn.asyncio`` replaced (``--rtc-ports``: sockets bind
  inside a range), ``aioice.ice.get_host_addresses`` replaced (``--rtc-ips``).
aiortc (its imports of PyAV)
  :mod:`sfu.lazyav` (it must run before aiortc is imported, so it is its own module) gives
  aiortc stand-ins for the PyAV names it binds at import time (``lazyav.DEFERRED``), so a
  forwarding process never loads libav*; tests/sfu/test_internals.py checks that importing
  the SFU leaves PyAV unloaded and that aiortc's codecs still work through the stand-ins.
pylibsrtp
  ``_binding.lib`` and ``_binding.ffi`` (``srtp_protect`` called directly), a session's
  ``_srtp``, ``_cdata`` and ``_buffer`` (its context and the buffer it encrypts in).
"""

from __future__ import annotations

import asyncio
import logging
import operator
import socket
from collections.abc import Callable, Coroutine
from types import ModuleType
from typing import Any, cast

import aioice.ice
import aioice.turn
from aioice import stun
from aioice.ice import CandidatePair, Connection, StunProtocol
from aiortc import (
    MediaStreamTrack,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
)
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters
from aiortc.rtp import AnyRtcpPacket, RtcpPacket, RtpPacket
from pylibsrtp import _binding

from sfu.guard import (
    MALFORMED,
    MAX_FAILURES_IN_A_ROW,
    MAX_PEERS,
    MAX_QUEUED,
    Drop,
    classify,
    count,
)

__all__ = [
    "SRTP_FFI",
    "SRTP_LIB",
    "WRITTEN_FOR",
    "codecs",
    "connect_tasks",
    "dtls_state",
    "header_extensions",
    "ice_transports",
    "install_guard",
    "nominated",
    "send_nack",
    "send_pli",
    "send_rtp_through_aiortc",
    "sender_ssrc",
    "set_aioice_asyncio",
    "set_host_addresses",
    "set_sender_report",
    "set_stream_id",
    "set_track_id",
    "srtp_session",
    "stop_consent",
    "take_receiver_rtp",
    "take_sender_rtcp",
    "watch_receiver_rtcp",
]

logger = logging.getLogger("sfu.guard")

#: The versions this module was written for (and pyproject.toml pins).
WRITTEN_FOR = {"aiortc": "1.16.0", "aioice": "0.13.0", "pylibsrtp": "1.0.0"}

RtcpHandler = Callable[[AnyRtcpPacket], Coroutine[Any, Any, None]]
RtpHandler = Callable[..., Coroutine[Any, Any, None]]

# -- aiortc: DTLS transports -----------------------------------------------------------------

#: ``dtls_state(transport)``: a DTLS transport's state (a C call: it is read per packet).
dtls_state: Callable[[RTCDtlsTransport], Any] = operator.attrgetter("_state")


def srtp_session(dtls: RTCDtlsTransport) -> tuple[Any, Any, Any, Any] | None:
    """The transport's outgoing libsrtp session as (session, ``srtp_t``, cdata buffer, its
    buffer view), None before DTLS set it up. The session is returned to be held: libsrtp's
    context lives as long as it."""
    session: Any = dtls._tx_srtp
    if session is None:
        return None
    return session, session._srtp[0], session._cdata, session._buffer


def nominated(dtls: RTCDtlsTransport) -> tuple[socket.socket | None, Any] | None:
    """The ICE pair ``dtls`` sends on, as (its UDP socket, the remote address); the socket is
    None when the pair is relayed (TURN: aioice must wrap each packet). None if no pair is
    nominated (yet, or any more)."""
    pair = dtls.transport._connection._nominated.get(1)
    if pair is None:
        return None
    transport = pair.protocol.transport if type(pair.protocol) is StunProtocol else None
    sock = transport.get_extra_info("socket") if transport is not None else None
    return sock, pair.remote_addr


def send_rtp_through_aiortc(dtls: RTCDtlsTransport, data: bytes) -> Coroutine[Any, Any, None]:
    """aiortc's own way out for one RTP packet (encrypt, then aioice: TURN wraps it)."""
    return dtls._send_rtp(data)


# -- aiortc: receivers, senders, transceivers --------------------------------------------------


def codecs(transceiver: RTCRtpTransceiver) -> list[RTCRtpCodecParameters]:
    """The codecs negotiated on ``transceiver``, preferred first (RTX included)."""
    return transceiver._codecs


def header_extensions(transceiver: RTCRtpTransceiver) -> list[RTCRtpHeaderExtensionParameters]:
    return transceiver._headerExtensions


def set_track_id(track: MediaStreamTrack, track_id: str) -> None:
    """``track.id`` (aiortc offers no setter): the msid track id in the SDP."""
    track._id = track_id


def sender_ssrc(sender: RTCRtpSender) -> int:
    return sender._ssrc


def set_stream_id(sender: RTCRtpSender, stream_id: str) -> None:
    """The msid stream the subscriber's SDP shows for this sender."""
    sender._stream_id = stream_id


def set_sender_report(
    sender: RTCRtpSender, ntp_timestamp: int, rtp_timestamp: int, packets: int, octets: int
) -> None:
    """What the sender's next RTCP sender report says."""
    setattr(sender, "_RTCRtpSender__ntp_timestamp", ntp_timestamp)  # noqa: B010
    setattr(sender, "_RTCRtpSender__rtp_timestamp", rtp_timestamp)  # noqa: B010
    setattr(sender, "_RTCRtpSender__packet_count", packets)  # noqa: B010
    setattr(sender, "_RTCRtpSender__octet_count", octets)  # noqa: B010


def take_sender_rtcp(sender: RTCRtpSender, handle: RtcpHandler) -> None:
    """RTCP for ``sender`` goes to ``handle`` instead of aiortc."""
    sender._handle_rtcp_packet = handle  # type: ignore[method-assign,assignment]


def take_receiver_rtp(receiver: RTCRtpReceiver, handle: RtpHandler) -> None:
    """RTP for ``receiver`` goes to ``handle(packet, arrival_time_ms=...)`` instead of aiortc's
    jitter buffer and decoder. Its remote bitrate estimator goes too: only aiortc's own RTP
    handler feeds it (and skips it when None, as for audio), and a video receiver's holds a
    1000-bucket rate counter, 0.47 MiB per published video track."""
    receiver._handle_rtp_packet = handle  # type: ignore[method-assign]
    setattr(receiver, "_RTCRtpReceiver__remote_bitrate_estimator", None)  # noqa: B010


def watch_receiver_rtcp(receiver: RTCRtpReceiver, watch: Callable[[AnyRtcpPacket], None]) -> None:
    """``watch`` sees each RTCP packet for ``receiver`` after aiortc handled it (once: a
    receiver watched again drops the previous watch)."""
    handle: Any = receiver._handle_rtcp_packet
    handle = getattr(handle, "__wrapped__", handle)

    async def handle_and_watch(packet: AnyRtcpPacket) -> None:
        await handle(packet)
        watch(packet)

    handle_and_watch.__wrapped__ = handle  # type: ignore[attr-defined]
    receiver._handle_rtcp_packet = handle_and_watch  # type: ignore[method-assign]


def send_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> Coroutine[Any, Any, None]:
    return receiver._send_rtcp_pli(media_ssrc)


def send_nack(
    receiver: RTCRtpReceiver, media_ssrc: int, lost: list[int]
) -> Coroutine[Any, Any, None]:
    return receiver._send_rtcp_nack(media_ssrc, lost)


# -- aiortc / aioice: closing ------------------------------------------------------------------


def connect_tasks(pc: RTCPeerConnection) -> list[asyncio.Task[Any]]:
    """``pc``'s running ``__connect`` tasks (``close()`` leaves them to notice on their own)."""
    return [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "") == "RTCPeerConnection.__connect"
        and getattr(task.get_coro(), "cr_frame", None) is not None
        and task.get_coro().cr_frame.f_locals.get("self") is pc  # type: ignore[union-attr]
    ]


def ice_transports(pc: RTCPeerConnection) -> set[Any]:
    transports: set[Any] = pc._RTCPeerConnection__iceTransports  # type: ignore[attr-defined]
    return transports


def stop_consent(ice_transport: Any) -> asyncio.Task[None] | None:
    """Cancel the aioice consent task of ``ice_transport`` if it runs; returns it."""
    task: asyncio.Task[None] | None = ice_transport._connection._query_consent_task
    if task is not None and not task.done():
        task.cancel()
        return task
    return None


# -- pylibsrtp -----------------------------------------------------------------------------

SRTP_LIB: Any = _binding.lib
SRTP_FFI: Any = _binding.ffi

# -- aioice: module globals ----------------------------------------------------------------

#: aioice's own choice of host addresses (every interface's, loopback left out).
AIOICE_HOST_ADDRESSES = aioice.ice.get_host_addresses


def set_aioice_asyncio(module: ModuleType) -> None:
    """The ``asyncio`` aioice's ICE and TURN code see (``--rtc-ports``)."""
    aioice.ice.asyncio = module  # type: ignore[attr-defined]
    aioice.turn.asyncio = module  # type: ignore[attr-defined]


def set_host_addresses(get: Callable[[bool, bool], list[str]] | None) -> None:
    """Where aioice gathers host candidates (``--rtc-ips``); None: its own choice."""
    aioice.ice.get_host_addresses = get or AIOICE_HOST_ADDRESSES  # type: ignore[assignment]


# -- the guard's hooks (sfu.guard holds the policy) ------------------------------------------


def validate(protocol: StunProtocol, addr: tuple[Any, ...]) -> None:
    """``addr`` proved to be the peer of ``protocol``'s connection."""
    peers: set[tuple[str, int]] | None = getattr(protocol, "_meetbox_peers", None)
    if peers is None:
        peers = set()
        protocol._meetbox_peers = peers  # type: ignore[attr-defined]
    if len(peers) < MAX_PEERS:
        peers.add((addr[0], addr[1]))


def install_guard() -> None:
    """Wrap aioice's and aiortc's entry points as :mod:`sfu.guard` describes. Idempotent."""
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
                count(Drop.UNKNOWN, addr)
                return
            except MALFORMED:
                count(Drop.MALFORMED_STUN, addr)
                return
            try:
                original(self, packet, addr)
            except MALFORMED:
                count(Drop.MALFORMED_STUN, addr)
            return
        reason = classify(packet)
        if reason is None:
            peers: set[tuple[str, int]] | None = getattr(self, "_meetbox_peers", None)
            if peers is not None and (addr[0], addr[1]) in peers:
                self.receiver.data_received(packet, self.local_candidate.component)
                return
            reason = Drop.STRANGER
        count(reason, addr)

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
            count(Drop.QUEUE_FULL, None)
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
            count(Drop.RECEIVE_ERROR, None)
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
        except MALFORMED:
            count(Drop.MALFORMED_RTP, None)
            return
        receiver = self._rtp_router.route_rtp(packet)
        if receiver is not None:
            await receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms)

    async def handle_rtcp_data(self: RTCDtlsTransport, data: bytes) -> None:
        try:
            packets = RtcpPacket.parse(data)
        except MALFORMED:
            count(Drop.MALFORMED_RTCP, None)
            return
        for packet in packets:
            try:
                recipients = self._rtp_router.route_rtcp(packet)
            except MALFORMED:  # a REMB listing more SSRCs than it holds: struct.error
                count(Drop.MALFORMED_RTCP, None)
                continue
            for recipient in recipients:
                await recipient._handle_rtcp_packet(packet)

    RTCDtlsTransport._handle_rtp_data = handle_rtp_data  # type: ignore[method-assign]
    RTCDtlsTransport._handle_rtcp_data = handle_rtcp_data  # type: ignore[method-assign]


# -- what the version test checks -----------------------------------------------------------

#: Methods and module globals this module reads or replaces: (owner, attribute).
PATCHED: list[tuple[object, str]] = [
    (RTCDtlsTransport, "_recv_next"),
    (RTCDtlsTransport, "_handle_rtp_data"),
    (RTCDtlsTransport, "_handle_rtcp_data"),
    (RTCDtlsTransport, "_send_rtp"),
    (RTCRtpReceiver, "_handle_rtp_packet"),
    (RTCRtpReceiver, "_handle_rtcp_packet"),
    (RTCRtpReceiver, "_send_rtcp_pli"),
    (RTCRtpReceiver, "_send_rtcp_nack"),
    (RTCRtpSender, "_handle_rtcp_packet"),
    (RTCPeerConnection, "_RTCPeerConnection__connect"),
    (StunProtocol, "datagram_received"),
    (Connection, "request_received"),
    (Connection, "check_state"),
    (Connection, "data_received"),
    (Connection, "_valid_username"),
    (aioice.ice, "asyncio"),
    (aioice.turn, "asyncio"),
    (aioice.ice, "get_host_addresses"),
    (_binding, "lib"),
    (_binding, "ffi"),
    (_binding.lib, "srtp_protect"),
]
#: Instance attributes read or written, by class name (checked on live objects).
INSTANCE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "RTCDtlsTransport": ("_state", "_tx_srtp", "_rtp_header_extensions_map", "_rtp_router"),
    "RTCIceTransport": ("_connection",),
    "RTCRtpTransceiver": ("_codecs", "_headerExtensions"),
    "RTCRtpReceiver": ("_RTCRtpReceiver__remote_bitrate_estimator",),
    "RTCRtpSender": (
        "_ssrc",
        "_stream_id",
        "_RTCRtpSender__ntp_timestamp",
        "_RTCRtpSender__rtp_timestamp",
        "_RTCRtpSender__packet_count",
        "_RTCRtpSender__octet_count",
    ),
    "RTCPeerConnection": ("_RTCPeerConnection__iceTransports",),
    "MediaStreamTrack": ("_id",),
    "Connection": ("_nominated", "_query_consent_task", "_queue"),
    "Session": ("_srtp", "_cdata", "_buffer"),
}
