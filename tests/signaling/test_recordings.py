"""Recordings through the real server, with a scripted recorder standing in for the process:
statuses, refusals, who may see what, share links, Range, zip, restart recovery, and the
recorder as a hidden participant. The real ``python -m recorder`` is tested in
tests/recorder/ and tests/meetbox/test_recording_e2e.py."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from signaling.client import MeetboxClient
from signaling.models import RecordingRecord, RecordingStatus, RoomRecord
from signaling.recordings.service import RecordingService, SubprocessLauncher
from signaling.wire import ByeReason

from ..conftest import Server, serve_receiver

pytestmark = pytest.mark.timeout(30)


class ScriptedRecorder:
    """What the service sees of a recorder process; the test says what it reports."""

    def __init__(self, args: list[str], token: str) -> None:
        self.args = dict(zip(args[::2], args[1::2], strict=True))
        self.token = token
        self.stop_requested = asyncio.Event()
        self.killed = False
        self._reports: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._exit: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    @property
    def output(self) -> Path:
        return Path(self.args["--output"])

    async def reports(self) -> AsyncIterator[dict[str, Any]]:
        while (report := await self._reports.get()) is not None:
            yield report

    def stop(self) -> None:
        self.stop_requested.set()

    def kill(self) -> None:
        self.killed = True
        self.exit(-9)

    async def wait(self) -> int:
        return await self._exit

    def report(self, **report: Any) -> None:
        self._reports.put_nowait(report)

    def exit(self, code: int) -> None:
        if not self._exit.done():
            self._reports.put_nowait(None)
            self._exit.set_result(code)

    def write_file(
        self, data: bytes = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40
    ) -> bytes:
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.output.write_bytes(data)
        return data

    def write_sidecar(self, final: dict[str, Any]) -> None:
        Path(str(self.output) + ".json").write_text(json.dumps(final))

    def finish(self, reason: str = "stopped", duration: float = 3.0) -> None:
        size = self.output.stat().st_size if self.output.exists() else 0
        self.report(event="ending")
        self.report(event="complete", duration_s=duration, size_bytes=size, reason=reason)
        self.exit(0)


class ScriptedLauncher:
    def __init__(self) -> None:
        self.launched: asyncio.Queue[ScriptedRecorder] = asyncio.Queue()
        self.all: list[ScriptedRecorder] = []

    async def launch(self, args: list[str], token: str) -> ScriptedRecorder:
        recorder = ScriptedRecorder(args, token)
        self.launched.put_nowait(recorder)
        self.all.append(recorder)
        return recorder


@pytest.fixture
async def launcher(server: Server) -> AsyncIterator[ScriptedLauncher]:
    fake = ScriptedLauncher()
    server.services.recordings.launcher = fake
    yield fake
    for recorder in fake.all:  # what a real recorder does when the server goes
        recorder.exit(0)


def local(url: str) -> str:
    """A URL the API handed out (under the public URL), for the test server."""
    return url.removeprefix("https://meet.example.test")


def recordings(server: Server) -> RecordingService:
    return server.services.recordings


def a_new_process(server: Server) -> RecordingService:
    """The recording service of a new server process on the same store and data dir."""
    return RecordingService(
        server.services.store,
        server.services.rooms,
        server.services.meetings,
        server.services.clock,
        recordings(server).settings,
        token_key=b"k" * 32,
        public_url="https://meet.example.test",
    )


def secret(room: RoomRecord, role: str) -> str:
    return next(link.secret for r, link in room.links.items() if r.value == role)


async def in_meeting(
    server: Server, room: RoomRecord, made: list[MeetboxClient], **kw: Any
) -> MeetboxClient:
    client = MeetboxClient(
        server.ws_url, await server.token(room, kw.get("role", "moderator"), kw.get("name", "Ada"))
    )
    made.append(client)
    await client.connect()
    return client


@pytest.fixture
async def made() -> AsyncIterator[list[MeetboxClient]]:
    clients: list[MeetboxClient] = []
    yield clients
    for client in clients:
        await client.close()


async def start(server: Server, room: RoomRecord, **body: Any) -> dict[str, Any]:
    response = await server.http.post(f"/api/v1/rooms/{room.id}/recordings", json=body or None)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def active(
    server: Server, launcher: ScriptedLauncher, room: RoomRecord
) -> tuple[str, ScriptedRecorder]:
    rec_id = (await start(server, room))["id"]
    async with asyncio.timeout(5):
        recorder = await launcher.launched.get()
    recorder.write_file()
    recorder.report(event="active", started_at="2026-03-01T09:00:00Z")
    async with asyncio.timeout(5):
        await recordings(server).wait_for(rec_id, RecordingStatus.ACTIVE)
    return rec_id, recorder


def recording_messages(client: MeetboxClient) -> list[tuple[str, str]]:
    return [(m["recording_id"], m["status"]) for m in client.messages if m["type"] == "recording"]


async def test_start_stop_complete_with_participants_told_and_webhooks(
    server: Server, launcher: ScriptedLauncher, made: list[MeetboxClient]
) -> None:
    async with serve_receiver() as receiver:
        events = ["recording.started", "recording.updated", "recording.ended"]
        hook = await server.http.post(
            "/api/v1/webhooks", json={"url": receiver.url, "events": events}
        )
        assert hook.status_code == 201, hook.text
        room = await server.room(name="Board")
        ada = await in_meeting(server, room, made)
        rec_id, recorder = await active(server, launcher, room)
        assert recorder.args["--layout"] == "grid" and recorder.args["--width"] == "1280"
        assert "--token" not in recorder.args  # the token travels in the environment
        # A late joiner learns of the recording in ``joined``.
        bob = await in_meeting(server, room, made, role="speaker", name="Bob")
        assert bob.joined["recording"] == {
            "type": "recording",
            "recording_id": rec_id,
            "status": "active",
            "error": None,
        }

        response = await server.http.post(f"/api/v1/recordings/{rec_id}/stop")
        assert response.status_code == 202 and response.json()["status"] == "ending"
        async with asyncio.timeout(5):
            await recorder.stop_requested.wait()
        recorder.finish()
        async with asyncio.timeout(5):
            done = await recordings(server).wait_for(rec_id, RecordingStatus.COMPLETE)
        assert done.end_reason == "stopped" and done.duration_s == 3.0
        assert done.size_bytes == recorder.output.stat().st_size
        body = (await server.http.get(f"/api/v1/recordings/{rec_id}")).json()
        assert body["status"] == "complete" and body["media_url"].endswith(
            f"/recordings/{rec_id}/media"
        )

        async with asyncio.timeout(5):
            await ada.wait_for(lambda c: (rec_id, "complete") in recording_messages(c))
        assert recording_messages(ada)[:3] == [
            (rec_id, "starting"),
            (rec_id, "active"),
            (rec_id, "ending"),
        ]

        await receiver.wait_for(4)
        types = [e["type"] for e in receiver.events()]
        assert types == [
            "recording.started",
            "recording.updated",
            "recording.updated",
            "recording.ended",
        ]
        assert receiver.events()[-1]["data"]["status"] == "complete"


async def test_refusals_say_why_and_change_nothing(
    server: Server, launcher: ScriptedLauncher, made: list[MeetboxClient]
) -> None:
    room = await server.room(name="Quiet")
    r = await server.http.post(f"/api/v1/rooms/{room.id}/recordings")
    assert r.status_code == 409 and "no meeting" in r.json()["detail"]
    off = await server.room(name="Off", config={"recording": {"enabled": False}})
    await in_meeting(server, off, made)
    r = await server.http.post(f"/api/v1/rooms/{off.id}/recordings")
    assert r.status_code == 409 and "turned off" in r.json()["detail"]
    assert (await server.http.post("/api/v1/rooms/nope/recordings")).status_code == 404
    r = await server.http.post(f"/api/v1/rooms/{room.id}/recordings", json={"preset": "4k"})
    assert r.status_code == 422

    await in_meeting(server, room, made)
    rec_id, _ = await active(server, launcher, room)
    r = await server.http.post(f"/api/v1/rooms/{room.id}/recordings")
    assert r.status_code == 409 and rec_id in r.json()["detail"]
    # A running recording can be neither deleted nor downloaded yet.
    assert (await server.http.delete(f"/api/v1/recordings/{rec_id}")).status_code == 409
    assert (await server.http.get(f"/api/v1/recordings/{rec_id}/media")).status_code == 409

    # At most max_concurrent (2) at once, across rooms.
    other = await server.room(name="Other")
    await in_meeting(server, other, made, name="Cy")
    await active(server, launcher, other)
    third = await server.room(name="Third")
    await in_meeting(server, third, made, name="Di")
    r = await server.http.post(f"/api/v1/rooms/{third.id}/recordings")
    assert r.status_code == 409 and "--max-recordings" in r.json()["detail"]
    listed = (await server.http.get("/api/v1/recordings", params={"status": "active"})).json()
    assert len(listed["items"]) == 2


async def test_speakers_cannot_start_or_stop_and_moderators_can_from_the_meeting(
    server: Server, launcher: ScriptedLauncher, made: list[MeetboxClient]
) -> None:
    room = await server.room(name="Roles")
    mod = await in_meeting(server, room, made)
    speaker = await in_meeting(server, room, made, role="speaker", name="Bob")
    await speaker.send(type="start_recording", ref="s1")
    async with asyncio.timeout(5):
        await speaker.wait_for(lambda c: any(m.get("ref") == "s1" for m in c.messages))
    assert [m["code"] for m in speaker.messages if m.get("ref") == "s1"] == ["forbidden"]
    r = await server.http.post(
        f"/api/v1/rooms/{room.id}/recordings", headers={"X-Meetbox-Link": secret(room, "speaker")}
    )
    assert r.status_code == 403
    assert recordings(server).under_way(room.id) is None

    await mod.send(type="start_recording")
    async with asyncio.timeout(5):
        recorder = await launcher.launched.get()
        await mod.wait_for(lambda c: any(s == "starting" for _, s in recording_messages(c)))
    await mod.send(type="stop_recording")
    async with asyncio.timeout(5):
        await recorder.stop_requested.wait()
    recorder.exit(0)  # stopped before it recorded anything
    rec_id = recording_messages(mod)[0][0]
    async with asyncio.timeout(5):
        rec = await recordings(server).wait_for(rec_id, RecordingStatus.ABORTED)
    assert rec.error == "stopped before anything was recorded"


async def test_a_recorder_that_dies_fails_the_recording_and_the_meeting_goes_on(
    server: Server, launcher: ScriptedLauncher, made: list[MeetboxClient]
) -> None:
    room = await server.room(name="Crash")
    ada = await in_meeting(server, room, made)
    rec_id, recorder = await active(server, launcher, room)
    recorder.exit(-9)
    async with asyncio.timeout(5):
        rec = await recordings(server).wait_for(rec_id, RecordingStatus.FAILED)
    assert "killed by SIGKILL" in (rec.error or "")
    assert rec.size_bytes == recorder.output.stat().st_size
    live = server.services.meetings.live(room.id)
    assert live is not None and "Ada" in [p.nickname for p in live.core.visible()]
    async with asyncio.timeout(5):
        await ada.wait_for(lambda c: (rec_id, "failed") in recording_messages(c))
    # And another recording may start.
    await active(server, launcher, room)


async def test_disk_full_report_fails_the_recording(
    server: Server, launcher: ScriptedLauncher, made: list[MeetboxClient]
) -> None:
    room = await server.room(name="Full")
    await in_meeting(server, room, made)
    rec_id, recorder = await active(server, launcher, room)
    recorder.report(event="failed", error="disk full: no space left on device", duration_s=1.5)
    recorder.exit(1)
    async with asyncio.timeout(5):
        rec = await recordings(server).wait_for(rec_id, RecordingStatus.FAILED)
    assert rec.error == "disk full: no space left on device" and rec.duration_s == 1.5
    assert server.services.meetings.live(room.id) is not None


async def test_meeting_ending_before_the_recorder_is_in_aborts_it(
    server: Server, launcher: ScriptedLauncher, made: list[MeetboxClient]
) -> None:
    room = await server.room(name="Short")
    await in_meeting(server, room, made)
    rec_id = (await start(server, room))["id"]
    async with asyncio.timeout(5):
        recorder = await launcher.launched.get()
    assert (await server.http.delete(f"/api/v1/rooms/{room.id}/meeting")).status_code == 204
    async with asyncio.timeout(5):
        await recorder.stop_requested.wait()
    recorder.report(event="failed", error="could not join: no_meeting")
    recorder.exit(1)
    async with asyncio.timeout(5):
        rec = await recordings(server).wait_for(rec_id, RecordingStatus.ABORTED)
    assert rec.ended_at is not None


async def test_the_recorder_joins_hidden(
    server: Server, launcher: ScriptedLauncher, made: list[MeetboxClient]
) -> None:
    room = await server.room(name="Hidden", max_participants=1)
    ada = await in_meeting(server, room, made)
    await start(server, room)
    async with asyncio.timeout(5):
        recorder = await launcher.launched.get()
    bot = MeetboxClient(server.ws_url, recorder.token)
    made.append(bot)
    joined = await bot.connect()  # a full room (1) still takes its recorder
    assert [p["nickname"] for p in joined["participants"]] == ["Ada"]
    meeting = (await server.http.get(f"/api/v1/rooms/{room.id}/meeting")).json()
    assert [p["nickname"] for p in meeting["participants"]] == ["Ada"]
    await ada.send(type="ping")
    async with asyncio.timeout(5):
        await ada.wait_for(lambda c: any(m["type"] == "pong" for m in c.messages))
    assert not any(m["type"] == "participant_joined" for m in ada.messages)
    # It cannot act, and cannot be acted on.
    await bot.send(type="chat", text="hi", ref="c")
    async with asyncio.timeout(5):
        await bot.wait_for(lambda c: any(m.get("ref") == "c" for m in c.messages))
    assert bot.messages[-1]["code"] == "forbidden"
    bot_id = bot.joined["you"]["id"]
    kick = await server.http.delete(f"/api/v1/rooms/{room.id}/meeting/participants/{bot_id}")
    assert kick.status_code == 404
    # Its token is for this recording only: once it has ended, the token opens nothing.
    await ada.send(type="leave")
    history = (await server.http.get(f"/api/v1/rooms/{room.id}/meetings")).json()["items"]
    assert [p["nickname"] for p in history[0]["participants"]] == ["Ada"]


async def test_a_meeting_with_only_its_recorder_left_ends(
    server: Server, launcher: ScriptedLauncher, made: list[MeetboxClient]
) -> None:
    room = await server.room(name="Alone")
    ada = await in_meeting(server, room, made)
    rec_id = (await start(server, room))["id"]
    recorder = await launcher.launched.get()
    bot = MeetboxClient(server.ws_url, recorder.token)
    made.append(bot)
    await bot.connect()
    recorder.write_file()
    recorder.report(event="active", started_at="2026-03-01T09:00:00Z")
    async with asyncio.timeout(5):
        await recordings(server).wait_for(rec_id, RecordingStatus.ACTIVE)
    await ada.send(type="leave")
    live = server.services.meetings.live(room.id)
    assert live is not None
    async with asyncio.timeout(5):
        await ada.wait_for(lambda c: c.closed_with is not None)
    assert live.core.empty and live.core.next_deadline() is not None
    server.services.clock.advance(timedelta(seconds=30))  # type: ignore[attr-defined]
    await server.services.meetings.tick()
    async with asyncio.timeout(5):
        await bot.wait_for(lambda c: c.closed_with is not None)
    assert [m["reason"] for m in bot.messages if m["type"] == "bye"] == [ByeReason.EMPTY.value]
    recorder.finish(reason="meeting_ended")
    async with asyncio.timeout(5):
        rec = await recordings(server).wait_for(rec_id, RecordingStatus.COMPLETE)
    assert rec.end_reason == "meeting_ended"


async def test_who_sees_recordings_follows_the_room_access_setting(
    server: Server, launcher: ScriptedLauncher, made: list[MeetboxClient]
) -> None:
    room = await server.room(name="Access", config={"recording": {"access": "moderator"}})
    await in_meeting(server, room, made)
    rec_id, recorder = await active(server, launcher, room)
    await server.http.post(f"/api/v1/recordings/{rec_id}/stop")
    recorder.finish()
    await recordings(server).wait_for(rec_id, RecordingStatus.COMPLETE)
    data = recorder.output.read_bytes()

    async def as_link(role: str, method: str, path: str) -> Any:
        return await server.http.request(
            method, path, headers={"X-Meetbox-Link": secret(room, role), "X-API-Key": ""}
        )

    assert (
        await as_link("speaker", "GET", f"/api/v1/recordings?room_id={room.id}")
    ).status_code == 403
    assert (
        await as_link("speaker", "GET", f"/api/v1/recordings/{rec_id}/media")
    ).status_code == 403
    for role in ("moderator", "recordings"):
        listed = await as_link(role, "GET", "/api/v1/recordings")
        assert [r["id"] for r in listed.json()["items"]] == [rec_id], role
        # The player's URL works with no header at all (a <video src>), Range included.
        media_url = listed.json()["items"][0]["media_url"]
        assert "access=" in media_url
        part = await server.http.get(
            local(media_url), headers={"Range": "bytes=100-199", "X-API-Key": ""}
        )
        assert part.status_code == 206 and part.content == data[100:200]
        assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    assert (
        await as_link("recordings", "DELETE", f"/api/v1/recordings/{rec_id}")
    ).status_code == 403
    # A forged or expired access parameter is refused.
    bad = await server.http.get(
        f"/api/v1/recordings/{rec_id}/media?access=9999999999.00", headers={"X-API-Key": ""}
    )
    assert bad.status_code == 401

    await server.http.patch(
        f"/api/v1/rooms/{room.id}", json={"config": {"recording": {"access": "moderator_speaker"}}}
    )
    assert (await as_link("speaker", "GET", "/api/v1/recordings")).status_code == 200
    await server.http.patch(
        f"/api/v1/rooms/{room.id}", json={"config": {"recording": {"access": "admin"}}}
    )
    assert (await as_link("moderator", "GET", "/api/v1/recordings")).status_code == 403
    assert (await as_link("recordings", "GET", "/api/v1/recordings")).status_code == 200
    # Another room's link sees nothing of this room's.
    other = await server.room(name="Elsewhere")
    foreign = await server.http.get(
        f"/api/v1/recordings/{rec_id}",
        headers={"X-Meetbox-Link": secret(other, "moderator"), "X-API-Key": ""},
    )
    assert foreign.status_code == 404


async def test_a_links_media_url_stops_with_the_link_or_its_access(
    server: Server, launcher: ScriptedLauncher, made: list[MeetboxClient]
) -> None:
    """A <video src> URL handed to a link's holder works without headers, but only while
    that link stands and its role may still see recordings (before, it worked for 6 h)."""
    room = await server.room(name="Bound", config={"recording": {"access": "moderator"}})
    await in_meeting(server, room, made)
    rec_id, recorder = await active(server, launcher, room)
    await server.http.post(f"/api/v1/recordings/{rec_id}/stop")
    recorder.finish()
    await recordings(server).wait_for(rec_id, RecordingStatus.COMPLETE)

    async def media_url(role: str) -> str:
        got = await server.http.get(
            f"/api/v1/recordings/{rec_id}",
            headers={"X-Meetbox-Link": secret(room, role), "X-API-Key": ""},
        )
        assert got.status_code == 200, got.text
        return local(got.json()["media_url"])

    async def status(url: str) -> int:
        return (await server.http.get(url, headers={"X-API-Key": ""})).status_code

    moderator_url, recordings_url = await media_url("moderator"), await media_url("recordings")
    assert await status(moderator_url) == 200 and await status(recordings_url) == 200
    await server.http.patch(
        f"/api/v1/rooms/{room.id}", json={"config": {"recording": {"access": "admin"}}}
    )
    assert await status(moderator_url) == 401  # moderators may no longer see recordings
    assert await status(recordings_url) == 200
    rotated = await server.http.post(f"/api/v1/rooms/{room.id}/links/rotate")
    assert rotated.status_code == 200, rotated.text
    assert await status(recordings_url) == 401  # the link it was handed out for is gone


async def test_share_links_open_one_recording_until_revoked(
    server: Server, launcher: ScriptedLauncher, made: list[MeetboxClient]
) -> None:
    room = await server.room(name="Share")
    await in_meeting(server, room, made)
    rec_id, recorder = await active(server, launcher, room)
    r = await server.http.post(f"/api/v1/recordings/{rec_id}/share")
    assert r.status_code == 409  # not before it has ended
    await server.http.post(f"/api/v1/recordings/{rec_id}/stop")
    recorder.finish()
    await recordings(server).wait_for(rec_id, RecordingStatus.COMPLETE)

    url = (await server.http.post(f"/api/v1/recordings/{rec_id}/share")).json()["url"]
    assert url.startswith(f"https://meet.example.test/recording/{rec_id}#share=")
    share = url.split("#share=")[1]
    shared = await server.http.get(
        f"/api/v1/recordings/{rec_id}", headers={"X-Meetbox-Share": share, "X-API-Key": ""}
    )
    assert shared.status_code == 200 and shared.json()["shared"] is True
    media = await server.http.get(local(shared.json()["media_url"]), headers={"X-API-Key": ""})
    assert media.status_code == 200 and media.content == recorder.output.read_bytes()
    listing = await server.http.get(
        "/api/v1/recordings", headers={"X-Meetbox-Share": share, "X-API-Key": ""}
    )
    assert listing.status_code == 401  # a share link is not a key to the list

    assert (await server.http.delete(f"/api/v1/recordings/{rec_id}/share")).status_code == 204
    # What the share link handed out stops playing too.
    cut = await server.http.get(local(shared.json()["media_url"]), headers={"X-API-Key": ""})
    assert cut.status_code == 401
    gone = await server.http.get(
        f"/api/v1/recordings/{rec_id}", headers={"X-Meetbox-Share": share, "X-API-Key": ""}
    )
    assert gone.status_code == 404


async def test_download_zip_delete_and_bulk_delete(
    server: Server, launcher: ScriptedLauncher, made: list[MeetboxClient]
) -> None:
    ids, contents = [], {}
    for name in ("One", "Two"):
        room = await server.room(name=name)
        await in_meeting(server, room, made, name=name)
        rec_id, recorder = await active(server, launcher, room)
        data = recorder.write_file(name.encode() * 5000)
        await server.http.post(f"/api/v1/recordings/{rec_id}/stop")
        recorder.finish()
        await recordings(server).wait_for(rec_id, RecordingStatus.COMPLETE)
        ids.append(rec_id)
        contents[rec_id] = data
    one = await server.http.get(f"/api/v1/recordings/{ids[0]}/download")
    assert one.status_code == 200 and one.content == contents[ids[0]]
    assert (
        "attachment" in one.headers["content-disposition"]
        and ids[0] in one.headers["content-disposition"]
    )

    archive = await server.http.get("/api/v1/recordings/download", params={"ids": ",".join(ids)})
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zf:
        names = zf.namelist()
        assert len(names) == 2
        assert {zf.read(n) for n in names} == set(contents.values())

    path = recordings(server).settings.directory / f"{ids[0]}.mp4"
    assert path.exists()
    assert (await server.http.delete(f"/api/v1/recordings/{ids[0]}")).status_code == 204
    assert not path.exists()
    bulk = await server.http.delete("/api/v1/recordings", params={"ids": f"{ids[1]},nope"})
    assert bulk.json()["deleted"] == [ids[1]]
    assert [(f["id"], f["status"]) for f in bulk.json()["failed"]] == [("nope", 404)]
    assert (await server.http.get("/api/v1/recordings")).json()["items"] == []


async def test_room_delete_policies_for_recordings(
    server: Server, launcher: ScriptedLauncher, made: list[MeetboxClient]
) -> None:
    room = await server.room(name="Policy")
    client = await in_meeting(server, room, made)
    rec_id, recorder = await active(server, launcher, room)
    await server.http.post(f"/api/v1/recordings/{rec_id}/stop")
    recorder.finish()
    await recordings(server).wait_for(rec_id, RecordingStatus.COMPLETE)
    await client.send(type="leave")
    refused = await server.http.delete(f"/api/v1/rooms/{room.id}", params={"with_meeting": "force"})
    assert refused.status_code == 409 and "with_recordings" in refused.json()["detail"]
    kept = await server.http.delete(
        f"/api/v1/rooms/{room.id}", params={"with_meeting": "force", "with_recordings": "keep"}
    )
    assert kept.status_code in (200, 204)
    still = (await server.http.get(f"/api/v1/recordings/{rec_id}")).json()
    assert still["room_name"] == "Policy" and still["status"] == "complete"

    room2 = await server.room(name="Policy2")
    await in_meeting(server, room2, made, name="Bo")
    rec2, recorder2 = await active(server, launcher, room2)
    await server.http.post(f"/api/v1/recordings/{rec2}/stop")
    recorder2.finish()
    await recordings(server).wait_for(rec2, RecordingStatus.COMPLETE)
    forced = await server.http.delete(
        f"/api/v1/rooms/{room2.id}", params={"with_meeting": "force", "with_recordings": "force"}
    )
    assert forced.status_code in (200, 204)
    assert (await server.http.get(f"/api/v1/recordings/{rec2}")).status_code == 404
    assert not recorder2.output.exists()


async def test_auto_start_records_from_the_first_join(
    server: Server, launcher: ScriptedLauncher, made: list[MeetboxClient]
) -> None:
    room = await server.room(
        name="Auto", config={"recording": {"auto_start": True, "layout": "speaker"}}
    )
    await in_meeting(server, room, made)
    async with asyncio.timeout(5):
        recorder = await launcher.launched.get()
    assert recorder.args["--layout"] == "speaker"
    recorder.exit(0)


async def test_restart_closes_recordings_left_under_way(
    server: Server, launcher: ScriptedLauncher, made: list[MeetboxClient]
) -> None:
    room = await server.room(name="Restart")
    await in_meeting(server, room, made)
    finished_id, finished = await active(server, launcher, room)
    finished.report(event="progress", duration_s=2.0, size_bytes=10)
    # The process went away with the server; its sidecar says it finished the file.
    finished.write_sidecar({"event": "complete", "duration_s": 4.5, "reason": "meeting_ended"})
    other = await server.room(name="Restart2")
    await in_meeting(server, other, made, name="Bo")
    lost_id, lost = await active(server, launcher, other)
    # A new process on the same store: what it finds.
    fresh = a_new_process(server)
    assert await fresh.recover() == 2
    done = await fresh.get(finished_id)
    assert (done.status, done.end_reason, done.duration_s) == (
        RecordingStatus.COMPLETE,
        "meeting_ended",
        4.5,
    )
    failed = await fresh.get(lost_id)
    assert failed.status is RecordingStatus.FAILED
    assert failed.error == (
        "the server stopped during the recording; the file plays up to its last complete fragment"
    )
    assert failed.size_bytes == lost.output.stat().st_size
    finished.exit(0)
    lost.exit(0)


async def test_restart_closes_every_recording_left_under_way_not_just_a_first_page(
    server: Server,
) -> None:
    room = await server.room(name="Many")
    now = server.services.clock.now()
    for i in range(1001):  # past the 1000 the first version looked at, and past a page
        await server.services.store.save_recording(
            RecordingRecord(
                id=f"rec_many{i:04d}",
                room_id=room.id,
                room_name=room.name,
                meeting_id="mtg_gone",
                status=RecordingStatus.ACTIVE,
                layout="grid",
                width=1280,
                height=720,
                created_at=now,
                filename=f"rec_many{i:04d}.mp4",
            )
        )
    assert await recordings(server).recover() == 1001
    left = await server.services.store.list_recordings(
        None, [RecordingStatus.STARTING, RecordingStatus.ACTIVE, RecordingStatus.ENDING], 10, None
    )
    assert left.items == []


async def test_another_rooms_moderator_link_cannot_tell_a_recording_exists(
    server: Server, launcher: ScriptedLauncher, made: list[MeetboxClient]
) -> None:
    room = await server.room(name="Mine")
    await in_meeting(server, room, made)
    rec_id, recorder = await active(server, launcher, room)
    other = await server.room(name="Theirs")
    foreign = {"X-Meetbox-Link": secret(other, "moderator"), "X-API-Key": ""}
    stop = await server.http.post(f"/api/v1/recordings/{rec_id}/stop", headers=foreign)
    # The same answer as for a recording that does not exist at all.
    missing = await server.http.post("/api/v1/recordings/rec_nope/stop", headers=foreign)
    assert (stop.status_code, missing.status_code) == (404, 404)
    assert not recorder.stop_requested.is_set()
    assert (await recordings(server).get(rec_id)).status is RecordingStatus.ACTIVE


async def test_the_list_pages_newest_first_with_a_cursor(server: Server) -> None:
    room = await server.room(name="Pages")
    store, clock = server.services.store, server.services.clock
    made_ids = []
    for n in range(5):  # one a minute, oldest first
        rec_id = f"rec_page{n}"
        await store.save_recording(
            RecordingRecord(
                id=rec_id,
                room_id=room.id,
                room_name=room.name,
                meeting_id="mtg_x",
                status=RecordingStatus.COMPLETE,
                layout="grid",
                width=1280,
                height=720,
                created_at=clock.now(),
                filename=f"{rec_id}.mp4",
            )
        )
        made_ids.append(rec_id)
        clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]

    pages, cursor = [], None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        body = (await server.http.get("/api/v1/recordings", params=params)).json()
        pages.append([r["id"] for r in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    newest_first = made_ids[::-1]
    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:5]]
    bad = await server.http.get("/api/v1/recordings", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400 and bad.json()["type"].endswith("invalid-cursor")


async def test_the_recorder_process_gets_none_of_the_servers_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MEETBOX_INITIAL_API_KEY", "MEETBOX_TURN_SECRET", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "s3cret-" + name)
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    # A signaling URL that accepts and never answers: the recorder waits there to join.
    silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    args = ["--ws-url", f"ws://127.0.0.1:{port}/ws", "--output", str(tmp_path / "r.mp4")]
    process = await SubprocessLauncher().launch(args, "the-recorder-token")
    try:
        pid = process._process.pid  # type: ignore[attr-defined]
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")  # noqa: ASYNC240
        env = dict(e.decode().split("=", 1) for e in environ if e)
    finally:
        process.kill()
        await process.wait()
        silent.close()
    assert env["MEETBOX_RECORDER_TOKEN"] == "the-recorder-token"
    assert env["PATH"] and env["LC_ALL"] == "C.UTF-8"
    assert not [name for name, value in env.items() if value.startswith("s3cret-")]


async def test_a_stop_before_the_first_frame_aborts_and_keeps_no_file(
    server: Server, launcher: ScriptedLauncher, made: list[MeetboxClient]
) -> None:
    room = await server.room(name="Early")
    await in_meeting(server, room, made)
    rec_id = (await start(server, room))["id"]
    async with asyncio.timeout(5):
        recorder = await launcher.launched.get()
    recorder.write_file(b"\x00\x00\x00\x18ftypmp42")  # opened, nothing in it yet
    assert (await server.http.post(f"/api/v1/recordings/{rec_id}/stop")).status_code == 202
    async with asyncio.timeout(5):
        await recorder.stop_requested.wait()
    recorder.finish(duration=0.0)  # the recorder calls a file with no frame finished
    async with asyncio.timeout(5):
        rec = await recordings(server).wait_for(
            rec_id, RecordingStatus.ABORTED, RecordingStatus.COMPLETE
        )
    body = (await server.http.get(f"/api/v1/recordings/{rec_id}")).json()
    assert (body["status"], body["started_at"], body["error"]) == (
        "aborted",
        None,
        "stopped before anything was recorded",
    )
    assert rec.ended_at is not None and not recorder.output.exists()
    media = await server.http.get(f"/api/v1/recordings/{rec_id}/media")
    assert media.status_code == 404

    # The same after a restart, from the sidecar of a recorder that never got a frame.
    late_id = (await start(server, room))["id"]
    late = await launcher.launched.get()
    late.write_file(b"\x00\x00\x00\x18ftypmp42")
    late.write_sidecar({"event": "complete", "duration_s": 0.0, "reason": "stopped"})
    fresh = a_new_process(server)
    await fresh.recover()
    assert (await fresh.get(late_id)).status is RecordingStatus.ABORTED
    assert not late.output.exists()
    late.exit(0)


async def test_a_recorder_finishing_a_long_file_is_not_killed_while_it_makes_progress(
    server: Server, launcher: ScriptedLauncher, made: list[MeetboxClient]
) -> None:
    service, clock = recordings(server), server.services.clock
    past_deadline = timedelta(seconds=service.settings.stop_timeout + 1)
    room = await server.room(name="Long")
    await in_meeting(server, room, made)
    rec_id, recorder = await active(server, launcher, room)
    await server.http.post(f"/api/v1/recordings/{rec_id}/stop")
    async with asyncio.timeout(5):
        await recorder.stop_requested.wait()
    # The faststart rewrite of a multi-hour file: several stop timeouts, its copy growing.
    tmp = recorder.output.with_name(recorder.output.name + ".faststart.tmp")
    for _ in range(3):
        with tmp.open("ab") as f:
            f.write(b"\0" * 4096)
        clock.advance(past_deadline)  # type: ignore[attr-defined]
        service.check_stop_deadlines()
    assert not recorder.killed
    tmp.replace(recorder.output)
    recorder.finish()
    async with asyncio.timeout(5):
        await service.wait_for(rec_id, RecordingStatus.COMPLETE)

    # One whose files stopped growing is stuck: killed, failed, and its half copy removed.
    rec_id, stuck = await active(server, launcher, room)
    await server.http.post(f"/api/v1/recordings/{rec_id}/stop")
    async with asyncio.timeout(5):
        await stuck.stop_requested.wait()
    stuck_tmp = stuck.output.with_name(stuck.output.name + ".faststart.tmp")
    stuck_tmp.write_bytes(b"\0" * 4096)
    clock.advance(past_deadline)  # type: ignore[attr-defined]
    service.check_stop_deadlines()
    assert not stuck.killed  # it had written since the stop
    clock.advance(past_deadline)  # type: ignore[attr-defined]
    service.check_stop_deadlines()
    assert stuck.killed
    async with asyncio.timeout(5):
        rec = await service.wait_for(rec_id, RecordingStatus.FAILED)
    assert "killed by SIGKILL" in (rec.error or "")
    assert stuck.output.exists() and not stuck_tmp.exists()


async def test_leftover_temporary_files_go_on_delete_and_restart(
    server: Server, launcher: ScriptedLauncher, made: list[MeetboxClient]
) -> None:
    room = await server.room(name="Leftovers")
    await in_meeting(server, room, made)
    rec_id, recorder = await active(server, launcher, room)
    await server.http.post(f"/api/v1/recordings/{rec_id}/stop")
    recorder.finish()
    await recordings(server).wait_for(rec_id, RecordingStatus.COMPLETE)
    directory = recordings(server).settings.directory
    # What a recorder killed mid-write leaves: its faststart copy, its sidecar being written.
    mine = [directory / f"{rec_id}.mp4.faststart.tmp", directory / f"{rec_id}.mp4.json.tmp"]
    orphans = [directory / "rec_gone.mp4.faststart.tmp", directory / "rec_gone.mp4.json.tmp"]
    for path in mine + orphans:
        path.write_bytes(b"\0" * 100)
    assert (await server.http.delete(f"/api/v1/recordings/{rec_id}")).status_code == 204
    assert not any(path.exists() for path in mine)
    fresh = a_new_process(server)
    await fresh.recover()
    assert not any(path.exists() for path in orphans)
    assert sorted(p.name for p in directory.iterdir()) == []
