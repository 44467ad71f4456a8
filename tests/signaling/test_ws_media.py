"""Media end to end: real aiortc clients join over the WebSocket of a real server, publish
distinct colours and tones, and decode each other's; the server relays without decoding."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import struct
from collections.abc import AsyncIterator
from typing import Any

import aioice.ice
import pytest

from sfu.stats import STATS
from sfu.synthetic import ColorTrack, ToneTrack
from signaling.client import MeetboxClient
from tests.conftest import Server
from tests.sfu.test_guard import send_raw
from tests.sfu.test_media import assert_server_never_decoded_or_encoded

PEOPLE = {
    "red": ((220, 30, 30), 440.0),
    "green": ((30, 200, 40), 660.0),
    "blue": ((30, 40, 220), 880.0),
}
TONES = [tone for _, tone in PEOPLE.values()]


def close_to(a: tuple[int, int, int] | None, b: tuple[int, int, int]) -> bool:
    return a is not None and all(abs(x - y) < 40 for x, y in zip(a, b, strict=True))


@contextlib.asynccontextmanager
async def clients() -> AsyncIterator[list[MeetboxClient]]:
    made: list[MeetboxClient] = []
    try:
        yield made
    finally:
        for client in made:
            await client.close()


async def join(
    server: Server, room: object, name: str, made: list[MeetboxClient], role: str = "speaker"
) -> MeetboxClient:
    token = await server.token(room, role, name)  # type: ignore[arg-type]
    client = MeetboxClient(server.ws_url, token, tones=TONES)
    made.append(client)
    await client.connect()
    return client


def sees(client: MeetboxClient, ids: dict[str, str], name: str) -> bool:
    colour, tone = PEOPLE[name]
    pid = ids[name]
    tracks = [t for t in client.received.values() if t.participant_id == pid]
    return any(close_to(t.colour, colour) for t in tracks) and any(t.tone == tone for t in tracks)


async def three_people(
    server: Server, room: object, made: list[MeetboxClient]
) -> tuple[dict[str, MeetboxClient], dict[str, str]]:
    """Red, green and blue join and publish a camera and a microphone each, and everyone
    sees and hears the two others; returns them and their participant ids."""
    people: dict[str, MeetboxClient] = {}
    for name, (colour, tone) in PEOPLE.items():
        people[name] = await join(server, room, name, made)
        await people[name].publish({"camera": ColorTrack(colour), "microphone": ToneTrack(tone)})
    ids = {name: c.joined["you"]["id"] for name, c in people.items()}
    async with asyncio.timeout(20):
        for name, client in people.items():
            for other in PEOPLE:
                if other != name:
                    await client.wait_for(lambda c, o=other: sees(c, ids, o))
    return people, ids


async def test_three_people_see_and_hear_each_other_through_the_server(server: Server) -> None:
    room = await server.room(name="Media")
    async with clients() as made:
        people, ids = await three_people(server, room, made)
        published = [m for m in people["red"].messages if m["type"] == "track_published"]
        assert {(m["track"]["participant_id"], m["track"]["source"]) for m in published} >= {
            (ids["green"], "camera"),
            (ids["green"], "microphone"),
            (ids["blue"], "camera"),
            (ids["blue"], "microphone"),
        }
        live = server.services.meetings.live(room.id)
        assert live is not None
        assert_server_never_decoded_or_encoded(live.media.room)


async def test_late_joiner_decodes_a_frame_within_a_second_of_ice_connecting(
    server: Server,
) -> None:
    room = await server.room()
    async with clients() as made:
        early = await join(server, room, "red", made)
        await early.publish({"camera": ColorTrack(PEOPLE["red"][0])})
        # A first viewer decodes 2 s of video: the stream is well past its first keyframe.
        first_viewer = await join(server, room, "first", made)
        async with asyncio.timeout(15):
            await first_viewer.wait_for(lambda c: any(t.frames >= 60 for t in c.received.values()))
        late = await join(server, room, "late", made)
        async with asyncio.timeout(15):
            await late.wait_for(
                lambda c: (
                    any(t.first_frame_at is not None for t in c.received.values())
                    and c.ice_connected_at is not None
                )
            )
        first = min(t.first_frame_at for t in late.received.values() if t.first_frame_at)
        assert late.ice_connected_at is not None
        assert first - late.ice_connected_at < 1.0, "no keyframe was requested for the newcomer"


async def test_screen_share_refused_when_the_room_disallows_it(server: Server) -> None:
    room = await server.room(config={"screen_share": {"enabled": False}})
    async with clients() as made:
        sharer = await join(server, room, "red", made)
        await sharer.publish(
            {"camera": ColorTrack((1, 2, 3)), "screen": ColorTrack((200, 200, 200))}
        )
        viewer = await join(server, room, "viewer", made)
        async with asyncio.timeout(10):
            await viewer.wait_for(lambda c: any(t.frames for t in c.received.values()))
        published = [
            m["track"]["source"] for m in viewer.messages if m["type"] == "track_published"
        ]
        tracks = [t["source"] for t in viewer.joined["tracks"]] + published
        assert "camera" in tracks and "screen" not in tracks


async def test_leaving_unpublishes_and_frees_the_peer(server: Server) -> None:
    room = await server.room()
    async with clients() as made:
        red = await join(server, room, "red", made)
        await red.publish({"camera": ColorTrack((9, 9, 9))})
        watcher = await join(server, room, "watcher", made)
        async with asyncio.timeout(10):
            await watcher.wait_for(lambda c: any(t.frames for t in c.received.values()))
        await red.send(type="leave")
        async with asyncio.timeout(5):
            await watcher.wait_for(
                lambda c: any(m["type"] == "track_unpublished" for m in c.messages)
            )
        live = server.services.meetings.live(room.id)
        assert live is not None and set(live.media.room.peers) == {watcher.joined["you"]["id"]}


@pytest.mark.parametrize("sdp", ["garbage", "v=0\r\n"])
async def test_malformed_sdp_gets_an_error_and_the_session_goes_on(
    server: Server, sdp: str
) -> None:
    room = await server.room()
    async with clients() as made:
        client = await join(server, room, "red", made)
        await client.send(type="publish_offer", sdp=sdp, ref="p1")
        async with asyncio.timeout(5):
            await client.wait_for(lambda c: any(m["type"] == "error" for m in c.messages))
        error = next(m for m in client.messages if m["type"] == "error")
        assert error["code"] == "invalid_sdp" and error["ref"] == "p1"
        await client.send(type="ping")
        async with asyncio.timeout(5):
            await client.wait_for(lambda c: any(m["type"] == "pong" for m in c.messages))


class _Silent:
    """A UDP transport that sends nothing: the client's network went away."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def sendto(self, *args: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def blackhole(client: MeetboxClient) -> None:
    """Drop every UDP datagram to and from ``client``; its WebSocket stays open."""
    for pc in (client.publisher, client.subscriber):
        for transceiver in pc.getTransceivers():
            connection = transceiver.sender.transport.transport._connection
            for protocol in connection._protocols:
                protocol.datagram_received = lambda data, addr: None
                protocol.transport = _Silent(protocol.transport)


async def test_a_client_whose_udp_goes_silent_leaves_once_ice_consent_fails(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # RELIABILITY 13: consent is checked every 5 s and lost after 6 misses (~30 s); the same
    # rule on a shorter clock.
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.2)
    room = await server.room()
    async with clients() as made:
        watcher = await join(server, room, "watcher", made)
        lost = await join(server, room, "red", made)
        await lost.publish({"camera": ColorTrack((200, 20, 20))})
        lost_id = lost.joined["you"]["id"]
        async with asyncio.timeout(10):
            await watcher.wait_for(lambda c: any(t.frames for t in c.received.values()))
        live = server.services.meetings.live(room.id)
        assert live is not None
        server_peer = live.media.room.peers[lost_id]
        blackhole(lost)
        async with asyncio.timeout(15):
            await lost.wait_for(lambda c: c.closed_with is not None)
            await watcher.wait_for(
                lambda c: any(m["type"] == "participant_left" for m in c.messages)
            )
        left = [m for m in watcher.messages if m["type"] == "participant_left"]
        assert left == [
            {"type": "participant_left", "participant_id": lost_id, "reason": "media_failed"}
        ]
        assert {"type": "bye", "reason": "media_failed"} in lost.messages
        assert lost_id not in live.media.room.peers and set(live.media.room.peers) == {
            watcher.joined["you"]["id"]
        }
        assert server_peer.publisher.connectionState == "closed"
        assert server_peer.subscriber.connectionState == "closed"
        meetings = await server.http.get(f"/api/v1/rooms/{room.id}/meetings")
        attendance = meetings.json()["items"][0]["participants"]
        reasons = [p["leave_reason"] for p in attendance if p["participant_id"] == lost_id]
        assert reasons == ["media_failed"]


def shows(client: MeetboxClient, participant_id: str, colour: tuple[int, int, int]) -> bool:
    return any(
        t.participant_id == participant_id and close_to(t.colour, colour)
        for t in client.received.values()
    )


async def test_unpublish_then_publish_again_and_churn_reuse_the_subscribers_m_lines(
    server: Server,
) -> None:
    room = await server.room()
    async with clients() as made:
        host = await join(server, room, "host", made)
        guest = await join(server, room, "guest", made)
        gid = guest.joined["you"]["id"]
        red, green = (220, 30, 30), (30, 200, 40)
        await guest.publish({"camera": ColorTrack(red)})
        async with asyncio.timeout(15):
            await host.wait_for(lambda c: shows(c, gid, red))
        await guest.unpublish("camera")
        async with asyncio.timeout(10):
            await host.wait_for(lambda c: any(m["type"] == "track_unpublished" for m in c.messages))
        live = server.services.meetings.live(room.id)
        assert live is not None and live.media.room.peers[gid].published == {}
        await guest.publish({"camera": ColorTrack(green)})  # the same m-line, sending again
        async with asyncio.timeout(15):
            await host.wait_for(lambda c: shows(c, gid, green))
        await guest.send(type="leave")

        # Publishers come and go: the host's subscriber connection does not grow with them.
        for i, colour in enumerate([(30, 40, 220), (220, 200, 30), (200, 30, 200)]):
            other = await join(server, room, f"p{i}", made)
            await other.publish({"camera": ColorTrack(colour)})
            oid = other.joined["you"]["id"]
            async with asyncio.timeout(15):
                await host.wait_for(lambda c, o=oid, k=colour: shows(c, o, k))
            await other.send(type="leave")
            async with asyncio.timeout(10):
                await host.wait_for(
                    lambda c, o=oid: any(
                        m["type"] == "track_unpublished" and m["participant_id"] == o
                        for m in c.messages
                    )
                )
        host_peer = live.media.room.peers[host.joined["you"]["id"]]
        transceivers = host_peer.subscriber.getTransceivers()
        assert len(transceivers) <= 2, [t.mid for t in transceivers]


async def test_a_newcomer_is_told_who_is_speaking_already(server: Server) -> None:
    """active_speaker is only sent on a change: someone joining mid-speech learned nothing
    until the speaker changed (the recorder, too, put the wrong person large)."""
    room = await server.room()
    async with clients() as made:
        talker = await join(server, room, "red", made)
        await talker.publish({"microphone": ToneTrack(PEOPLE["red"][1])})
        listener = await join(server, room, "first", made)
        talker_id = talker.joined["you"]["id"]
        async with asyncio.timeout(15):
            await listener.wait_for(
                lambda c: any(
                    m["type"] == "active_speaker" and m["participant_id"] == talker_id
                    for m in c.messages
                )
            )
        late = await join(server, room, "late", made)
        assert late.joined["active_speaker"] == talker_id


def malformed_stun() -> bytes:
    """A binding request whose PRIORITY attribute is 2 bytes long (it takes 4): aioice's
    parser raises struct.error on it, which it did not catch."""
    attribute = struct.pack("!HH", 0x0024, 2) + b"\x00\x01" + b"\x00\x00"
    return struct.pack("!HHI", 0x0001, len(attribute), 0x2112A442) + os.urandom(12) + attribute


async def test_malformed_stun_from_a_stranger_is_dropped_and_media_goes_on(server: Server) -> None:
    """RELIABILITY 23: a packet to a media port that aioice cannot parse raised out of its
    datagram callback (an unhandled exception and a traceback per packet; the test's loop
    hygiene check fails on it). Now it is dropped and counted."""
    room = await server.room()
    async with clients() as made:
        sender = await join(server, room, "red", made)
        await sender.publish({"camera": ColorTrack(PEOPLE["red"][0])})
        viewer = await join(server, room, "first", made)
        async with asyncio.timeout(15):
            await viewer.wait_for(lambda c: any(t.frames >= 5 for t in c.received.values()))
        # The server's host candidate in the viewer's subscriber connection (an address of
        # this machine: the one the media of these tests flows over).
        offer = viewer.subscriber.remoteDescription.sdp
        found = re.search(r"a=candidate:\S+ 1 udp \d+ (\d+\.\d+\.\d+\.\d+) (\d+) typ host", offer)
        assert found is not None, offer
        before = STATS.dropped_datagrams["malformed_stun"]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
            for _ in range(3):
                stranger.sendto(malformed_stun(), (found[1], int(found[2])))
        frames = sum(t.frames for t in viewer.received.values())
        async with asyncio.timeout(15):
            await viewer.wait_for(
                lambda c: sum(t.frames for t in c.received.values()) >= frames + 30
            )
        assert STATS.dropped_datagrams["malformed_stun"] == before + 3


def server_candidates(client: MeetboxClient) -> set[tuple[str, int]]:
    """The server's host candidates in both of ``client``'s connections."""
    found = set()
    for pc in (client.publisher, client.subscriber):
        sdp = pc.remoteDescription.sdp
        for host, port in re.findall(r"a=candidate:\S+ 1 udp \d+ (\S+) (\d+) typ host", sdp):
            found.add((host, int(port)))
    return found


def nominated_pairs(client: MeetboxClient) -> list[Any]:
    """The ICE pairs ``client``'s connections send media on: their source address is the one
    the server validated."""
    pairs = []
    for pc in (client.publisher, client.subscriber):
        for ice in pc._RTCPeerConnection__iceTransports:  # type: ignore[attr-defined]
            pairs.extend(ice._connection._nominated.values())
    return pairs


def junk() -> list[bytes]:
    """What a stranger (or a broken peer) might send a media port: empty, 1 byte, DTLS-,
    RTP- and RTCP-looking records of random bytes, random bytes, too large, odd STUN."""
    return [
        b"",
        b"\x00",
        b"\x16",
        b"\x80",
        bytes([22, 0xFE, 0xFD]) + os.urandom(60),  # a DTLS 1.2 handshake record's start
        bytes([23, 0xFE, 0xFD]) + os.urandom(100),  # DTLS application data
        bytes([21, 0xFE, 0xFD, 0, 1]) + os.urandom(10),  # a DTLS alert
        bytes([0x80, 96]) + os.urandom(200),  # RTP
        bytes([0x80, 200]) + os.urandom(40),  # RTCP SR
        bytes([0x81, 206, 0, 2]) + os.urandom(8),  # RTCP PLI-looking
        bytes([0x90]) + os.urandom(1999),  # over 1500 bytes
        os.urandom(300),
        b"\x00\x01\x00\x00" + os.urandom(16),  # STUN-looking, no magic cookie
        malformed_stun(),
    ]


def frames(client: MeetboxClient) -> dict[str, int]:
    return {tid: t.frames for tid, t in client.received.items()}


async def test_datagrams_from_strangers_and_junk_from_peers_disturb_nobody(server: Server) -> None:
    """RELIABILITY 23/24: one empty datagram sent to a participant's media port ended that
    participant's media (aiortc read ``data[0]`` and its DTLS loop died: media_failed). Now
    empty, tiny, oversize and random datagrams, from strangers and from the peers' own
    validated addresses, are dropped and counted, and everyone goes on seeing and hearing
    everyone."""
    room = await server.room(name="Attacked")
    async with clients() as made:
        people, ids = await three_people(server, room, made)
        dropped = dict(STATS.dropped_datagrams)
        targets = set().union(*(server_candidates(c) for c in people.values()))
        assert len(targets) >= 6, targets  # two connections each
        for _ in range(3):
            for host, port in targets:
                family = socket.AF_INET6 if ":" in host else socket.AF_INET
                with socket.socket(family, socket.SOCK_DGRAM) as stranger:
                    for datagram in junk():
                        stranger.sendto(datagram, (host, port))
        for client in people.values():
            for pair in nominated_pairs(client):
                for datagram in junk():
                    send_raw(pair.protocol.transport, datagram, pair.remote_addr)
        # Every track of everyone goes on: 30 more frames each, nobody left or failed.
        before = {name: frames(c) for name, c in people.items()}
        async with asyncio.timeout(20):
            for name, client in people.items():
                for tid, count in before[name].items():
                    await client.wait_for(lambda c, t=tid, n=count: c.received[t].frames >= n + 30)
                for other in PEOPLE:
                    if other != name:
                        assert sees(client, ids, other)
        for client in people.values():
            assert not [m for m in client.messages if m["type"] == "participant_left"]
            assert client.closed_with is None
        grew = {k: v - dropped.get(k, 0) for k, v in STATS.dropped_datagrams.items()}
        # Strangers: every DTLS/RTP-looking datagram, per target and round.
        assert grew["stranger"] >= 3 * len(targets) * 6, grew
        assert grew["empty"] >= 3 * len(targets), grew
        assert grew["oversize"] >= 3 * len(targets), grew
        assert grew["malformed_stun"] >= 3 * len(targets), grew
        metrics = (await server.http.get("/metrics")).text
        assert 'meetbox_media_datagrams_dropped_total{reason="stranger"}' in metrics
