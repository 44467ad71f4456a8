"""sfu.guard: what reaches DTLS/SRTP from a media socket, on real aioice connections over
loopback (``--rtc-ips 127.0.0.1``)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace

import aioice
import pytest
from aioice import stun
from aiortc.rtcdtlstransport import RTCDtlsTransport, RtpRouter
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap

from sfu import internals, ports
from sfu.guard import MAX_DATAGRAM, MAX_QUEUED, Drop, classify
from sfu.sdp import URI_ABS_SEND_TIME, URI_AUDIO_LEVEL, URI_MID
from sfu.stats import STATS

internals.install_guard()


def test_classify_by_first_byte_and_size() -> None:
    assert classify(b"") is Drop.EMPTY
    assert classify(b"\x80" * (MAX_DATAGRAM + 1)) is Drop.OVERSIZE
    assert classify(b"\x80" * MAX_DATAGRAM) is None  # RTP/RTCP
    assert classify(b"\x16\xfe\xfd") is None  # DTLS
    for first in (4, 19, 64, 127, 192, 255):
        assert classify(bytes([first, 0])) is Drop.UNKNOWN, first


@pytest.fixture
def loopback() -> Iterator[None]:
    ports.install_host_addresses(("127.0.0.1",))
    yield
    ports.install_host_addresses(None)


@pytest.fixture
async def pair(loopback: None) -> AsyncIterator[tuple[aioice.Connection, aioice.Connection]]:
    a = aioice.Connection(ice_controlling=True, use_ipv6=False)
    b = aioice.Connection(ice_controlling=False, use_ipv6=False)
    await asyncio.gather(a.gather_candidates(), b.gather_candidates())
    assert [c.host for c in a.local_candidates] == ["127.0.0.1"]  # --rtc-ips
    for here, there in ((a, b), (b, a)):
        for candidate in there.local_candidates:
            await here.add_remote_candidate(candidate)
        await here.add_remote_candidate(None)
        here.remote_username = there.local_username
        here.remote_password = there.local_password
    await asyncio.gather(a.connect(), b.connect())
    yield a, b
    await asyncio.gather(a.close(), b.close())


def send_from(connection: aioice.Connection, data: bytes) -> None:
    """Send ``data`` from ``connection``'s own socket to its nominated peer (asyncio's
    transports drop an empty ``sendto``; the kernel does not)."""
    pair = next(iter(connection._nominated.values()))
    send_raw(pair.protocol.transport, data, pair.remote_addr)


def send_raw(transport: asyncio.DatagramTransport, data: bytes, addr: tuple[str, int]) -> None:
    fd = os.dup(transport.get_extra_info("socket").fileno())
    with socket.socket(fileno=fd) as sock:
        sock.sendto(data, addr)


def address(connection: aioice.Connection) -> tuple[str, int]:
    candidate = connection.local_candidates[0]
    return (candidate.host, candidate.port)


async def test_only_the_validated_peer_reaches_dtls(
    pair: tuple[aioice.Connection, aioice.Connection],
) -> None:
    a, b = pair
    before = STATS.dropped_datagrams.copy()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        for datagram in (b"\x16\xfe\xfdhello", b"\x80\x60" + bytes(20), b"", b"\x05junk"):
            stranger.sendto(datagram, address(b))
        # The peer's own junk (empty, oversize) is dropped too; its real data gets through.
        send_from(a, b"")
        send_from(a, b"\x80" * (MAX_DATAGRAM + 1))
        await a.send(b"\x80\x60from the peer")
        async with asyncio.timeout(5):
            assert await b.recv() == b"\x80\x60from the peer"
    assert b._queue.empty()
    grew = STATS.dropped_datagrams - before
    assert grew[Drop.STRANGER.value] == 2
    assert grew[Drop.EMPTY.value] == 2
    assert grew[Drop.UNKNOWN.value] == 1
    assert grew[Drop.OVERSIZE.value] == 1


async def test_a_peer_that_floods_fills_a_bounded_queue(
    pair: tuple[aioice.Connection, aioice.Connection],
) -> None:
    a, b = pair
    before = STATS.dropped_datagrams[Drop.QUEUE_FULL.value]
    sent = MAX_QUEUED + 200
    for i in range(sent):
        await a.send(b"\x80\x60" + i.to_bytes(4, "big"))
        await asyncio.sleep(0)  # one loop turn reads a datagram: the socket buffer never fills
    for _ in range(1000):  # the last datagrams still in the socket: a few loop turns
        if STATS.dropped_datagrams[Drop.QUEUE_FULL.value] - before >= 200:
            break
        await asyncio.sleep(0)
    assert b._queue.qsize() == MAX_QUEUED
    assert STATS.dropped_datagrams[Drop.QUEUE_FULL.value] - before == 200


def test_rtc_ips_are_addresses() -> None:
    assert ports.parse_addresses(" 127.0.0.1, ::1,127.0.0.1") == ("127.0.0.1", "::1")
    for bad in ("", "localhost", "127.0.0.1,nope", "300.1.1.1"):
        with pytest.raises(ValueError):
            ports.parse_addresses(bad)


def extensions_map() -> HeaderExtensionsMap:
    ids = {URI_MID: 1, URI_ABS_SEND_TIME: 2, URI_AUDIO_LEVEL: 3}
    extensions = [RTCRtpHeaderExtensionParameters(id=i, uri=uri) for uri, i in ids.items()]
    result = HeaderExtensionsMap()
    result.configure(RTCRtpParameters(headerExtensions=extensions))
    return result


async def test_rtp_and_rtcp_that_aiortc_cannot_parse_are_dropped() -> None:
    """Found by tests/sfu/test_fuzz.py: an audio-level extension of 0 bytes and a REMB that
    lists more SSRCs than it carries raised struct.error, which aiortc does not catch (it
    catches ValueError), out of the connection's receive loop."""
    transport = SimpleNamespace(
        _rtp_header_extensions_map=extensions_map(), _rtp_router=RtpRouter()
    )
    # Two-byte header extensions (RFC 8285), audio level (id 3) with no value.
    rtp = bytes([0x90, 96, 0, 1]) + bytes(8) + bytes([0x10, 0x00, 0, 1, 3, 0, 0, 0])
    remb = b"REMB" + bytes([5, 0, 0, 1]) + bytes(4)  # 5 SSRCs announced, 1 there
    rtcp = bytes([0x8F, 206, 0, 5]) + bytes(8) + remb
    before = STATS.dropped_datagrams.copy()
    await RTCDtlsTransport._handle_rtp_data(transport, rtp, 0)  # type: ignore[arg-type]
    await RTCDtlsTransport._handle_rtcp_data(transport, rtcp)  # type: ignore[arg-type]
    grew = STATS.dropped_datagrams - before
    assert grew[Drop.MALFORMED_RTP.value] == 1 and grew[Drop.MALFORMED_RTCP.value] == 1


def binding_request(username: str, password: str) -> bytes:
    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    request.attributes["USERNAME"] = username
    request.attributes["PRIORITY"] = 0x6E7F00FF
    request.attributes["ICE-CONTROLLING"] = 1
    request.add_message_integrity(password.encode())
    request.add_fingerprint()
    return bytes(request)


async def test_a_binding_request_with_the_wrong_password_validates_nothing(
    pair: tuple[aioice.Connection, aioice.Connection],
) -> None:
    """RELIABILITY 24: a stranger who knows the username fragments (they travel in the
    clear in checks) but not the password is answered 401 and stays a stranger; one that
    knows the password (the peer, from another address) is let in."""
    a, b = pair
    loop = asyncio.get_running_loop()
    username = f"{b.local_username}:{a.local_username}"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        stranger.bind(("127.0.0.1", 0))
        stranger.setblocking(False)
        before = STATS.dropped_datagrams[Drop.STRANGER.value]
        stranger.sendto(binding_request(username, "not-the-password"), address(b))
        async with asyncio.timeout(5):
            answer = stun.parse_message(await loop.sock_recv(stranger, 1500))
        assert answer.message_class == stun.Class.ERROR
        assert answer.attributes["ERROR-CODE"][0] == 401
        stranger.sendto(b"\x17\xfe\xfd" + bytes(30), address(b))
        stranger.sendto(binding_request(username, b.local_password), address(b))
        async with asyncio.timeout(5):
            answer = stun.parse_message(await loop.sock_recv(stranger, 1500))
        assert answer.message_class == stun.Class.RESPONSE
        stranger.sendto(b"\x17\xfe\xfdnow known", address(b))
        async with asyncio.timeout(5):
            assert await b.recv() == b"\x17\xfe\xfdnow known"
        assert STATS.dropped_datagrams[Drop.STRANGER.value] == before + 1
