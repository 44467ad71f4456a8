"""RELIABILITY 21 for recordings, on a real full disk (a tmpfs filled until ENOSPC) that holds
the data dir: the database and the recordings. A recording whose end cannot be saved is not
left ``ending`` for ever, and a recorder that cannot write its sidecar reports ``failed``."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from recorder.status import Complete, StatusWriter
from signaling.client import MeetboxClient
from signaling.models import RecordingStatus

from ..conftest import Server, serve_receiver
from ..diskfull import db_on_small_disk, fill, small_disk

__all__ = ["db_on_small_disk", "small_disk"]  # the fixtures disk and db_path
from .test_recordings import ScriptedLauncher, active, in_meeting, recordings

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def launcher(server: Server) -> AsyncIterator[ScriptedLauncher]:
    fake = ScriptedLauncher()
    server.services.recordings.launcher = fake
    yield fake
    for recorder in fake.all:
        recorder.exit(0)


@pytest.fixture
async def made() -> AsyncIterator[list[MeetboxClient]]:
    clients: list[MeetboxClient] = []
    yield clients
    for client in clients:
        await client.close()


async def test_an_end_the_full_disk_refused_is_saved_with_its_webhook_once_there_is_room(
    server: Server, launcher: ScriptedLauncher, made: list[MeetboxClient], disk: Path
) -> None:
    service = recordings(server)
    service.end_retry_interval = 0.05
    service.settings = dataclasses.replace(service.settings, min_free_bytes=0)
    async with serve_receiver() as receiver:
        hook = await server.http.post(
            "/api/v1/webhooks", json={"url": receiver.url, "events": ["recording.ended"]}
        )
        assert hook.status_code == 201, hook.text
        room = await server.room(name="Full")
        await in_meeting(server, room, made)
        rec_id, recorder = await active(server, launcher, room)

        filler = await asyncio.to_thread(fill, disk)
        recorder.report(event="failed", error="disk full: no space left on device")
        recorder.exit(1)
        # Nothing can be saved while the disk is full: it is not ended yet, nor forgotten.
        await asyncio.sleep(0.3)  # several tries at saving it (nothing to await from outside)
        assert (await service.get(rec_id)).status is RecordingStatus.ACTIVE
        assert receiver.requests == []

        await asyncio.to_thread(filler.unlink)
        async with asyncio.timeout(5):
            rec = await service.wait_for(rec_id, RecordingStatus.FAILED)
        assert rec.error == "disk full: no space left on device"
        await receiver.wait_for(1)
        ended = receiver.events()[0]
        assert ended["type"] == "recording.ended" and ended["data"]["status"] == "failed"
        # The meeting went on throughout.
        assert server.services.meetings.live(room.id) is not None


def test_a_recorder_that_cannot_write_its_sidecar_reports_failed(disk: Path) -> None:
    output = disk / "rec_full.mp4"
    output.write_bytes(b"\0" * 1000)
    fill(disk)
    stream = io.StringIO()
    sent = StatusWriter(stream, output).final(Complete(12.5, 1000, "stopped"))
    reported = json.loads(stream.getvalue())
    assert reported == sent.to_dict()
    assert reported["event"] == "failed"
    assert reported["error"].startswith("disk full: could not write rec_full.mp4.json")
    assert (reported["duration_s"], reported["size_bytes"]) == (12.5, 1000)
    assert not (disk / "rec_full.mp4.json").exists()
    assert not (disk / "rec_full.mp4.json.tmp").exists()
