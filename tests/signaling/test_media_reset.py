"""A meeting whose media is lost (its media process died) goes on with fresh media: real
aiortc clients on a real server, the loss simulated through ``LocalMedia.lose``."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from signaling.client import MeetboxClient
from signaling.placement.local import LocalMedia
from tests.conftest import Receiver, Server
from tests.signaling.test_webhooks import deliveries, register
from tests.signaling.test_ws import joined
from tests.signaling.test_ws_media import PEOPLE, clients, close_to, three_people

API = "/api/v1"


def channel(server: Server, room_id: str) -> LocalMedia:
    live = server.services.meetings.live(room_id)
    assert live is not None
    assert isinstance(live.media, LocalMedia)
    return live.media


def frames_from(client: MeetboxClient, participant_id: str) -> dict[str, int]:
    return {
        t.track_id: t.frames for t in client.received.values() if t.participant_id == participant_id
    }


def flowing_again(
    client: MeetboxClient, participant_id: str, colour: tuple[int, int, int], since: dict[str, int]
) -> bool:
    """Video of ``colour`` and audio from ``participant_id``, both past what ``since`` counted
    (what arrived before the reset)."""
    tracks = [t for t in client.received.values() if t.participant_id == participant_id]
    video = [t for t in tracks if t.kind == "video" and t.frames > since.get(t.track_id, 0) + 10]
    audio = [t for t in tracks if t.kind == "audio" and t.frames > since.get(t.track_id, 0) + 10]
    return any(close_to(t.colour, colour) for t in video) and bool(audio)


async def test_three_people_get_each_others_media_back_after_the_media_is_lost(
    server: Server, receiver: Receiver
) -> None:
    hook = await register(server, receiver)
    room = await server.room(name="Reset")
    async with clients() as made:
        people, ids = await three_people(server, room, made)
        meetings = server.services.meetings
        live = meetings.live(room.id)
        assert live is not None
        meeting_id = live.core.id
        old = channel(server, room.id)
        before = {
            name: {o: frames_from(c, ids[o]) for o in PEOPLE if o != name}
            for name, c in people.items()
        }

        old.lose()

        async with asyncio.timeout(15):
            for name, client in people.items():
                for other, (colour, _) in PEOPLE.items():
                    if other != name:
                        since = before[name][other]
                        await client.wait_for(
                            lambda c, o=other, k=colour, s=since: flowing_again(c, ids[o], k, s)
                        )
        # The same meeting, the same people, on fresh media.
        assert meetings.live(room.id) is live and live.core.id == meeting_id
        assert channel(server, room.id) is not old and not old.room.peers
        assert set(channel(server, room.id).room.peers) == set(ids.values())
        assert set(live.core.participants) == set(ids.values()) and not live.resetting
        for name, client in people.items():
            assert client.resets == 1
            kinds = [m["type"] for m in client.messages]
            assert "participant_left" not in kinds
            assert kinds.count("participant_joined") == 2 - list(PEOPLE).index(name)
            assert {"type": "media_reset", "reason": "media_lost"} in client.messages
            # Everyone's tracks went (before the reset) and came back (after it).
            reset_at = kinds.index("media_reset")
            gone = {
                m["participant_id"]
                for m in client.messages[:reset_at]
                if m["type"] == "track_unpublished"
            }
            assert gone >= {ids[o] for o in PEOPLE if o != name}
            back = {
                m["track"]["participant_id"]
                for m in client.messages[reset_at:]
                if m["type"] == "track_published"
            }
            assert back >= {ids[o] for o in PEOPLE if o != name}

        # History: one meeting, each person's one stay, none closed by the reset.
        history = (await server.http.get(f"{API}/rooms/{room.id}/meetings")).json()["items"]
        assert [m["id"] for m in history] == [meeting_id]
        stays = history[0]["participants"]
        assert sorted(p["participant_id"] for p in stays) == sorted(ids.values())
        assert all(p["left_at"] is None for p in stays)

        # Webhooks, to the end of the meeting (every event is in the outbox, in the same
        # transaction as its history row): no leave and no join but the real ones.
        assert (await server.http.delete(f"{API}/rooms/{room.id}/meeting")).status_code == 204
        events = Counter(d["event_type"] for d in await deliveries(server, hook))
        assert events == {
            "room.created": 1,
            "meeting.started": 1,
            "participant.joined": 3,
            "participant.left": 3,
            "meeting.ended": 1,
        }
        history = (await server.http.get(f"{API}/rooms/{room.id}/meetings")).json()["items"]
        reasons = {p["leave_reason"] for p in history[0]["participants"]}
        assert reasons == {"ended_by_api"}


async def test_a_participant_away_when_the_media_is_lost_gets_fresh_media_on_resuming(
    server: Server,
) -> None:
    room = await server.room()
    async with clients() as made:
        people, ids = await three_people(server, room, made)
        meetings = server.services.meetings
        live = meetings.live(room.id)
        assert live is not None
        blue = people["blue"]
        before = {o: frames_from(blue, ids[o]) for o in ("red", "green")}
        await blue.drop()
        async with asyncio.timeout(5):
            await meetings.wait_for(lambda: ids["blue"] in live.core.away)

        channel(server, room.id).lose()
        red = people["red"]
        async with asyncio.timeout(15):
            await red.wait_for(lambda c: c.resets == 1)
            await red.wait_for(
                lambda c: any(
                    t.participant_id == ids["green"] for t in c.received.values() if t.frames > 0
                )
            )
        assert ids["blue"] in live.resetting  # told when back

        again = await blue.resume()
        assert again["you"]["id"] == ids["blue"]
        async with asyncio.timeout(15):
            for other in ("red", "green"):
                colour = PEOPLE[other][0]
                await blue.wait_for(
                    lambda c, o=other, k=colour: flowing_again(c, ids[o], k, before[o])
                )
            # ... and the others get blue's media again: blue published again.
            for name in ("red", "green"):
                since = frames_from(people[name], ids["blue"])
                await people[name].wait_for(
                    lambda c, s=since: flowing_again(c, ids["blue"], PEOPLE["blue"][0], s)
                )
        assert blue.resets == 1 and ids["blue"] not in live.resetting
        assert not any(m["type"] == "participant_left" for m in red.messages)
        stays = (await server.http.get(f"{API}/rooms/{room.id}/meetings")).json()["items"][0]
        assert all(p["left_at"] is None for p in stays["participants"])


async def test_media_messages_for_the_replaced_connections_get_error_media_reset(
    server: Server,
) -> None:
    """Between ``media_reset`` and ``media_ready`` a client's media messages were meant for
    the dead connections: each gets ``error`` ``media_reset`` (nothing reaches the fresh
    media); after ``media_ready`` they go through as usual."""
    room = await server.room()
    client, hello = await joined(server, room)
    pid = hello["you"]["id"]
    live = server.services.meetings.live(room.id)
    assert live is not None
    channel(server, room.id).lose()
    assert await client.expect("media_reset") == {"type": "media_reset", "reason": "media_lost"}
    assert pid in live.resetting and not channel(server, room.id).room.peers
    await client.send(type="subscribe_answer", sdp="v=0 stale", ref="a1")
    error = await client.expect("error")
    assert (error["code"], error["ref"]) == ("media_reset", "a1")
    await client.send(type="media_ready")
    await client.send(type="publish_offer", sdp="not sdp", ref="p1")
    error = await client.expect("error")
    assert (error["code"], error["ref"]) == ("invalid_sdp", "p1")  # the fresh peer's answer
    assert set(channel(server, room.id).room.peers) == {pid} and not live.resetting
    await client.send(type="media_ready")
    assert (await client.expect("error"))["code"] == "unexpected_media_ready"
    await client.ws.close()


async def test_a_meeting_whose_media_cannot_be_opened_again_ends_media_unavailable(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = await server.room()
    client, _ = await joined(server, room)
    meetings = server.services.meetings
    live = meetings.live(room.id)
    assert live is not None

    def no_worker(*args: object) -> None:
        raise RuntimeError("no media process is alive")

    monkeypatch.setattr(meetings.placement, "open_media", no_worker)
    channel(server, room.id).lose()
    code, _, rest = await client.closed()
    assert code == 1000 and rest[-1] == {"type": "bye", "reason": "media_unavailable"}
    assert meetings.live(room.id) is None
    history = (await server.http.get(f"{API}/rooms/{room.id}/meetings")).json()["items"]
    assert history[0]["end_reason"] == "media_unavailable"
