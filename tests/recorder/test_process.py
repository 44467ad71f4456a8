"""``python -m recorder`` end to end: a real server on loopback, synthetic participants
publishing colours and tones, the recorder joining over WebRTC and writing an MP4, driven
over stdin/stdout exactly as the server drives it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import av
import pytest

from recorder.layout import Layout, Person, compute_layout
from signaling.wire import ByeReason
from tests.conftest import Server

from .helpers import (
    PEOPLE,
    band_energy,
    close_to,
    decode_audio,
    participants,
    recorder,
    rgb_at,
)


async def test_records_three_people_in_a_grid_with_their_tones(
    server: Server, tmp_path: Path
) -> None:
    room = await server.room(name="Recorded")
    output = tmp_path / "rec.mp4"
    async with participants(server, room) as people:
        ids = [c.joined["you"]["id"] for c in people.values()]
        async with recorder(server, room, output, "--layout", "grid") as rec:
            active = await rec.wait_event("active")
            active_at = time.monotonic()
            assert active["started_at"].endswith("Z")
            await asyncio.sleep(4.5)  # let 4.5 s of wall time be recorded
            await rec.send("stop")
            stopped_at = time.monotonic()
            assert (await rec.wait_event("ending"))["event"] == "ending"
            complete = await rec.wait_event("complete")
            assert await rec.wait() == 0
    wall = stopped_at - active_at
    assert complete["reason"] == "stopped"
    assert complete["size_bytes"] == output.stat().st_size
    assert abs(complete["duration_s"] - wall) < 1.0
    assert json.loads((tmp_path / "rec.mp4.json").read_text()) == complete

    with av.open(str(output)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0]
        assert video.codec_context.name == "h264" and audio.codec_context.name == "aac"
        assert (video.width, video.height) == (1280, 720)
        assert audio.sample_rate == 48000 and audio.channels == 2
        # 30 fps: every frame sits on the 1/30 s grid. The average is 30 unless the machine
        # is so loaded that the recorder skipped slots (it keeps to wall time instead).
        assert video.guessed_rate == 30
        assert video.average_rate is not None and 22 < float(video.average_rate) <= 30.5
        assert container.duration is not None
        assert abs(container.duration / 1e6 - wall) < 1.0
        frames = list(container.decode(video=0))
    # Not fragmented any more: faststart puts the index (moov) before the media (mdat).
    head = output.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and head.find(b"moof") == -1

    last = frames[-5]
    tiles = compute_layout([Person(pid) for pid in ids], None, Layout.GRID, 1280, 720)
    for (_, (colour, _)), tile in zip(PEOPLE.items(), tiles, strict=True):
        seen = rgb_at(last, *tile.rect.centre)
        assert close_to(seen, colour), f"{tile} shows {seen}, expected {colour}"

    samples = decode_audio(output)[-48000 * 2 :]  # the last 2 s
    assert len(samples) == 48000 * 2
    for _, tone in PEOPLE.values():
        peak = band_energy(samples, 48000, tone, 20)
        for off in (-100, 100):
            assert peak > 20 * band_energy(samples, 48000, tone + off, 20), tone
    assert float(abs(samples).max()) < 1.0


async def test_a_killed_recorder_leaves_a_playable_file(server: Server, tmp_path: Path) -> None:
    room = await server.room()
    output = tmp_path / "killed.mp4"
    async with (
        participants(server, room, ["Red"]),
        recorder(server, room, output, "--width", "640", "--height", "360") as rec,
    ):
        await rec.wait_event("active")
        active_at = time.monotonic()
        await asyncio.sleep(3.5)  # let a few fragments (one a second) reach the file
        rec.proc.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        assert await rec.wait() == -signal.SIGKILL
    assert not (tmp_path / "killed.mp4.json").exists()
    with av.open(str(output)) as container:
        frames = list(container.decode(video=0))
    assert frames
    last = frames[-1]
    assert last.time is not None
    # At most about the last second (the fragment in progress) is lost.
    assert last.time > (killed_at - active_at) - 1.6
    assert (last.width, last.height) == (640, 360)


async def test_disk_full_fails_and_keeps_the_complete_fragments(
    server: Server, tmp_path: Path
) -> None:
    room = await server.room()
    output = tmp_path / "full.mp4"
    quota = 60_000
    async with (
        participants(server, room, ["Red", "Green"]),
        recorder(
            server, room, output, "--width", "640", "--height", "360", "--quota-bytes", str(quota)
        ) as rec,
    ):
        await rec.wait_event("active")
        await rec.wait_event("ending", within=30)
        failed = await rec.next_event()
        assert await rec.wait() == 1
    assert failed["event"] == "failed"
    assert failed["error"].startswith("disk full")
    size = output.stat().st_size
    assert 0 < size <= quota and failed["size_bytes"] == size
    assert failed["duration_s"] >= 1.0  # what the kept fragments hold
    assert json.loads((tmp_path / "full.mp4.json").read_text()) == failed
    with av.open(str(output)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) >= 30
    assert frames[-1].time is not None
    assert abs(frames[-1].time + 1 / 30 - failed["duration_s"]) < 0.1


async def test_the_meeting_ending_completes_the_recording(server: Server, tmp_path: Path) -> None:
    room = await server.room()
    output = tmp_path / "ended.mp4"
    async with (
        participants(server, room, ["Blue"]),
        recorder(server, room, output, "--width", "640", "--height", "360") as rec,
    ):
        await rec.wait_event("active")
        await asyncio.sleep(1.5)  # some media
        assert await server.services.meetings.end(room.id, ByeReason.ENDED_BY_API)
        await rec.wait_event("ending")
        complete = await rec.wait_event("complete")
        assert await rec.wait() == 0
    assert complete["reason"] == "meeting_ended"
    assert complete["duration_s"] > 1.0
    with av.open(str(output)) as container:
        assert container.duration is not None and container.duration / 1e6 > 1.0


async def test_max_seconds_stops_by_itself(server: Server, tmp_path: Path) -> None:
    room = await server.room()
    output = tmp_path / "short.mp4"
    async with recorder(
        server, room, output, "--width", "640", "--height", "360", "--max-seconds", "2"
    ) as rec:
        await rec.wait_event("active")
        complete = await rec.wait_event("complete")
        assert await rec.wait() == 0
    assert complete["reason"] == "max_duration"
    assert abs(complete["duration_s"] - 2.0) < 0.1
    with av.open(str(output)) as container:
        assert container.duration is not None
        assert abs(container.duration / 1e6 - 2.0) < 0.2


async def test_eof_on_stdin_finalizes_and_the_token_may_come_from_the_environment(
    server: Server, tmp_path: Path
) -> None:
    room = await server.room()
    output = tmp_path / "eof.mp4"
    args = ("--width", "640", "--height", "360")
    async with recorder(server, room, output, *args, token_in_env=True) as rec:
        await rec.wait_event("active")
        assert rec.proc.stdin is not None
        rec.proc.stdin.close()  # the server went away
        complete = await rec.wait_event("complete")
        assert await rec.wait() == 0
    assert complete["reason"] == "stopped"


async def test_a_bad_token_fails_to_join_without_leaking_it(
    server: Server, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    room = await server.room()
    output = tmp_path / "never.mp4"
    secret = "not-a-token-" + os.urandom(8).hex()
    async with recorder(server, room, output, token=secret) as rec:
        failed = await rec.next_event()
        assert await rec.wait() == 1
    assert failed["event"] == "failed" and failed["error"].startswith("could not join")
    assert json.loads((tmp_path / "never.mp4.json").read_text()) == failed
    assert not output.exists()
    assert secret not in capfd.readouterr().err
