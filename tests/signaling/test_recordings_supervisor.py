"""The recorder supervisor and the processes it follows: stop deadlines on a fake clock,
reports in order to the handler, a recorder's garbled lines skipped, a previous server's
recorder heard through its sidecar, and the files they leave."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from signaling.clock import FakeClock
from signaling.models import RecordingStatus
from signaling.recordings.contract import (
    Active,
    Complete,
    Ending,
    Event,
    Failed,
    Progress,
    RecorderCommand,
)
from signaling.recordings.files import RecordingFiles, download_name, temporaries
from signaling.recordings.orphans import OrphanRecorder
from signaling.recordings.processes import _Subprocess, recorder_environment
from signaling.recordings.supervisor import Run, StopDeadline, Supervisor, Verdict

from .test_recordings_transitions import T0, record

pytestmark = pytest.mark.timeout(30)
MINUTE = timedelta(minutes=1)


def test_a_stop_deadline_extends_while_the_files_grow_then_kills() -> None:
    deadline = StopDeadline()
    assert deadline.check(T0, MINUTE, 0) is Verdict.WAIT  # not stopping
    deadline.start(T0, MINUTE, size=100)
    assert not deadline.due(T0 + MINUTE - timedelta(seconds=1))
    assert deadline.check(T0 + timedelta(seconds=59), MINUTE, 100) is Verdict.WAIT
    assert deadline.check(T0 + MINUTE, MINUTE, 150) is Verdict.EXTENDED
    assert deadline.kill_at == T0 + 2 * MINUTE and deadline.finishing_bytes == 150
    assert deadline.check(T0 + 2 * MINUTE, MINUTE, 150) is Verdict.KILL
    assert deadline.kill_at is None
    assert deadline.check(T0 + 3 * MINUTE, MINUTE, 150) is Verdict.WAIT  # killed once


class FakeProcess:
    def __init__(self, reports: list[Event], code: int = 0) -> None:
        self._reports = reports
        self.code = code
        self.stopped = self.killed = False
        self.exit = asyncio.Event()

    async def reports(self) -> AsyncIterator[Event]:
        for report in self._reports:
            yield report
        await self.exit.wait()

    def stop(self) -> None:
        self.stopped = True

    def kill(self) -> None:
        self.killed = True
        self.code = -9
        self.exit.set()

    async def wait(self) -> int:
        await self.exit.wait()
        return self.code


class Handler:
    def __init__(self) -> None:
        self.seen: list[object] = []

    async def on_report(self, run: Run, report: Event) -> None:
        if isinstance(report, Progress):
            raise RuntimeError("a bug in the handler")  # logged; the next one is read
        self.seen.append(report)
        if isinstance(report, Complete | Failed):
            run.state.finished = True

    async def on_exit(self, run: Run, code: int) -> None:
        self.seen.append(("exit", code))

    async def after_exit(self, run: Run) -> None:
        self.seen.append("after")


def supervisor(tmp_path: Path, clock: FakeClock) -> tuple[Supervisor, Handler]:
    handler = Handler()
    sup = Supervisor(clock, RecordingFiles(tmp_path), lambda: 60.0)
    sup.handler = handler
    return sup, handler


async def test_reports_go_to_the_handler_in_order_and_the_run_is_forgotten_after(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sup, handler = supervisor(tmp_path, FakeClock(T0))
    process = FakeProcess([Active(), Progress(1.0, 1), Ending(), Complete(2.0, 2, "stopped")])
    run = Run("rec_a", "room", "mtg", process, tmp_path / "rec_a.mp4")
    sup.follow(run)
    assert sup.runs == {"rec_a": run}
    process.exit.set()
    async with asyncio.timeout(5):
        await run.done.wait()
    assert handler.seen == [Active(), Ending(), Complete(2.0, 2, "stopped"), "after"]
    assert sup.runs == {} and "report not handled" in caplog.text


async def test_an_exit_without_a_final_report_goes_to_the_handler(tmp_path: Path) -> None:
    sup, handler = supervisor(tmp_path, FakeClock(T0))
    process = FakeProcess([Active()], code=3)
    run = Run("rec_a", "room", "mtg", process, tmp_path / "rec_a.mp4")
    sup.follow(run)
    process.exit.set()
    async with asyncio.timeout(5):
        await run.done.wait()
    assert handler.seen == [Active(), ("exit", 3), "after"]


async def test_a_stopped_recorder_is_killed_once_its_files_stop_growing(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    sup, handler = supervisor(tmp_path, clock)
    output = tmp_path / "rec_a.mp4"
    output.write_bytes(b"\0" * 10)
    process = FakeProcess([])
    run = Run("rec_a", "room", "mtg", process, output)
    sup.follow(run)
    sup.request_stop(run)
    assert process.stopped and run.state.stop_requested
    assert (run.deadline.kill_at, run.deadline.finishing_bytes) == (T0 + MINUTE, 10)
    temporaries(output)[0].write_bytes(b"\0" * 5)  # its faststart copy
    clock.advance(MINUTE)
    sup.check_stop_deadlines()
    assert not process.killed and run.deadline.finishing_bytes == 15
    clock.advance(MINUTE)
    sup.check_stop_deadlines()
    assert process.killed
    async with asyncio.timeout(5):
        await run.done.wait()
    assert handler.seen == [("exit", -9), "after"]
    assert run.killer is not None
    await asyncio.gather(run.killer, return_exceptions=True)


async def test_shutdown_kills_what_does_not_finish_in_time(tmp_path: Path) -> None:
    sup, _ = supervisor(tmp_path, FakeClock(T0))
    process = FakeProcess([])
    run = Run("rec_a", "room", "mtg", process, tmp_path / "rec_a.mp4")
    sup.follow(run)
    sup.request_stop(run)
    await sup.wait_for([run], deadline=0.01)
    assert process.killed and run.done.is_set()


async def test_the_subprocess_skips_what_is_not_a_report(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    script = (
        "import sys\n"
        "w = sys.stdout.write\n"
        "w('garbage\\n')\n"
        'w(\'{"event": "exploded"}\\n\')\n'
        "w('x' * 100000 + '\\n')\n"
        'w(\'{"event": "progress", "duration_s": "soon"}\\n\')\n'
        "w('[1]\\n')\n"
        'w(\'{"event": "ending"}\\n\')\n'
        'w(\'{"event":"complete","duration_s":1.0,"size_bytes":5,"reason":"stopped"}\')\n'
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    recorder = _Subprocess(process)
    reports = [report async for report in recorder.reports()]
    assert reports == [Ending(), Complete(1.0, 5, "stopped")]
    assert await recorder.wait() == 0
    assert "unknown event 'exploded'" in caplog.text and "not JSON" in caplog.text
    assert "overlong report line ignored" in caplog.text


def test_the_recorders_environment_holds_its_token_and_none_of_the_servers_secrets() -> None:
    env = recorder_environment(
        "tok", {"PATH": "/bin", "LC_ALL": "C", "PYTHONPATH": "src", "MEETBOX_TURN_SECRET": "s"}
    )
    assert env == {
        "PATH": "/bin",
        "LC_ALL": "C",
        "PYTHONPATH": "src",
        "MEETBOX_RECORDER_TOKEN": "tok",
    }


async def test_a_previous_servers_recorder_is_heard_through_its_sidecar(tmp_path: Path) -> None:
    gone = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await gone.wait()
    output = tmp_path / "rec_o.mp4"
    heard = [r async for r in OrphanRecorder(gone.pid, output).reports()]
    assert heard == [
        Failed(
            "the server stopped during the recording; the file plays up to its last "
            "complete fragment"
        )
    ]
    (tmp_path / "rec_o.mp4.json").write_text('{"event": "complete", "duration_s": 42.0}')
    heard = [r async for r in OrphanRecorder(gone.pid, output).reports()]
    assert heard == [Complete(42.0)]
    (tmp_path / "rec_o.mp4.json").write_text('{"event": "progress"}')  # not a last word
    orphan = OrphanRecorder(gone.pid, output)
    orphan.killed = True
    heard = [r async for r in orphan.reports()]
    assert isinstance(heard[0], Failed) and "made no progress" in (heard[0].error or "")


async def test_a_live_orphan_is_followed_to_its_exit(tmp_path: Path) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import time; time.sleep(30)"
    )
    try:
        orphan = OrphanRecorder(child.pid, tmp_path / "rec_o.mp4")
        waiting = asyncio.ensure_future(orphan.wait())
        await asyncio.sleep(0)
        assert not waiting.done()
        os.kill(child.pid, signal.SIGTERM)
        async with asyncio.timeout(5):
            assert await waiting == 0
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()


def test_a_recordings_files(tmp_path: Path) -> None:
    files = RecordingFiles(tmp_path)
    rec = record(RecordingStatus.COMPLETE)
    rec.room_name = "Board meeting: Q1/Q2 ✓"
    assert files.path(rec) == tmp_path / "rec_t.mp4" and files.size_of(rec) is None
    assert download_name(rec) == "Board-meeting-Q1-Q2_2026-03-01_09-00_rec_t.mp4"
    assert files.final_of(rec) is None
    files.sidecar(rec).write_text("{not json")
    assert files.final_of(rec) is None
    files.sidecar(rec).write_text('{"event":"failed","error":"disk full"}\n')
    assert files.final_of(rec) == Failed("disk full")
    files.path(rec).write_bytes(b"\0" * 7)
    leftovers = [*temporaries(files.path(rec)), *temporaries(tmp_path / "rec_gone.mp4")]
    for path in leftovers:
        path.write_bytes(b"\0" * 3)
    assert files.size_of(rec) == 7 and files.finishing_bytes(files.path(rec)) == 13
    files.remove_leftovers(keep=[files.path(rec)])
    assert [p.exists() for p in leftovers] == [True, True, False, False]
    files.remove_all(rec)
    assert sorted(tmp_path.iterdir()) == []


def test_the_server_builds_the_recorders_command_line_with_the_contract(tmp_path: Path) -> None:
    argv = RecorderCommand(ws_url="ws://x/ws", output=tmp_path / "r.mp4").to_argv()
    assert argv[:4] == ["--ws-url", "ws://x/ws", "--output", str(tmp_path / "r.mp4")]
