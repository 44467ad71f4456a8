"""The placement seam: live-meeting commands from the REST API and the WebSocket go through
:meth:`Placement.command` (so a cluster can carry them to the meeting's node), and a media
command for someone without media is a clear refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from sfu.errors import MediaError
from signaling.api import create_app
from signaling.clock import FakeClock
from signaling.placement.local import LocalMedia, LocalPlacement
from signaling.placement.seam import LiveCommand, MediaSettings, TrackReport
from signaling.services import build_services
from signaling.store import SqliteStore
from tests.conftest import API_KEY
from tests.signaling.test_room_locks import FakeSession, claims_for

R = TypeVar("R")


class CountingPlacement(LocalPlacement):
    def __init__(self) -> None:
        super().__init__()
        self.commands: list[LiveCommand[Any]] = []

    async def command(self, command: LiveCommand[R]) -> R:
        self.commands.append(command)
        return await super().command(command)


async def test_rest_moderation_goes_through_the_placement(db_path: Path, clock: FakeClock) -> None:
    placement = CountingPlacement()
    store = await SqliteStore.open(db_path)
    services = await build_services(
        store,
        public_url="https://meet.example.test",
        clock=clock,
        initial_api_key=API_KEY,
        placement=placement,
    )
    claims = await claims_for(services, "Seam")
    session = FakeSession()
    await services.meetings.admit(claims, session)
    app = create_app(services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers={"X-API-Key": API_KEY}
    ) as http:
        base = f"/api/v1/rooms/{claims.room_id}/meeting"
        pid = claims.participant_id
        assert (await http.post(f"{base}/participants/{pid}/mute")).status_code == 204
        assert (await http.delete(f"{base}/participants/{pid}")).status_code == 204
        assert (await http.delete(base)).status_code == 204  # empty, not over yet: ended
        assert (await http.delete(base)).status_code == 409  # now there is none
    kinds = [type(c).__name__ for c in placement.commands]
    assert kinds == ["MuteParticipant", "KickParticipant", "EndMeeting", "EndMeeting"]
    assert session.closed is not None
    await services.meetings.shutdown()
    await store.close()


class Events:
    def __init__(self) -> None:
        self.unpublished: list[TrackReport] = []

    def subscribe_offer(self, participant_id: str, sdp: str, tracks: dict[str, str]) -> None:
        pass

    def track_published(self, track: TrackReport) -> None:
        pass

    def track_unpublished(self, track: TrackReport) -> None:
        self.unpublished.append(track)

    def active_speaker(self, participant_id: str | None) -> None:
        pass

    def media_failed(self, participant_id: str) -> None:
        pass


async def test_media_commands_for_someone_without_media_are_refused() -> None:
    placement = LocalPlacement()
    media = placement.open_media("room", Events(), MediaSettings())
    assert isinstance(media, LocalMedia)
    with pytest.raises(MediaError) as info:
        await media.subscribe_answer("nobody", "v=0")
    assert info.value.code == "not_in_meeting"
    media.remove_peer("nobody")  # nothing to remove: no error
    media.offer_again("nobody")
    await media.add_peer("ada", may_publish=True)
    media.close()
    assert media.room.peers == {}  # out at once; the connections close in the background
    await placement.drain()
