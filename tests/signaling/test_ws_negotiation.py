"""Renegotiation as a client sees it, with real aiortc clients over a real server: one
``subscribe_offer`` per change, candidates trickled early are kept, the order of
``publish_answer`` and ``track_published``, and failures logged where operators look."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection

from sfu.peer import MAX_PENDING_CANDIDATES, close_peer_connection
from sfu.room import MediaRoom
from sfu.synthetic import ColorTrack, ToneTrack
from signaling.client import MeetboxClient
from tests.conftest import Server
from tests.sfu.test_media import Listener
from tests.signaling.test_ws import connect
from tests.signaling.test_ws_media import clients, join

WAIT = 15


def offers(client: MeetboxClient) -> list[dict[str, Any]]:
    return [m for m in client.messages if m["type"] == "subscribe_offer"]


async def settled(client: MeetboxClient, count: int) -> None:
    """Until ``client`` got ``count`` offers and the server handled its answer to the last:
    the client answers each offer before it is counted, and the server handles a socket's
    messages in order (a follow-up offer is queued while the answer is handled), so the
    ``pong`` to a ``ping`` sent now comes after any offer that answer caused."""
    async with asyncio.timeout(WAIT):
        await client.wait_for(lambda c: len(offers(c)) >= count)
        pongs = sum(m["type"] == "pong" for m in client.messages)
        await client.send(type="ping")
        await client.wait_for(lambda c: sum(m["type"] == "pong" for m in c.messages) > pongs)


async def test_one_subscribe_offer_per_change(server: Server) -> None:
    """Publishing a camera and a microphone made two offers: the second one identical to the
    first, answered already (aiortc announces each track, each asked for an offer)."""
    room = await server.room()
    async with clients() as made:
        watcher = await join(server, room, "watcher", made)
        red = await join(server, room, "red", made)
        await red.publish({"camera": ColorTrack((200, 20, 20)), "microphone": ToneTrack(440.0)})
        await settled(watcher, 1)
        first = offers(watcher)
        assert len(first) == 1 and sorted(first[0]["tracks"].values()) == sorted(
            f"{red.joined['you']['id']}:{mid}" for mid in ("0", "1")
        )
        await red.unpublish("camera")
        await settled(watcher, 2)
        assert len(offers(watcher)) == 2
        # The publisher's own connection is never offered to it: nothing to receive.
        assert offers(red) == []


async def test_changes_during_a_negotiation_go_into_one_next_offer(server: Server) -> None:
    """While a watcher has not answered, two more publishers come: after the answer, one
    offer carries both (not one offer each, not a repeat of the answered one)."""
    room = await server.room()
    async with clients() as made:
        watcher = await join(server, room, "watcher", made)
        offered, answer_now = asyncio.Event(), asyncio.Event()
        answered = watcher._answer

        async def held_answer(sdp: str) -> None:
            offered.set()
            await answer_now.wait()
            await answered(sdp)

        # (The client's reader waits in here, so it wakes no wait_for meanwhile.)
        watcher._answer = held_answer  # type: ignore[method-assign]
        red = await join(server, room, "red", made)
        await red.publish({"camera": ColorTrack((200, 20, 20))})
        async with asyncio.timeout(WAIT):
            await offered.wait()
        assert len(offers(watcher)) == 1
        watcher_peer = server.services.meetings.live(room.id).media.room.peers[  # type: ignore[union-attr]
            watcher.joined["you"]["id"]
        ]
        for name, colour in (("green", (20, 200, 20)), ("blue", (20, 20, 200))):
            other = await join(server, room, name, made)
            await other.publish({"camera": ColorTrack(colour)})
            # Its own track_published: sent as the track is forwarded to the watcher.
            async with asyncio.timeout(WAIT):
                await other.wait_for(
                    lambda c: any(m["type"] == "track_published" for m in c.messages)
                )
        assert len(watcher_peer.incoming) == 3
        answer_now.set()
        await settled(watcher, 2)
        all_offers = offers(watcher)
        assert len(all_offers) == 2
        assert len(all_offers[1]["tracks"]) == 3


async def test_track_published_comes_before_publish_answer(server: Server) -> None:
    """Measured, and stated in docs/signaling.md: the tracks of an offer are published while
    the offer is taken, before any media flows, so everyone (the publisher too) gets
    ``track_published`` before the publisher gets its ``publish_answer``."""
    room = await server.room()
    async with clients() as made:
        red = await join(server, room, "red", made)
        await red.publish({"camera": ColorTrack((200, 20, 20))})
        async with asyncio.timeout(WAIT):
            await red.wait_for(lambda c: any(m["type"] == "track_published" for m in c.messages))
        kinds = [
            m["type"] for m in red.messages if m["type"] in ("publish_answer", "track_published")
        ]
        assert kinds == ["track_published", "publish_answer"]


async def test_candidates_trickled_before_the_connection_exists_are_kept(server: Server) -> None:
    """A candidate for the publisher connection sent before the offer was dropped (aiortc
    found no transceiver for it); now it is held and added with the offer. The offer is a
    trickling client's (a browser's): no candidates in it, no end-of-candidates."""
    room = await server.room()
    async with clients() as made:
        red = await join(server, room, "red", made)
        candidate = "candidate:1 1 udp 2122260223 192.0.2.7 50000 typ host"
        await red.send(type="ice_candidate", target="publisher", candidate=candidate, sdp_mid="0")
        red.publisher.addTransceiver(ColorTrack((200, 20, 20)), direction="sendonly")
        await red.publisher.setLocalDescription(await red.publisher.createOffer())
        sdp = "".join(
            line + "\r\n"
            for line in red.publisher.localDescription.sdp.split("\r\n")
            if line and not line.startswith(("a=candidate:", "a=end-of-candidates"))
        )
        await red.send(type="publish_offer", sdp=sdp)
        async with asyncio.timeout(WAIT):
            await red.wait_for(lambda c: any(m["type"] == "publish_answer" for m in c.messages))
        assert not [m for m in red.messages if m["type"] == "error"]
        live = server.services.meetings.live(room.id)
        assert live is not None
        peer = live.media.room.peers[red.joined["you"]["id"]]
        ice = peer.publisher.getTransceivers()[0].receiver.transport.transport
        assert [(c.ip, c.port) for c in ice.getRemoteCandidates()] == [("192.0.2.7", 50000)]


async def test_early_candidates_are_bounded(server: Server) -> None:
    room = await server.room()
    async with clients() as made:
        red = await join(server, room, "red", made)
        for i in range(MAX_PENDING_CANDIDATES + 1):
            candidate = f"candidate:{i} 1 udp 2122260223 192.0.2.7 {50000 + i} typ host"
            await red.send(
                type="ice_candidate", target="subscriber", candidate=candidate, sdp_mline_index=0
            )
        async with asyncio.timeout(WAIT):
            await red.wait_for(lambda c: any(m["type"] == "error" for m in c.messages))
        errors = [m for m in red.messages if m["type"] == "error"]
        assert [e["code"] for e in errors] == ["too_many_candidates"]


async def test_a_failed_renegotiation_is_logged_as_a_warning_without_sdp(
    caplog: pytest.LogCaptureFixture,
) -> None:
    listener = Listener()
    room = MediaRoom(listener)
    try:
        peer = await room.add_peer("watcher", may_publish=True)

        async def broken_offer() -> Any:
            raise RuntimeError("no offer today")

        peer.subscriber.createOffer = broken_offer  # type: ignore[method-assign]
        caplog.set_level(logging.DEBUG)
        logged = asyncio.Event()

        class Signal(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if "renegotiation" in record.getMessage():
                    logged.set()

        signal = Signal()
        logging.getLogger().addHandler(signal)
        other = await room.add_peer("red", may_publish=True)
        client = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        try:
            client.addTransceiver(ColorTrack((1, 2, 3)), direction="sendonly")
            await client.setLocalDescription(await client.createOffer())
            await other.publish_offer(client.localDescription.sdp, {})
            async with asyncio.timeout(WAIT):
                await logged.wait()  # the renegotiation runs as its own task
        finally:
            logging.getLogger().removeHandler(signal)
            await close_peer_connection(client)
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        line = warnings[0].getMessage()
        assert "watcher" in line and "renegotiation failed" in line and "no offer today" in line
        assert "v=0" not in line
    finally:
        await room.close()


async def test_an_offer_sent_while_the_socket_was_down_comes_again_on_resume(
    server: Server,
) -> None:
    """A subscribe_offer made while the watcher's socket was down went nowhere; after the
    resume the server still waited for its answer, so no offer ever came again and the
    watcher never received anyone's media."""
    room = await server.room()
    async with clients() as made:
        watcher = await join(server, room, "watcher", made)
        wid = watcher.joined["you"]["id"]
        live = server.services.meetings.live(room.id)
        assert live is not None
        await watcher._ws.close()  # the network drops: no leave
        async with asyncio.timeout(WAIT):
            await server.services.meetings.wait_for(lambda: wid in live.core.away)
        red = await join(server, room, "red", made)
        await red.publish({"camera": ColorTrack((200, 20, 20))})
        back = await connect(server)
        await back.send(type="resume", resume_token=watcher.joined["resume_token"])
        await back.expect("joined")
        offer = await back.expect("subscribe_offer")
        assert list(offer["tracks"].values()) == [f"{red.joined['you']['id']}:0"]
        await back.ws.close()
