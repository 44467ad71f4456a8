"""The signaling WebSocket on a real uvicorn server over loopback, with real clients."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from signaling.clock import FakeClock
from signaling.meetings.service import Refused
from signaling.models import RoomRecord
from signaling.services import build_services
from signaling.wire import MAX_MESSAGE_BYTES
from tests.conftest import Server

RECV_TIMEOUT = 5.0


class Client:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    async def send(self, **message: Any) -> None:
        await self.ws.send(json.dumps(message))

    async def recv(self) -> dict[str, Any]:
        async with asyncio.timeout(RECV_TIMEOUT):
            message: dict[str, Any] = json.loads(await self.ws.recv())
        self.seen.append(message)
        return message

    async def expect(self, kind: str) -> dict[str, Any]:
        """Read until a message of type ``kind`` (skipping others)."""
        while True:
            message = await self.recv()
            if message["type"] == kind:
                return message

    async def closed(self) -> tuple[int, str, list[dict[str, Any]]]:
        """Read to the end; the close code and reason, and what came before."""
        rest = []
        try:
            async with asyncio.timeout(RECV_TIMEOUT):
                async for raw in self.ws:
                    rest.append(json.loads(raw))
        except websockets.ConnectionClosed:
            pass
        assert self.ws.close_code is not None
        return self.ws.close_code, self.ws.close_reason or "", rest


async def connect(server: Server, token: str | None = None) -> Client:
    ws = await websockets.connect(server.ws_url, max_size=2 * MAX_MESSAGE_BYTES)
    client = Client(ws)
    if token is not None:
        await client.send(type="join", token=token)
    return client


async def joined(
    server: Server, room: RoomRecord, role: str = "speaker", nickname: str = "Ada"
) -> tuple[Client, dict[str, Any]]:
    client = await connect(server, await server.token(room, role, nickname))
    return client, await client.expect("joined")


async def test_two_people_meet_chat_and_a_late_joiner_gets_the_history(server: Server) -> None:
    room = await server.room(name="Standup")
    grace, g_joined = await joined(server, room, "moderator", "Grace")
    assert g_joined["participants"] == [] and g_joined["you"]["role"] == "moderator"
    ada, a_joined = await joined(server, room, "speaker", "Ada")
    assert [p["nickname"] for p in a_joined["participants"]] == ["Grace"]
    announced = await grace.expect("participant_joined")
    assert announced["participant"]["nickname"] == "Ada"

    await ada.send(type="chat", text="hello Grace")
    for client in (grace, ada):
        chat = await client.expect("chat")
        assert (chat["nickname"], chat["text"]) == ("Ada", "hello Grace")
    await grace.send(type="chat", text="hi Ada")
    assert (await ada.expect("chat"))["text"] == "hi Ada"

    linus, l_joined = await joined(server, room, "speaker", "Linus")
    assert [m["text"] for m in l_joined["chat_history"]] == ["hello Grace", "hi Ada"]
    meeting = (await server.http.get(f"/api/v1/rooms/{room.id}/meeting")).json()
    assert sorted(p["nickname"] for p in meeting["participants"]) == ["Ada", "Grace", "Linus"]
    assert (await server.http.get(f"/api/v1/rooms/{room.id}")).json()["status"] == "active_meeting"
    for client in (grace, ada, linus):
        await client.ws.close()


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0.",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
    ],
)
async def test_bad_tokens_are_refused_with_4001(server: Server, token: str) -> None:
    client = await connect(server, token)
    code, _, before = await client.closed()
    assert code == 4001
    assert before and before[0]["type"] == "error" and before[0]["code"] == "invalid_token"
    assert server.services.meetings.next_deadline() is None  # no meeting was started


async def test_expired_token_is_refused(server: Server, clock: FakeClock) -> None:
    room = await server.room()
    token = await server.token(room)
    clock.advance(timedelta(minutes=11))
    code, _, _ = await (await connect(server, token)).closed()
    assert code == 4001


async def test_silence_after_connecting_is_closed_at_the_admission_deadline(server: Server) -> None:
    code, reason, _ = await (await connect(server)).closed()
    assert code == 4001 and "join" in reason


async def test_first_message_must_be_join(server: Server) -> None:
    client = await connect(server)
    await client.send(type="chat", text="hi")
    code, _, _ = await client.closed()
    assert code == 1008


async def test_oversize_frame_is_closed_with_1009(server: Server) -> None:
    room = await server.room()
    client, _ = await joined(server, room)
    await client.ws.send(json.dumps({"type": "chat", "text": "x" * (MAX_MESSAGE_BYTES + 10)}))
    code, _, _ = await client.closed()
    assert code == 1009


async def test_invalid_json_closes_but_unknown_types_only_get_an_error(server: Server) -> None:
    room = await server.room()
    client, _ = await joined(server, room)
    await client.send(type="teleport", ref="r7")
    error = await client.expect("error")
    assert error["code"] == "unknown_type" and error["ref"] == "r7"
    await client.send(type="ping")
    assert (await client.expect("pong"))["type"] == "pong"
    await client.ws.send("{nope")
    code, _, _ = await client.closed()
    assert code == 1008


async def test_speaker_cannot_moderate(server: Server) -> None:
    room = await server.room()
    mod, _ = await joined(server, room, "moderator", "Grace")
    spk, _ = await joined(server, room, "speaker", "Ada")
    await spk.send(type="end_meeting", ref="e1")
    error = await spk.expect("error")
    assert error["code"] == "forbidden" and error["ref"] == "e1"
    await spk.send(type="kick", participant_id="anyone")
    assert (await spk.expect("error"))["code"] == "forbidden"
    meeting = (await server.http.get(f"/api/v1/rooms/{room.id}/meeting")).json()
    assert len(meeting["participants"]) == 2
    await mod.ws.close()
    await spk.ws.close()


async def test_room_full_is_refused_explicitly(server: Server) -> None:
    room = await server.room(max_participants=1)
    first, _ = await joined(server, room)
    second = await connect(server, await server.token(room, nickname="Bo"))
    code, _, before = await second.closed()
    assert code == 4003 and before[0]["code"] == "room_full"
    meeting = (await server.http.get(f"/api/v1/rooms/{room.id}/meeting")).json()
    assert [p["nickname"] for p in meeting["participants"]] == ["Ada"]
    await first.ws.close()


async def test_closed_room_refuses_at_the_socket_too(server: Server) -> None:
    room = await server.room()
    token = await server.token(room)
    await server.http.patch(f"/api/v1/rooms/{room.id}", json={"status": "closed"})
    code, _, before = await (await connect(server, token)).closed()
    assert code == 4003 and before[0]["code"] == "room-closed"


async def test_same_token_twice_evicts_the_older_session(server: Server) -> None:
    room = await server.room()
    mod, _ = await joined(server, room, "moderator", "Grace")
    token = await server.token(room)
    old = await connect(server, token)
    await old.expect("joined")
    await mod.expect("participant_joined")
    new = await connect(server, token)
    await new.expect("joined")
    code, _, before = await old.closed()
    assert before[-1] == {"type": "bye", "reason": "replaced"} and code == 1000
    meeting = (await server.http.get(f"/api/v1/rooms/{room.id}/meeting")).json()
    assert len(meeting["participants"]) == 2
    await mod.send(type="ping")
    await mod.expect("pong")
    assert not [m for m in mod.seen if m["type"] in ("participant_left", "participant_joined")][1:]
    await mod.ws.close()
    await new.ws.close()


async def test_kick_with_link_rotation_keeps_them_out(server: Server) -> None:
    room = await server.room()
    mod, _ = await joined(server, room, "moderator", "Grace")
    speaker_secret = room.links[next(r for r in room.links if r.value == "speaker")].secret
    grant = await server.services.rooms.join(speaker_secret, "Mallory")
    victim = await connect(server, grant.token)
    victim_joined = await victim.expect("joined")
    await mod.send(type="kick", participant_id=victim_joined["you"]["id"], rotate_links=True)
    code, reason, before = await victim.closed()
    # The close says it as well as the bye: 4003 kicked, as in the close-code table.
    assert before[-1] == {"type": "bye", "reason": "kicked"} and (code, reason) == (4003, "kicked")
    left = await mod.expect("participant_left")
    assert left["reason"] == "kicked"
    # The same token is refused (saying why: they were kicked, not a bad token) ...
    code, _, before = await (await connect(server, grant.token)).closed()
    assert code == 4003 and before[0]["code"] == "kicked"
    # ... and so is their resume token: kicked, not "the resume window has passed".
    back = await connect(server)
    await back.send(type="resume", resume_token=victim_joined["resume_token"])
    code, _, before = await back.closed()
    assert code == 4003 and before[0]["code"] == "kicked"
    # And the old speaker link no longer works.
    refused = await server.http.post(
        "/api/v1/join", json={"secret": speaker_secret, "nickname": "Mallory"}
    )
    assert refused.status_code == 410
    await mod.ws.close()


async def test_moderator_ends_the_meeting_for_all_and_history_records_it(server: Server) -> None:
    room = await server.room()
    mod, _ = await joined(server, room, "moderator", "Grace")
    spk, _ = await joined(server, room, "speaker", "Ada")
    await mod.send(type="end_meeting")
    for client in (mod, spk):
        code, _, before = await client.closed()
        assert before[-1] == {"type": "bye", "reason": "ended_by_moderator"} and code == 1000
    history = (await server.http.get(f"/api/v1/rooms/{room.id}/meetings")).json()["items"]
    assert history[0]["end_reason"] == "ended_by_moderator" and history[0]["ended_at"]
    assert sorted(a["nickname"] for a in history[0]["participants"]) == ["Ada", "Grace"]
    assert all(a["left_at"] for a in history[0]["participants"])
    over = await server.http.get(f"/api/v1/rooms/{room.id}/meeting")
    assert over.status_code == 409 and over.json()["type"].endswith("no-meeting")


async def test_rest_end_kick_and_mute(server: Server) -> None:
    room = await server.room()
    mod, _ = await joined(server, room, "moderator", "Grace")
    spk, spk_joined = await joined(server, room, "speaker", "Ada")
    pid = spk_joined["you"]["id"]
    muted = await server.http.post(
        f"/api/v1/rooms/{room.id}/meeting/participants/{pid}/mute", json={"kind": "video"}
    )
    assert muted.status_code == 204
    told = await spk.expect("muted_by_moderator")
    assert told == {"type": "muted_by_moderator", "kind": "video", "by": "api"}
    update = await mod.expect("participant_updated")
    assert update["participant"]["muted"]["video"] is True
    missing = await server.http.delete(f"/api/v1/rooms/{room.id}/meeting/participants/nobody")
    assert missing.status_code == 404
    kicked = await server.http.delete(f"/api/v1/rooms/{room.id}/meeting/participants/{pid}")
    assert kicked.status_code == 204
    _, _, before = await spk.closed()
    assert before[-1]["reason"] == "kicked"
    assert (await server.http.delete(f"/api/v1/rooms/{room.id}/meeting")).status_code == 204
    _, _, before = await mod.closed()
    assert before[-1] == {"type": "bye", "reason": "ended_by_api"}
    # Nothing left to end: the room's state conflicts (409), the room itself exists.
    again = await server.http.delete(f"/api/v1/rooms/{room.id}/meeting")
    assert again.status_code == 409 and again.json()["type"].endswith("no-meeting")


async def test_forced_room_delete_ends_the_meeting(server: Server) -> None:
    room = await server.room()
    client, _ = await joined(server, room)
    response = await server.http.delete(
        f"/api/v1/rooms/{room.id}", params={"with_meeting": "force"}
    )
    assert response.status_code == 204
    _, _, before = await client.closed()
    assert before[-1] == {"type": "bye", "reason": "room_deleted"}


async def test_resume_within_the_window_is_invisible_to_others(
    server: Server, clock: FakeClock
) -> None:
    room = await server.room()
    mod, _ = await joined(server, room, "moderator", "Grace")
    spk, spk_joined = await joined(server, room, "speaker", "Ada")
    await mod.expect("participant_joined")
    await spk.ws.close()  # the network drops: no leave
    back = await connect(server)
    await back.send(type="resume", resume_token=spk_joined["resume_token"])
    again = await back.expect("joined")
    assert again["you"]["id"] == spk_joined["you"]["id"]
    await mod.send(type="ping")
    await mod.expect("pong")
    assert not any(m["type"] == "participant_left" for m in mod.seen)

    # Dropped again, and this time not back within the window: exactly one leave.
    await back.ws.close()
    # The server notices the close in the socket's own task: the window starts then. (A ping
    # on another socket does not order the two: flaky on uvloop before this wait.)
    live = server.services.meetings.live(room.id)
    assert live is not None
    async with asyncio.timeout(5):
        await server.services.meetings.wait_for(lambda: spk_joined["you"]["id"] in live.core.away)
    clock.advance(timedelta(seconds=21))
    await server.services.meetings.tick()
    left = await mod.expect("participant_left")
    assert left["participant_id"] == spk_joined["you"]["id"] and left["reason"] == "timeout"
    stale = await connect(server)
    await stale.send(type="resume", resume_token=again["resume_token"])
    code, _, _ = await stale.closed()
    assert code == 4001
    await mod.ws.close()


async def test_empty_room_ends_the_meeting_after_the_timeout(
    server: Server, clock: FakeClock
) -> None:
    room = await server.room()
    client, _ = await joined(server, room)
    await client.send(type="leave")
    _, _, before = await client.closed()
    assert before[-1] == {"type": "bye", "reason": "left"}
    assert (await server.http.get(f"/api/v1/rooms/{room.id}")).json()["status"] == "open"
    clock.advance(timedelta(seconds=20))
    await server.services.meetings.tick()
    history = (await server.http.get(f"/api/v1/rooms/{room.id}/meetings")).json()["items"]
    assert history[0]["end_reason"] == "empty"
    assert history[0]["participants"][0]["leave_reason"] == "left"


async def test_message_flood_is_closed(server: Server) -> None:
    room = await server.room()
    client, _ = await joined(server, room)
    for _ in range(200):
        await client.send(type="ping")
    code, reason, _ = await client.closed()
    assert code == 1008 and "too many" in reason


async def test_sockets_left_waiting_cannot_lock_out_a_join_from_their_address(
    server: Server,
) -> None:
    from signaling.api.ws import MAX_PENDING_PER_IP

    waiting = [await connect(server) for _ in range(MAX_PENDING_PER_IP)]
    # A real join from the same address gets in: it takes the oldest waiting socket's place.
    room = await server.room()
    ada, hello = await joined(server, room)
    assert hello["you"]["nickname"] == "Ada"
    code, reason, _ = await waiting[0].closed()
    assert (code, reason) == (1008, "replaced by a newer connection")
    # The others still wait, until the admission deadline closes them.
    for client in waiting[1:]:
        assert (await client.closed())[0] == 4001
    # Joined sockets do not count against the cap.
    again, _ = await joined(server, room, nickname="Grace")
    for client in (ada, again):
        await client.ws.close()


class _Quiet:
    """A session that nobody reads (the meeting service only needs send and close)."""

    def send(self, message: object) -> None:
        pass

    def close(self, reason: object, code: object) -> None:
        pass


async def test_a_kicked_token_stays_revoked_after_a_restart(
    server: Server, clock: FakeClock
) -> None:
    room = await server.room()
    mod, _ = await joined(server, room, "moderator", "Grace")
    speaker_secret = room.links[next(r for r in room.links if r.value == "speaker")].secret
    grant = await server.services.rooms.join(speaker_secret, "Mallory")
    victim = await connect(server, grant.token)
    pid = (await victim.expect("joined"))["you"]["id"]
    kicked = await server.http.delete(f"/api/v1/rooms/{room.id}/meeting/participants/{pid}")
    assert kicked.status_code == 204
    await victim.closed()
    await mod.ws.close()
    # A new process on the same database: the token is still refused.
    restarted = await build_services(
        server.services.store, public_url="https://meet.example.test", clock=clock
    )
    with pytest.raises(Refused) as refused:
        await restarted.meetings.admit(grant.claims, _Quiet())  # type: ignore[arg-type]
    assert refused.value.reason == "kicked" and refused.value.close_code == 4003
    # ... until it would have expired anyway; then the record is dropped.
    clock.advance(timedelta(hours=2))
    assert not await server.services.store.is_token_revoked(grant.claims.token_id, clock.now())
