"""Fuzzing the media path where outside bytes reach it (RELIABILITY 7, 23, 24).

Mutated packets from the corpus in tests/fixtures/media/ (:mod:`tests.sfu.fuzzing`) and
packets captured from a live publisher go, in a real meeting of real aiortc peers:

- decrypted RTP into the publisher connection's routing (aiortc's parser and router, then
  the relay: header, extensions, RTX unwrap, VP8/H.264 keyframe detection, rewriting,
  NACK generation, the subscriber's send path);
- decrypted RTCP into both legs (SR, RR, SDES, BYE, NACK, PLI, FIR, REMB: aiortc's parser,
  the relay's NACK answers and keyframe requests, sender-report translation);
- raw datagrams (DTLS records, SRTP, STUN) from the peer's own validated address and from
  a stranger, into ``sfu.guard`` and aiortc's DTLS receive loop.

No exception may escape (the suite's loop hygiene fails a test on any), the receive loop
may not have to drop anything as an error, and afterwards everyone still sees everyone.
SDP offers are fuzzed through ``check_offer`` and a real ``publish_offer``.

An input that breaks something is written to tests/fixtures/media/crash-KIND-*.bin by the
failing run: keep it (it is replayed by every run from then on) and fix the cause.
``MEETBOX_FUZZ_SEED`` replays a run; ``MEETBOX_FUZZ_RUNS`` sets its length.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcdtlstransport import State as DtlsState
from hypothesis import given, settings
from hypothesis import strategies as st

from sfu.errors import MediaError
from sfu.guard import Drop
from sfu.keyframes import h264_start, vp8_keyframe
from sfu.room import MediaRoom
from sfu.sdp import check_offer
from sfu.stats import STATS
from sfu.synthetic import ColorTrack, ToneTrack
from signaling.client import MeetboxClient
from tests.conftest import Server
from tests.sfu.fuzzing import CORPUS, Fuzzer, corpus, runs
from tests.sfu.test_guard import send_raw
from tests.sfu.test_media import Listener, client_offer
from tests.signaling.test_ws_media import clients, join

pytestmark = pytest.mark.timeout(180)


def keep(kind: str, data: bytes) -> str:
    """Write a crashing input into the corpus; the failure message names it."""
    path = CORPUS / f"crash-{kind}-{hashlib.sha1(data).hexdigest()[:12]}.bin"
    path.write_bytes(data)
    return str(path)


async def feed(
    kind: str, fuzzer: Fuzzer, count: int, into: Callable[[bytes], Awaitable[None]]
) -> None:
    for i in range(count):
        data = fuzzer.next()
        try:
            await into(data)
        except Exception as exc:
            raise AssertionError(f"{fuzzer}: {exc!r} on {keep(kind, data)}") from exc
        if i % 50 == 0:
            await asyncio.sleep(0)  # let real media and the tasks the input started run


def server_transports(server: Server, room_id: str, pid: str) -> list[RTCDtlsTransport]:
    live = server.services.meetings.live(room_id)
    assert live is not None
    peer = live.media.room.peers[pid]
    found = []
    for pc in (peer.publisher, peer.subscriber):
        for t in pc.getTransceivers():
            transport = t.receiver.transport if pc is peer.publisher else t.sender.transport
            if transport not in found:
                found.append(transport)
    return found


async def capture_rtp(transport: RTCDtlsTransport, count: int) -> list[bytes]:
    """The next ``count`` decrypted RTP packets a server transport receives."""
    captured: list[bytes] = []
    enough = asyncio.Event()
    original = transport._handle_rtp_data

    async def handle(data: bytes, arrival_time_ms: int) -> None:
        if len(captured) < count:
            captured.append(data)
        else:
            enough.set()
        await original(data, arrival_time_ms)

    transport._handle_rtp_data = handle  # type: ignore[method-assign]
    try:
        async with asyncio.timeout(10):
            await enough.wait()
    finally:
        del transport._handle_rtp_data
    return captured


def all_frames(client: MeetboxClient) -> int:
    return sum(t.frames for t in client.received.values())


async def everyone_goes_on(
    made: list[MeetboxClient], transports: list[RTCDtlsTransport], frames: int = 60
) -> None:
    """Connected, in the meeting, and ``frames`` more decoded frames each."""
    before = [all_frames(c) for c in made]
    async with asyncio.timeout(20):
        for client, n in zip(made, before, strict=True):
            await client.wait_for(lambda c, n=n: all_frames(c) >= n + frames)
    for transport in transports:
        assert transport._state is DtlsState.CONNECTED
    for client in made:
        assert not [m for m in client.messages if m["type"] == "participant_left"]
        assert client.closed_with is None


async def test_fuzzed_media_reaches_the_relay_and_breaks_nothing(server: Server) -> None:
    room = await server.room(name="Fuzzed")
    async with clients() as made:
        red = await join(server, room, "red", made)
        viewer = await join(server, room, "viewer", made)
        await red.publish({"camera": ColorTrack((200, 30, 30)), "microphone": ToneTrack(440.0)})
        await viewer.publish({"camera": ColorTrack((30, 30, 200))})
        async with asyncio.timeout(20):
            await viewer.wait_for(lambda c: sum(t.frames >= 5 for t in c.received.values()) >= 2)
            await red.wait_for(lambda c: any(t.frames >= 5 for t in c.received.values()))
        red_id, viewer_id = (c.joined["you"]["id"] for c in made)
        publisher, *_ = server_transports(server, room.id, red_id)
        *_, subscriber = server_transports(server, room.id, viewer_id)
        errors = STATS.dropped_datagrams[Drop.RECEIVE_ERROR.value]

        captured = await capture_rtp(publisher, 60)
        count = runs(1500)

        # RTCP on both legs, and raw datagrams from red's own validated address and from a
        # stranger: nobody may notice.
        rtcp = Fuzzer(corpus("rtcp"))
        await feed("rtcp", rtcp, count // 2, publisher._handle_rtcp_data)
        await feed("rtcp", rtcp, count // 2, subscriber._handle_rtcp_data)
        raw = Fuzzer(corpus("dtls") + corpus("stun") + corpus("rtp") + corpus("rtcp"))
        pairs = [
            pair
            for pc in (red.publisher, red.subscriber)
            for ice in pc._RTCPeerConnection__iceTransports  # type: ignore[attr-defined]
            for pair in ice._connection._nominated.values()
        ]
        sdp = red.publisher.remoteDescription.sdp
        host, port = re.findall(r"a=candidate:\S+ 1 udp \d+ (\d+\.\d+\.\d+\.\d+) (\d+)", sdp)[0]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:

            async def send(data: bytes) -> None:
                for pair in pairs:
                    send_raw(pair.protocol.transport, data, pair.remote_addr)
                stranger.sendto(data, (host, int(port)))

            await feed("raw", raw, count // 2, send)
        await everyone_goes_on(made, [publisher, subscriber])
        assert STATS.dropped_datagrams[Drop.RECEIVE_ERROR.value] == errors, raw

        # RTP as if from the publisher itself, under its own SSRCs too. Garbage a publisher
        # sends is relayed as such (nothing is decoded), so its subscribers' decoders may
        # stumble on it; the server, the connections and the relay must not.
        rtp = Fuzzer(corpus("rtp") + captured)
        await feed("rtp", rtp, count, lambda d: publisher._handle_rtp_data(d, 0))
        forwarded = STATS.forwarded_packets  # and the real media is still relayed:
        async with asyncio.timeout(10):
            await red.wait_for(lambda c: STATS.forwarded_packets > forwarded + 200)
        await everyone_goes_on(made, [publisher, subscriber], frames=0)


@settings(max_examples=400, deadline=None)
@given(payload=st.binary(max_size=64))
def test_keyframe_detection_takes_any_payload(payload: bytes) -> None:
    assert vp8_keyframe(payload) in (True, False)
    assert h264_start(payload) in (0, 1, 2)


def mutate_lines(sdp: str, draw: Any) -> str:
    lines = sdp.split("\r\n")
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "dup", "junk", "number", "cut"]))
        if action == "drop":
            del lines[i]
        elif action == "dup":
            lines[i:i] = [lines[i]] * draw(st.integers(1, 50))
        elif action == "junk":
            lines[i] = draw(st.text(max_size=80))
        elif action == "number":
            lines[i] = re.sub(r"\d+", str(draw(st.integers(-(2**40), 2**40))), lines[i])
        else:
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        if not lines:
            break
    return "\r\n".join(lines)


OFFER: list[str] = []


async def real_offer() -> str:
    if not OFFER:
        OFFER.append(await client_offer())
    return OFFER[0]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_sdp_checks_refuse_cleanly(data: st.DataObject) -> None:
    offer = asyncio.run(real_offer())
    text = mutate_lines(offer, data.draw) if data.draw(st.booleans()) else data.draw(st.text())
    try:
        check_offer(text)
    except MediaError as exc:
        assert exc.code in ("invalid_sdp", "too_many_tracks")


async def test_fuzzed_offers_through_a_real_publisher_connection() -> None:
    """What passes ``check_offer`` goes on to aiortc: any failure there is a MediaError, and
    the peer takes a good offer afterwards."""
    offer = await client_offer()
    room = MediaRoom(Listener())
    fuzzer = Fuzzer([offer.encode()])
    shuffle = random.Random(fuzzer.seed)
    try:
        for i in range(runs(60)):
            lines = offer.split("\r\n")
            for _ in range(shuffle.randint(1, 3)):
                j = shuffle.randrange(len(lines))
                lines[j] = fuzzer.next().decode("utf-8", "replace") if i % 2 else ""
            peer = await room.add_peer(f"p{i}", may_publish=True)
            try:
                await peer.publish_offer("\r\n".join(lines), {})
            except MediaError:
                pass
            except Exception as exc:
                raise AssertionError(f"{fuzzer}: {exc!r} on offer {lines!r}") from exc
            await room.remove_peer(f"p{i}")
        peer = await room.add_peer("good", may_publish=True)
        assert "a=candidate:" in await peer.publish_offer(offer, {})
    finally:
        await room.close()
