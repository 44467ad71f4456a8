"""A recorder that outlived its server (RELIABILITY 20), with a real process standing in for
it (its command line names the recording's file, as ``python -m recorder --output`` does):
the next server follows it to its end, kills it only when it is stuck, and leaves it alone
when it stops in turn. The real recorder is in tests/meetbox/test_recording_e2e.py."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest

from signaling.models import RecordingRecord, RecordingStatus

from ..conftest import Server
from .test_recordings import a_new_process, recordings

pytestmark = pytest.mark.timeout(30)

#: Finishes "its file" when told to on stdin (a line ``complete``) or never.
STAND_IN = """\
import json, sys
output = sys.argv[sys.argv.index("--output") + 1]
if sys.stdin.readline().strip() == "complete":
    with open(output + ".json", "w") as sidecar:
        json.dump({"event": "complete", "duration_s": 42.0, "reason": "stopped"}, sidecar)
"""


async def left_under_way(server: Server) -> RecordingRecord:
    """A recording a previous server left ``active``, with its file."""
    room = await server.room(name="Orphan")
    now = server.services.clock.now()
    rec = RecordingRecord(
        id="rec_orphan1",
        room_id=room.id,
        room_name=room.name,
        meeting_id="mtg_gone",
        status=RecordingStatus.ACTIVE,
        layout="grid",
        width=1280,
        height=720,
        created_at=now,
        filename="rec_orphan1.mp4",
        started_at=now,
    )
    await server.services.store.save_recording(rec)
    path = recordings(server).path(rec)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * 4096)
    path.with_name(path.name + ".faststart.tmp").write_bytes(b"\0" * 1024)
    return rec


@pytest.fixture
def stand_in(server: Server) -> Iterator[subprocess.Popen[str]]:
    output = recordings(server).settings.directory / "rec_orphan1.mp4"
    process = subprocess.Popen(
        [sys.executable, "-c", STAND_IN, "-m", "recorder", "--output", str(output)],
        stdin=subprocess.PIPE,
        text=True,
    )
    yield process
    process.kill()
    process.wait()
    if process.stdin is not None:
        process.stdin.close()


async def test_the_next_server_follows_a_recorder_still_finishing_to_its_end(
    server: Server, stand_in: subprocess.Popen[str]
) -> None:
    rec = await left_under_way(server)
    fresh = a_new_process(server)
    assert await fresh.recover() == 1
    assert (await fresh.get(rec.id)).status is RecordingStatus.ENDING
    assert fresh.running == 1
    # Its faststart copy in the making is not a leftover: it is still being written.
    assert fresh.path(rec).with_name("rec_orphan1.mp4.faststart.tmp").exists()

    assert stand_in.stdin is not None
    stand_in.stdin.write("complete\n")
    stand_in.stdin.close()
    async with asyncio.timeout(10):
        done = await fresh.wait_for(rec.id, RecordingStatus.COMPLETE, RecordingStatus.FAILED)
    assert (done.status, done.end_reason, done.duration_s) == (
        RecordingStatus.COMPLETE,
        "stopped",
        42.0,
    )
    assert done.size_bytes == 4096
    assert json.loads(fresh.path(rec).with_name("rec_orphan1.mp4.json").read_text())
    await fresh.shutdown()


async def test_a_stuck_orphan_is_killed_and_one_still_going_is_left_to_the_next_start(
    server: Server, stand_in: subprocess.Popen[str]
) -> None:
    rec = await left_under_way(server)
    fresh = a_new_process(server)
    await fresh.recover()
    # This server stops in turn: the recorder is not its to kill.
    await fresh.shutdown(deadline=0.1)
    assert stand_in.poll() is None
    assert (await fresh.get(rec.id)).status is RecordingStatus.ENDING

    # The next one follows it again, and kills it once its files stop growing.
    again = a_new_process(server)
    await again.recover()
    clock = server.services.clock
    clock.advance(timedelta(seconds=again.settings.stop_timeout + 1))  # type: ignore[attr-defined]
    again.check_stop_deadlines()
    async with asyncio.timeout(10):
        failed = await again.wait_for(rec.id, RecordingStatus.FAILED)
    assert "no progress finishing its file" in (failed.error or "")
    assert stand_in.wait(timeout=5) == -9
    await again.shutdown()
