"""One lock per room, never held across a media close: a room whose peer connections take
5 s to close does not hold up a join in another room, nor a new meeting in the same room."""

from __future__ import annotations

import asyncio
import time

import pytest

from sfu.peer import MediaPeer
from signaling.api.schemas import RoomCreate
from signaling.meetings.service import Session
from signaling.services import Services
from signaling.tokens import ParticipantClaims, verify_participant_token
from signaling.wire import ByeReason, CloseCode, ServerMessage


class FakeSession:
    def __init__(self) -> None:
        self.messages: list[ServerMessage] = []
        self.closed: tuple[ByeReason | None, CloseCode] | None = None

    def send(self, message: ServerMessage) -> None:
        self.messages.append(message)

    def close(self, reason: ByeReason | None, code: CloseCode) -> None:
        self.closed = (reason, code)


async def claims_for(services: Services, name: str) -> ParticipantClaims:
    room = await services.rooms.create(RoomCreate(name=name))
    secret = next(link.secret for role, link in room.links.items() if role.value == "speaker")
    grant = await services.rooms.join(secret, "Ada")
    return verify_participant_token(services.token_key, grant.token, services.clock.now())


async def test_a_slow_media_close_in_one_room_does_not_delay_joins(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()
    closing = asyncio.Event()
    real_close = MediaPeer.close

    async def slow_close(peer: MediaPeer) -> None:
        closing.set()
        async with asyncio.timeout(5):  # as long as CLOSE_WAIT lets a close take
            await release.wait()
        await real_close(peer)

    monkeypatch.setattr(MediaPeer, "close", slow_close)
    meetings = services.meetings
    a = await claims_for(services, "Room A")
    b = await claims_for(services, "Room B")
    session: Session = FakeSession()
    await meetings.admit(a, session)

    ended = asyncio.create_task(meetings.end(a.room_id, ByeReason.ENDED_BY_API))
    async with asyncio.timeout(5):
        await closing.wait()  # room A's peer is closing, and will take its time
    started = time.monotonic()
    other = FakeSession()
    await meetings.admit(b, other)
    join_b = time.monotonic() - started
    assert await ended, "room A's meeting ended (the REST call returned)"
    again = FakeSession()
    started = time.monotonic()
    await meetings.admit(await claims_for(services, "Room A2"), again)
    await meetings.admit(a, FakeSession())  # a new meeting in room A itself
    join_a = time.monotonic() - started
    assert not release.is_set()
    assert join_b < 0.1, f"a join in room B waited {join_b:.3f} s for room A's media close"
    assert join_a < 0.5, f"new meetings waited {join_a:.3f} s for room A's old media close"
    assert meetings.live(b.room_id) is not None

    release.set()
    await meetings.shutdown()  # waits for the background closes
