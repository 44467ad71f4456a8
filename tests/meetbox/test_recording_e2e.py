"""Recording end to end: the REST API starts the real ``python -m recorder`` process on a
meeting of real aiortc participants; the finished file is fetched over HTTP and checked
with PyAV (where each participant's colour is, their tones, duration). And the recorder
killed mid-recording: the recording fails with the reason and its file still plays."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest

from recorder.layout import Layout, Person, compute_layout
from sfu.synthetic import ColorTrack, ToneTrack
from signaling.client import MeetboxClient
from signaling.models import RecordingStatus, RoomRecord

from ..conftest import API_KEY, Server
from .conftest import start_server

pytestmark = pytest.mark.timeout(90)

PEOPLE = {
    "Red": ((230, 20, 20), 440.0),
    "Green": ((20, 210, 40), 660.0),
    "Blue": ((20, 40, 230), 880.0),
}


@contextlib.asynccontextmanager
async def meeting(server: Server, room: RoomRecord) -> AsyncIterator[dict[str, MeetboxClient]]:
    made: dict[str, MeetboxClient] = {}
    try:
        for name, (colour, tone) in PEOPLE.items():
            client = MeetboxClient(server.ws_url, await server.token(room, "moderator", name))
            made[name] = client
            await client.connect()
            await client.publish({"camera": ColorTrack(colour), "microphone": ToneTrack(tone)})
        yield made
    finally:
        for client in made.values():
            await client.close()


async def start(server: Server, room: RoomRecord, **body: Any) -> str:
    response = await server.http.post(f"/api/v1/rooms/{room.id}/recordings", json=body)
    assert response.status_code == 201, response.text
    recording_id: str = response.json()["id"]
    return recording_id


async def wait(server: Server, recording_id: str, *statuses: RecordingStatus) -> Any:
    async with asyncio.timeout(40):
        return await server.services.recordings.wait_for(recording_id, *statuses)


async def fetch(server: Server, recording_id: str, into: Path) -> bytes:
    response = await server.http.get(f"/api/v1/recordings/{recording_id}/media")
    assert response.status_code == 200
    await asyncio.to_thread(into.write_bytes, response.content)
    return response.content


def rgb_at(frame: av.VideoFrame, x: int, y: int, radius: int = 6) -> tuple[int, ...]:
    rgb = frame.to_ndarray(format="rgb24")
    patch = rgb[y - radius : y + radius, x - radius : x + radius].reshape(-1, 3)
    return tuple(int(c) for c in patch.mean(axis=0))


def last_frame(path: Path) -> av.VideoFrame:
    frame = None
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):  # noqa: B007
            pass
    assert frame is not None
    return frame


def tone_strength(path: Path, freq: float) -> float:
    """Energy at ``freq`` against the average of the spectrum around it."""
    with av.open(str(path)) as container:
        samples = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)))) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / 48000)
    at = spectrum[np.abs(freqs - freq) < 5].sum()
    around = spectrum[(np.abs(freqs - freq) > 40) & (np.abs(freqs - freq) < 400)].mean()
    return float(at / (around * 10 + 1e-9))


async def test_a_recording_started_by_the_api_shows_everyone_where_the_grid_puts_them(
    server: Server, tmp_path: Path
) -> None:
    room = await server.room(name="Recorded")
    async with meeting(server, room) as people:
        recording_id = await start(server, room, preset="480p")
        await wait(server, recording_id, RecordingStatus.ACTIVE)
        began = time.monotonic()
        # Let it record a few seconds of everyone (and for the relayed media to settle).
        await asyncio.sleep(4)
        stopped = await server.http.post(f"/api/v1/recordings/{recording_id}/stop")
        assert stopped.status_code == 202
        wall = time.monotonic() - began
        rec = await wait(server, recording_id, RecordingStatus.COMPLETE, RecordingStatus.FAILED)
        assert rec.status is RecordingStatus.COMPLETE, rec.error
        ids = {name: client.joined["you"]["id"] for name, client in people.items()}
    assert rec.end_reason == "stopped" and (rec.width, rec.height) == (854, 480)

    path = tmp_path / "recording.mp4"
    data = await fetch(server, recording_id, path)
    assert rec.size_bytes == len(data)
    # Seekable for the player: a Range request gets exactly those bytes.
    part = await server.http.get(
        f"/api/v1/recordings/{recording_id}/media", headers={"Range": "bytes=1000-1999"}
    )
    assert part.status_code == 206 and part.content == data[1000:2000]

    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0]
        assert video.codec_context.name == "h264" and audio.codec_context.name == "aac"
        assert (video.width, video.height) == (854, 480)
        # 30 fps (frames on the 1/30 s grid; a loaded machine may skip slots to keep time).
        assert video.guessed_rate == 30
        assert video.average_rate is not None and 22 < float(video.average_rate) <= 30.5
        assert container.duration is not None
        duration = container.duration / 1_000_000
    assert abs(duration - wall) < 1.0, (duration, wall)

    # Each participant's colour where the grid layout puts them (join order).
    tiles = compute_layout([Person(ids[n]) for n in PEOPLE], None, Layout.GRID, 854, 480)
    frame = last_frame(path)
    for tile in tiles:
        name = next(n for n, pid in ids.items() if pid == tile.participant_id)
        x, y = tile.rect.centre
        got = rgb_at(frame, x, y)
        assert all(abs(a - b) < 50 for a, b in zip(got, PEOPLE[name][0], strict=True)), (
            name,
            got,
        )
    for name, (_, tone) in PEOPLE.items():
        assert tone_strength(path, tone) > 1, name


async def test_the_speaker_layout_shows_the_one_speaking_large(
    server: Server, tmp_path: Path
) -> None:
    room = await server.room(name="Speaker")
    made: dict[str, MeetboxClient] = {}
    try:
        for name, (colour, _) in PEOPLE.items():
            client = MeetboxClient(server.ws_url, await server.token(room, "moderator", name))
            made[name] = client
            await client.connect()
            await client.publish({"camera": ColorTrack(colour)})
        ids = {name: client.joined["you"]["id"] for name, client in made.items()}
        recording_id = await start(server, room, preset="480p", layout="speaker")
        await wait(server, recording_id, RecordingStatus.ACTIVE)
        # Green, who joined second, starts speaking once the recorder is in (``joined``
        # does not say who is speaking: a recorder joining mid-speech would not know).
        await made["Green"].publish({"microphone": ToneTrack(PEOPLE["Green"][1])})
        async with asyncio.timeout(15):
            await made["Red"].wait_for(
                lambda c: any(
                    m["type"] == "active_speaker" and m.get("participant_id") == ids["Green"]
                    for m in c.messages
                )
            )
        await asyncio.sleep(2)  # recording the new layout, once the tiles have glided there
        await server.http.post(f"/api/v1/recordings/{recording_id}/stop")
        rec = await wait(server, recording_id, RecordingStatus.COMPLETE, RecordingStatus.FAILED)
        assert rec.status is RecordingStatus.COMPLETE, rec.error
    finally:
        for client in made.values():
            await client.close()

    path = tmp_path / "speaker.mp4"
    await fetch(server, recording_id, path)
    people = [Person(ids[n]) for n in PEOPLE]
    tiles = compute_layout(people, ids["Green"], Layout.SPEAKER, 854, 480)
    largest = max(tiles, key=lambda t: t.rect.w * t.rect.h)
    assert largest.participant_id == ids["Green"]  # Green, though Red joined first
    frame = last_frame(path)
    for tile in tiles:
        name = next(n for n, pid in ids.items() if pid == tile.participant_id)
        got = rgb_at(frame, *tile.rect.centre)
        assert all(abs(a - b) < 50 for a, b in zip(got, PEOPLE[name][0], strict=True)), (
            name,
            got,
        )


def recorder_pid(recording_id: str) -> int:
    """The recorder process working on ``recording_id`` (its output path names it)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            if b"recorder" in cmdline and any(recording_id.encode() in a for a in cmdline):
                return int(entry.name)
    raise AssertionError(f"no recorder process for {recording_id}")


async def test_a_killed_recorder_fails_its_recording_and_the_file_still_plays(
    server: Server, tmp_path: Path
) -> None:
    room = await server.room(name="Killed")
    async with meeting(server, room) as people:
        recording_id = await start(server, room, preset="480p")
        await wait(server, recording_id, RecordingStatus.ACTIVE)
        await asyncio.sleep(3)  # a few fragments' worth
        os.kill(recorder_pid(recording_id), signal.SIGKILL)
        rec = await wait(server, recording_id, RecordingStatus.FAILED)
        assert "killed by SIGKILL" in (rec.error or "")
        # The meeting goes on, and can be recorded again.
        assert server.services.meetings.live(room.id) is not None
        assert all(c.closed_with is None for c in people.values())
        again = await start(server, room, preset="480p")
        await wait(server, again, RecordingStatus.ACTIVE)
        await server.http.post(f"/api/v1/recordings/{again}/stop")
        await wait(server, again, RecordingStatus.COMPLETE)
    path = tmp_path / "killed.mp4"
    await fetch(server, recording_id, path)
    with av.open(str(path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames >= 30  # at least the first second's fragment


async def test_the_recording_completes_when_the_meeting_ends(server: Server) -> None:
    room = await server.room(name="Ends")
    async with meeting(server, room):
        recording_id = await start(server, room, preset="480p", layout="speaker")
        await wait(server, recording_id, RecordingStatus.ACTIVE)
        ended = await server.http.delete(f"/api/v1/rooms/{room.id}/meeting")
        assert ended.status_code == 204
        rec = await wait(server, recording_id, RecordingStatus.COMPLETE, RecordingStatus.FAILED)
    assert (rec.status, rec.end_reason, rec.layout) == (
        RecordingStatus.COMPLETE,
        "meeting_ended",
        "speaker",
    )
    assert rec.duration_s is not None and rec.duration_s > 0


async def poll_status(http: Any, recording_id: str, *wanted: str) -> dict[str, Any]:
    """The recording once its status is one of ``wanted`` (another process: polled)."""
    for _ in range(300):
        body: dict[str, Any] = (await http.get(f"/api/v1/recordings/{recording_id}")).json()
        if body["status"] in wanted:
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"{recording_id} never became {wanted}")


async def process_gone(pid: int) -> None:
    for _ in range(300):
        if not os.path.exists(f"/proc/{pid}"):  # noqa: ASYNC240 (a stat of procfs)
            return
        await asyncio.sleep(0.1)  # not our child: nothing to await
    raise AssertionError(f"process {pid} is still running")


async def red_recorded(http: httpx.AsyncClient, name: str) -> tuple[MeetboxClient, str]:
    """A room ``name`` where Red (a moderator) publishes a camera and a recording has been
    active for a few fragments' worth; returns Red's client and the recording's id."""
    room = (await http.post("/api/v1/rooms", json={"name": name})).json()
    joined = (
        await http.post(
            "/api/v1/join",
            json={"secret": room["links"]["moderator"]["secret"], "nickname": "Red"},
        )
    ).json()
    client = MeetboxClient(joined["ws_url"], joined["token"])
    await client.connect()
    await client.publish({"camera": ColorTrack(PEOPLE["Red"][0])})
    started = await http.post(f"/api/v1/rooms/{room['id']}/recordings", json={"preset": "480p"})
    recording_id: str = started.json()["id"]
    await poll_status(http, recording_id, "active")
    await asyncio.sleep(2)  # a few fragments' worth: nothing to await on
    return client, recording_id


async def test_a_recording_survives_the_server_being_killed(tmp_path: Path) -> None:
    """RELIABILITY 20: the server SIGKILLed mid-recording. Its recorder finishes the file on
    its own; the restarted server finds it finished and lists it complete and playable."""
    data = tmp_path / "data"
    env = {"MEETBOX_INITIAL_API_KEY": API_KEY}
    first = await asyncio.to_thread(start_server, data, env=env)
    client = None
    try:
        async with httpx.AsyncClient(base_url=first.url, headers={"X-API-Key": API_KEY}) as http:
            client, recording_id = await red_recorded(http, "Crash")
            pid = recorder_pid(recording_id)
            first.process.kill()
            await asyncio.to_thread(first.process.wait)
            await process_gone(pid)
    finally:
        if client is not None:
            await client.close()
        await asyncio.to_thread(first.stop)

    second = await asyncio.to_thread(start_server, data, env=env)
    try:
        async with httpx.AsyncClient(base_url=second.url, headers={"X-API-Key": API_KEY}) as http:
            body = (await http.get(f"/api/v1/recordings/{recording_id}")).json()
            assert body["status"] == "complete", body
            media = await http.get(f"/api/v1/recordings/{recording_id}/media")
            assert media.status_code == 200
        path = tmp_path / "after-crash.mp4"
        await asyncio.to_thread(path.write_bytes, media.content)
        with av.open(str(path)) as container:
            assert sum(1 for _ in container.decode(video=0)) >= 30
    finally:
        await asyncio.to_thread(second.stop)


async def test_a_recorder_still_finishing_after_a_restart_is_followed_to_its_end(
    tmp_path: Path,
) -> None:
    """RELIABILITY 20, the slow finish: the server is killed while its recorder cannot make
    progress (SIGSTOP stands in for a long faststart rewrite); the next server starts while
    the recorder still runs. It must not call the recording failed: it stays ``ending``
    until the recorder exits, then ends as the sidecar says, with one ``recording.ended``."""
    data = tmp_path / "data"
    env = {"MEETBOX_INITIAL_API_KEY": API_KEY}
    first = await asyncio.to_thread(start_server, data, env=env)
    client = None
    pid = None
    try:
        async with httpx.AsyncClient(base_url=first.url, headers={"X-API-Key": API_KEY}) as http:
            hook = await http.post(
                "/api/v1/webhooks",
                json={"url": "http://127.0.0.1:9/hooks", "events": ["recording.ended"]},
            )
            assert hook.status_code == 201, hook.text
            client, recording_id = await red_recorded(http, "Slow")
            pid = recorder_pid(recording_id)
            os.kill(pid, signal.SIGSTOP)
            first.process.kill()
            await asyncio.to_thread(first.process.wait)
    finally:
        if client is not None:
            await client.close()
        if pid is None:
            await asyncio.to_thread(first.stop)

    second = None
    try:
        second = await asyncio.to_thread(start_server, data, env=env)
        async with httpx.AsyncClient(base_url=second.url, headers={"X-API-Key": API_KEY}) as http:
            body = (await http.get(f"/api/v1/recordings/{recording_id}")).json()
            assert body["status"] == "ending", body
            os.kill(pid, signal.SIGCONT)  # it finishes the file, as it would have by itself
            body = await poll_status(http, recording_id, "complete", "failed")
            assert body["status"] == "complete", body
            assert body["duration_s"] > 1
            deliveries = (await http.get(f"/api/v1/webhooks/{hook.json()['id']}/deliveries")).json()
            assert [d["event_type"] for d in deliveries["items"]] == ["recording.ended"]
            media = await http.get(f"/api/v1/recordings/{recording_id}/media")
            assert media.status_code == 200
        path = tmp_path / "after-restart.mp4"
        await asyncio.to_thread(path.write_bytes, media.content)
        with av.open(str(path)) as container:
            assert sum(1 for _ in container.decode(video=0)) >= 30
    finally:
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
            try:
                await process_gone(pid)
            except AssertionError:
                os.kill(pid, signal.SIGKILL)
        if second is not None:
            await asyncio.to_thread(second.stop)
        # The recorder holds the first server's stderr: its pipes close once it is gone.
        await asyncio.to_thread(first.stop)
    assert "outlived the server" in "".join(second.stderr)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 96 KiB tmpfs: a disk that fills within seconds of recording (root only)."""
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs as root, which this test needs to mount a tmpfs")
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(disk)], check=True)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


async def test_a_full_disk_fails_the_recording_and_the_meeting_goes_on(
    server: Server, small_disk: Path, tmp_path: Path
) -> None:
    """RELIABILITY 21, on a real full filesystem (ENOSPC from the kernel)."""
    service = server.services.recordings
    service.settings = dataclasses.replace(service.settings, directory=small_disk, min_free_bytes=0)
    room = await server.room(name="Full disk")
    async with meeting(server, room) as people:
        recording_id = await start(server, room, preset="480p")
        rec = await wait(server, recording_id, RecordingStatus.FAILED, RecordingStatus.COMPLETE)
        assert rec.status is RecordingStatus.FAILED
        assert (rec.error or "").startswith("disk full"), rec.error
        # Nobody in the meeting noticed anything but the recording's end.
        assert server.services.meetings.live(room.id) is not None
        assert all(c.closed_with is None for c in people.values())
        red = people["Red"]
        async with asyncio.timeout(10):
            await red.wait_for(
                lambda c: any(
                    m.get("status") == "failed" for m in c.messages if m["type"] == "recording"
                )
            )
    # What fit on the disk plays.
    path = tmp_path / "partial.mp4"
    await fetch(server, recording_id, path)
    with av.open(str(path)) as container:
        assert sum(1 for _ in container.decode(video=0)) > 0
