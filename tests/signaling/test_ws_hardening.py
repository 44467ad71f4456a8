"""What a hostile or careless client sees at the signaling socket (RELIABILITY 6): every
refusal is an ``error`` saying why, then the documented close; nothing raises in the app."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from signaling.clock import FakeClock
from signaling.tokens import issue_participant_token
from signaling.wire import MAX_DEPTH
from tests.conftest import Receiver, Server
from tests.signaling.test_ws import connect, joined


@pytest.fixture
def app_errors(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.parametrize("frame", ["[" * 1000 + "]" * 1000, '{"type":"join","a":' * 600])
async def test_deeply_nested_json_before_joining_is_refused_with_an_error_and_1008(
    server: Server, app_errors: pytest.LogCaptureFixture, frame: str
) -> None:
    client = await connect(server)
    await client.ws.send(frame)
    code, reason, before = await client.closed()
    assert code == 1008 and str(MAX_DEPTH) in reason
    assert [m["code"] for m in before] == ["invalid_message"]
    assert not tracebacks(app_errors)


async def test_deeply_nested_json_in_a_meeting_closes_1008_and_the_room_goes_on(
    server: Server, app_errors: pytest.LogCaptureFixture
) -> None:
    room = await server.room()
    other, _ = await joined(server, room, "moderator", "Grace")
    client, _ = await joined(server, room)
    await client.ws.send('{"type": "chat", "text": ' + "[" * 5000 + "]" * 5000 + "}")
    code, _, before = await client.closed()
    assert code == 1008 and before[-1]["code"] == "invalid_message"
    await other.send(type="ping")
    await other.expect("pong")
    assert not tracebacks(app_errors)
    await other.ws.close()


@pytest.mark.parametrize("token", ["", "eyJhbGciOiJIUzI1NiJ9.\u00e9.c2ln"])
async def test_an_empty_or_non_ascii_token_is_refused_like_any_bad_token(
    server: Server, app_errors: pytest.LogCaptureFixture, token: str
) -> None:
    client = await connect(server, token)
    code, _, before = await client.closed()
    assert code == 4001 and [m["code"] for m in before] == ["invalid_token"]
    assert not tracebacks(app_errors)


async def test_the_first_message_not_being_join_says_so_before_closing(server: Server) -> None:
    client = await connect(server)
    await client.send(type="ping", ref="r1")
    code, _, before = await client.closed()
    assert code == 1008 and before == [
        {
            "type": "error",
            "code": "not_joined",
            "message": "the first message must be join or resume",
            "ref": "r1",
        }
    ]


async def test_invalid_utf8_closes_1007_without_a_traceback(
    server: Server, app_errors: pytest.LogCaptureFixture
) -> None:
    for _ in range(3):
        client = await connect(server)
        await client.ws.send(b"\xff\xfe{}", text=True)
        code, _, _ = await client.closed()
        assert code == 1007
    assert not tracebacks(app_errors)
    assert sum("not UTF-8" in r.getMessage() for r in app_errors.records) == 3


async def test_a_token_whose_nickname_is_invisible_is_refused(server: Server) -> None:
    room = await server.room()
    token, _ = issue_participant_token(
        server.services.token_key,
        participant_id="p_ghost",
        room_id=room.id,
        role=next(iter(room.links)),
        nickname="\u200b\u2063",
        now=server.services.clock.now(),
        ttl=timedelta(minutes=10),
    )
    client = await connect(server, token)
    code, _, before = await client.closed()
    assert code == 4001 and before[0]["code"] == "invalid_nickname"
    assert "visible" in before[0]["message"]
    assert server.services.meetings.live(room.id) is None


async def test_a_resume_token_works_once_and_the_second_use_says_so(server: Server) -> None:
    room = await server.room()
    mod, _ = await joined(server, room, "moderator", "Grace")
    spk, first = await joined(server, room)
    await spk.ws.close()
    back = await connect(server)
    await back.send(type="resume", resume_token=first["resume_token"])
    again = await back.expect("joined")
    assert again["resume_token"] != first["resume_token"]
    replay = await connect(server)
    await replay.send(type="resume", resume_token=first["resume_token"])
    code, _, before = await replay.closed()
    assert code == 4001 and before[0]["code"] == "resume_used"
    await back.ws.close()
    await mod.ws.close()


async def test_resuming_into_an_ended_meeting_says_it_ended(server: Server) -> None:
    room = await server.room()
    mod, first = await joined(server, room, "moderator", "Grace")
    await mod.send(type="end_meeting")
    await mod.closed()
    back = await connect(server)
    await back.send(type="resume", resume_token=first["resume_token"])
    code, _, before = await back.closed()
    assert code == 4003 and before[0]["code"] == "meeting_ended"


async def test_resuming_too_late_says_the_window_passed(server: Server, clock: FakeClock) -> None:
    room = await server.room()
    mod, _ = await joined(server, room, "moderator", "Grace")
    spk, first = await joined(server, room)
    pid = first["you"]["id"]
    await spk.ws.close()
    live = server.services.meetings.live(room.id)
    assert live is not None
    await server.services.meetings.wait_for(lambda: pid in live.core.away)
    clock.advance(timedelta(seconds=21))
    await server.services.meetings.tick()
    back = await connect(server)
    await back.send(type="resume", resume_token=first["resume_token"])
    code, _, before = await back.closed()
    assert code == 4001 and before[0]["code"] == "resume_expired"
    assert "resume window" in before[0]["message"]
    await mod.ws.close()


async def test_forced_delete_after_everyone_left_ends_the_meeting_at_once(
    server: Server,
) -> None:
    """The meeting, waiting out its 20 s empty timeout, lived on after its room was deleted
    (counted live, its media room open) and ended 20 s later as ``empty``."""
    room = await server.room()
    ended: list[str] = []
    server.services.meetings.on_ended = lambda room_id, meeting_id: ended.append(meeting_id)
    client, first = await joined(server, room)
    await client.send(type="leave")
    await client.closed()
    assert server.services.meetings.live(room.id) is not None  # waiting out the empty timeout
    response = await server.http.delete(
        f"/api/v1/rooms/{room.id}", params={"with_meeting": "force"}
    )
    assert response.status_code == 204
    assert server.services.meetings.live(room.id) is None
    assert server.services.meetings.counts()[0] == 0
    assert ended == [first["meeting_id"]]


@pytest.mark.parametrize("leave_first", [False, True])
async def test_deleting_a_room_reports_its_meeting_ended_as_room_deleted(
    server: Server, receiver: Receiver, leave_first: bool
) -> None:
    """The room's history went with it before the meeting was ended, so meeting.ended was
    never sent for a force-deleted room (a receiver saw meetings start and never end)."""
    hook = await server.http.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "events": ["meeting.ended", "room.deleted"]},
    )
    assert hook.status_code == 201, hook.text
    room = await server.room()
    client, first = await joined(server, room)
    if leave_first:
        await client.send(type="leave")
        await client.closed()
    response = await server.http.delete(
        f"/api/v1/rooms/{room.id}", params={"with_meeting": "force"}
    )
    assert response.status_code == 204
    if not leave_first:
        _, _, before = await client.closed()
        assert before[-1] == {"type": "bye", "reason": "room_deleted"}
    await receiver.wait_for(2)
    ended, deleted = receiver.events()
    assert (ended["type"], deleted["type"]) == ("meeting.ended", "room.deleted")
    assert ended["data"]["id"] == first["meeting_id"]
    assert ended["data"]["end_reason"] == "room_deleted"
    assert [p["leave_reason"] for p in ended["data"]["participants"]] == [
        "left" if leave_first else "room_deleted"
    ]
