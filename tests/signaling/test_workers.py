"""Media workers (``--workers N``): real worker processes behind the placement seam, real
aiortc clients through a real server. Meetings are placed by load, every participant's media
lands on their meeting's worker, and a killed worker's meetings go on on another."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest

from sfu.stats import STATS
from sfu.synthetic import ColorTrack, ToneTrack
from signaling.api.metrics import collect, render
from signaling.client import MeetboxClient
from signaling.placement.remote import RemoteMedia
from signaling.placement.spread import SpreadMedia
from signaling.placement.workers import WorkerPlacement, WorkerStartFailed
from signaling.services import Services
from tests.conftest import WORKER, Server
from tests.signaling.test_ws_media import PEOPLE, clients, join, sees, three_people


def spread(services: Services, room_id: str) -> SpreadMedia:
    live = services.meetings.live(room_id)
    assert live is not None
    assert isinstance(live.media, SpreadMedia)
    return live.media


def channel(services: Services, room_id: str) -> RemoteMedia:
    """The meeting's primary channel (where its tracks are published)."""
    return spread(services, room_id).primary


async def test_three_people_meet_through_a_media_worker(
    worker_server: Server, placement: WorkerPlacement
) -> None:
    forwarded_here = STATS.forwarded_packets
    room = await worker_server.room(name="Workers")
    async with clients() as made:
        _, ids = await three_people(worker_server, room, made)
        media = channel(worker_server.services, room.id)
        assert media.peers == set(ids.values())
        assert {t.participant_id for t in media.tracks.values()} == set(ids.values())
        # The packets went through the worker process, none through this one.
        assert STATS.forwarded_packets == forwarded_here
        async with asyncio.timeout(10):  # until a load report shows them
            await placement.wait_for(
                lambda: bool(media.worker.load and media.worker.load.forwarded_packets)
            )
        stats = await placement.stats()
        assert stats.forwarded_packets > 0
        carrying = [w for w in stats.workers if w.forwarded_packets > 0]
        assert [w.worker for w in carrying] == [media.worker.id]
        text = render(collect(worker_server.services, stats))
        assert f'meetbox_worker_up{{worker="{media.worker.id}"}} 1' in text
        assert f'meetbox_worker_peers{{worker="{media.worker.id}"}} 3' in text


async def test_meetings_are_spread_over_the_workers(
    worker_server: Server, placement: WorkerPlacement
) -> None:
    rooms = [await worker_server.room(name=f"Room {i}") for i in range(4)]
    async with clients() as made:
        for room in rooms:
            token = await worker_server.token(room, "speaker", "Ada")
            client = MeetboxClient(worker_server.ws_url, token)
            made.append(client)
            await client.connect()
        owners = [channel(worker_server.services, room.id).worker.id for room in rooms]
        assert sorted(owners) == ["1", "1", "2", "2"]
        assert [placement.owner(room.id) for room in rooms] == [f"worker-{o}" for o in owners]


async def test_a_killed_worker_is_started_again(placement: WorkerPlacement) -> None:
    worker = placement.workers[0]
    assert worker.process is not None
    old_pid = worker.process.pid
    os.kill(old_pid, signal.SIGKILL)
    async with asyncio.timeout(20):
        await placement.wait_for(lambda: worker.up and worker.process.pid != old_pid)
    assert worker.restarts == 1
    stats = await placement.stats()
    assert [w.restarts for w in stats.workers] == [1, 0]


async def test_a_meeting_goes_on_after_its_worker_is_killed(
    worker_server: Server, placement: WorkerPlacement
) -> None:
    room = await worker_server.room(name="Crash")
    async with clients() as made:
        people, ids = await three_people(worker_server, room, made)
        media = channel(worker_server.services, room.id)
        victim = media.worker
        assert victim.process is not None
        meeting_id = people["red"].joined["meeting_id"]
        for client in people.values():
            client.received.clear()
        os.kill(victim.process.pid, signal.SIGKILL)
        # All three decode each other again within 5 s, on the other worker.
        async with asyncio.timeout(5):
            for name, client in people.items():
                for other in PEOPLE:
                    if other != name:
                        await client.wait_for(lambda c, o=other: sees(c, ids, o))
        moved = channel(worker_server.services, room.id)
        assert moved.worker is not victim
        live = worker_server.services.meetings.live(room.id)
        assert live is not None
        assert live.core.id == meeting_id
        assert set(live.core.participants) == set(ids.values())
        for client in people.values():
            assert client.resets == 1
            assert not [m for m in client.messages if m["type"] == "participant_left"]
        history = await worker_server.services.meetings.history(room.id, 10, None)
        assert [m.id for m in history.items] == [meeting_id]


async def test_a_big_meeting_spreads_its_viewers_over_a_pipe_to_the_other_worker(
    worker_server: Server, placement: WorkerPlacement
) -> None:
    """Past ``spread_after`` participants on its worker, newcomers go to the other worker,
    fed by a pipe: they see and hear the speaker; one of them publishing there is seen by
    everyone (publishing on the primary), and not sent their own track back."""
    placement.spread_after = 2
    room = await worker_server.room(name="Webinar")
    red_colour, red_tone = PEOPLE["red"]
    blue_colour, blue_tone = PEOPLE["blue"]
    async with clients() as made:
        red = await join(worker_server, room, "red", made)
        await red.publish({"camera": ColorTrack(red_colour), "microphone": ToneTrack(red_tone)})
        viewers = [await join(worker_server, room, f"viewer{i}", made) for i in range(4)]
        ids = {"red": red.joined["you"]["id"]}
        async with asyncio.timeout(20):
            for viewer in viewers:
                await viewer.wait_for(lambda c: sees(c, ids, "red"))
        media = spread(worker_server.services, room.id)
        where = [media.channel_of(v.joined["you"]["id"]) for v in viewers]
        assert [c is media.primary for c in where] == [True, False, False, False]
        (part,) = media.parts.values()
        assert part.worker is not media.primary.worker
        assert len(part.peers) == 3
        # A viewer on the part publishes: everyone gets it, through the primary.
        blue = viewers[-1]
        ids["blue"] = blue.joined["you"]["id"]
        await blue.publish({"camera": ColorTrack(blue_colour), "microphone": ToneTrack(blue_tone)})
        async with asyncio.timeout(20):
            for other in [red, *viewers[:-1]]:
                await other.wait_for(lambda c: sees(c, ids, "blue"))
        assert not any(t.participant_id == ids["blue"] for t in blue.received.values())

        def both_forward() -> bool:
            loads = [w.load for w in placement.workers]
            return all(load and load.forwarded_packets for load in loads) and any(
                load and load.piped_packets for load in loads
            )

        async with asyncio.timeout(10):  # until the load reports show it
            await placement.wait_for(both_forward)
        stats = await placement.stats()
        assert stats.piped_packets > 0
        assert all(w.forwarded_packets > 0 for w in stats.workers)


async def test_a_worker_sent_a_broken_frame_stops_and_is_started_again(
    placement: WorkerPlacement,
) -> None:
    worker = placement.workers[1]
    assert worker.process is not None and worker.transport is not None
    old_pid = worker.process.pid
    worker.transport.write(b"\xff\xff\xff\xff")  # announces a 4 GiB frame
    async with asyncio.timeout(20):
        await placement.wait_for(lambda: worker.up and worker.process.pid != old_pid)
    assert worker.restarts == 1


async def test_a_hung_worker_is_killed_and_started_again() -> None:
    placement = WorkerPlacement(WORKER, [None], heartbeat_timeout=1.5)
    await placement.start()
    try:
        (worker,) = placement.workers
        assert worker.process is not None
        old_pid = worker.process.pid
        os.kill(old_pid, signal.SIGSTOP)  # alive, but sends nothing any more
        async with asyncio.timeout(20):
            await placement.wait_for(lambda: worker.up and worker.process.pid != old_pid)
        assert worker.restarts == 1
    finally:
        await placement.close()


async def test_a_worker_that_cannot_start_is_a_clear_start_failure() -> None:
    """A worker that exits before it is ready (here: a program that does nothing) fails the
    start with WorkerStartFailed, which ``meetbox serve`` prints; it is not retried."""
    placement = WorkerPlacement([sys.executable, "-c", "pass"], [None])
    with pytest.raises(WorkerStartFailed, match="media worker 1 did not start"):
        async with asyncio.timeout(30):
            await placement.start()
    assert placement.workers[0].restarts == 0
