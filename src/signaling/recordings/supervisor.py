"""The recorder supervisor: the runs under way, one task following each recorder's reports
to its exit, the deadline that kills a recorder stuck finishing its file, and the shutdown
that gives them time to finish. What the reports mean for the recording is the
:class:`RunHandler`'s (the service, with :mod:`signaling.recordings.transitions`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from signaling.background import Background
from signaling.clock import Clock
from signaling.models import RecordingRecord
from signaling.recordings.contract import Event
from signaling.recordings.files import RecordingFiles
from signaling.recordings.orphans import OrphanRecorder
from signaling.recordings.processes import RecorderProcess
from signaling.recordings.transitions import Outcome, RunState

__all__ = ["Run", "RunHandler", "StopDeadline", "Supervisor", "Verdict"]

logger = logging.getLogger(__name__)


class Verdict(Enum):
    """What a look at a stopping recorder's deadline decided."""

    #: No deadline, or not yet past it.
    WAIT = "wait"
    #: Past it, but its files grew: a new deadline.
    EXTENDED = "extended"
    #: Past it and its files did not grow: kill it.
    KILL = "kill"


@dataclass(slots=True)
class StopDeadline:
    """When a recorder asked to stop is killed unless its files grew meanwhile.

    Finishing a file takes time in proportion to its length (the faststart rewrite copies
    all of it, minutes for a multi-hour file on a slow disk), so no one deadline fits every
    recording. Instead a recorder gets ``timeout`` at a time: at each deadline, if its files
    grew since the last look, it is making progress and gets another ``timeout``; if not,
    it is killed. Pure: the caller passes the time and the files' size."""

    #: When it is killed unless its files grew; ``None``: no deadline (not stopping, or
    #: already killed).
    kill_at: datetime | None = None
    #: Its files' size at the last look.
    finishing_bytes: int = 0

    def start(self, now: datetime, timeout: timedelta, size: int) -> None:
        self.finishing_bytes = size
        self.kill_at = now + timeout

    def due(self, now: datetime) -> bool:
        return self.kill_at is not None and now >= self.kill_at

    def check(self, now: datetime, timeout: timedelta, size: int) -> Verdict:
        if not self.due(now):
            return Verdict.WAIT
        if size != self.finishing_bytes:
            self.start(now, timeout, size)
            return Verdict.EXTENDED
        self.kill_at = None
        return Verdict.KILL


@dataclass(eq=False)
class Run:
    """One recorder process at work on one recording."""

    recording_id: str
    room_id: str
    meeting_id: str
    process: RecorderProcess
    #: The MP4 it writes.
    output: Path
    state: RunState = field(default_factory=RunState)
    deadline: StopDeadline = field(default_factory=StopDeadline)
    task: asyncio.Task[None] | None = None
    killer: asyncio.Task[None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    #: How it ended, when that could not be saved yet (the disk was full): the record and
    #: its outcome, to end and save again (see ``RecordingService``).
    unsaved_end: tuple[RecordingRecord, Outcome] | None = None

    @property
    def adopted(self) -> OrphanRecorder | None:
        """The recorder of a previous server, still finishing its file (see ``recover``)."""
        return self.process if isinstance(self.process, OrphanRecorder) else None


class RunHandler(Protocol):
    async def on_report(self, run: Run, report: Event) -> None:
        """A report of the recorder's (exceptions are logged, and the next one is read)."""

    async def on_exit(self, run: Run, code: int) -> None:
        """It exited without a final report."""

    async def after_exit(self, run: Run) -> None:
        """It exited; whatever is left to do before the run is forgotten."""


class Supervisor:
    """The runs under way, by recording id."""

    def __init__(
        self, clock: Clock, files: RecordingFiles, stop_timeout: Callable[[], float]
    ) -> None:
        self._clock = clock
        self._files = files
        self._stop_timeout = stop_timeout
        self.runs: dict[str, Run] = {}
        self.handler: RunHandler | None = None
        #: Set once the server is stopping.
        self.stopping = asyncio.Event()
        self._background = Background("recording task failed", logger)

    @property
    def timeout(self) -> timedelta:
        return timedelta(seconds=self._stop_timeout())

    def add(self, run: Run) -> None:
        self.runs[run.recording_id] = run

    def follow(self, run: Run) -> None:
        """Follow ``run``'s reports to its exit (and its deadline, if it is stopping)."""
        self.add(run)
        run.task = asyncio.create_task(self._watch(run), name=f"recorder-{run.recording_id}")
        if run.deadline.kill_at is not None and run.killer is None:
            run.killer = asyncio.create_task(self._kill_when_stuck(run))

    def adopt(self, rec: RecordingRecord, pid: int, output: Path) -> Run:
        """A run for a previous server's recorder still finishing ``output`` (stopping: it
        has a deadline); :meth:`follow` it."""
        run = Run(rec.id, rec.room_id, rec.meeting_id, OrphanRecorder(pid, output), output)
        run.state.stop_requested = True
        run.state.became_active = rec.started_at is not None
        run.deadline.start(self._clock.now(), self.timeout, self._files.finishing_bytes(output))
        self.add(run)
        return run

    def request_stop(self, run: Run) -> None:
        """Ask the recorder to finish its file, with a deadline (see :class:`StopDeadline`)."""
        run.state.stop_requested = True
        run.process.stop()
        size = self._files.finishing_bytes(run.output)
        run.deadline.start(self._clock.now(), self.timeout, size)
        run.killer = asyncio.create_task(self._kill_when_stuck(run))

    def check_stop_deadlines(self) -> None:
        """Kill the recorders asked to stop that are past their deadline and stuck (their own
        timers call this; tests step the clock and call it)."""
        now = self._clock.now()
        for run in list(self.runs.values()):
            self._check_stop_deadline(run, now)

    def _check_stop_deadline(self, run: Run, now: datetime) -> None:
        if not run.deadline.due(now):
            return
        size = self._files.finishing_bytes(run.output)
        verdict = run.deadline.check(now, self.timeout, size)
        if verdict is Verdict.EXTENDED:
            logger.info("recording %s: still finishing its file", run.recording_id)
        elif verdict is Verdict.KILL:
            logger.warning(
                "recording %s: the recorder made no progress finishing its file; killed",
                run.recording_id,
            )
            run.process.kill()

    async def _kill_when_stuck(self, run: Run) -> None:
        while run.deadline.kill_at is not None and not run.done.is_set():
            delay = (run.deadline.kill_at - self._clock.now()).total_seconds()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await run.done.wait()
            else:
                self._check_stop_deadline(run, self._clock.now())

    async def _watch(self, run: Run) -> None:
        handler = self.handler
        assert handler is not None
        try:
            async for report in run.process.reports():
                try:
                    await handler.on_report(run, report)
                except Exception:
                    logger.exception("recording %s: report not handled", run.recording_id)
            code = await run.process.wait()
            if not run.state.finished:
                await handler.on_exit(run, code)
            await handler.after_exit(run)
        finally:
            run.state.finished = True
            run.done.set()
            self.runs.pop(run.recording_id, None)
            if run.killer is not None:
                run.killer.cancel()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in the background; its failure is logged, shutdown waits for it."""
        self._background.spawn(coro)

    async def let_go_of_adopted(self) -> None:
        """A previous server's recorders were never this one's to stop: they go on
        finishing their files, and the next start follows them."""
        followed: list[asyncio.Task[None]] = []
        for run in list(self.runs.values()):
            orphan = run.adopted
            if orphan is None:
                continue
            for task in (run.task, run.killer):
                if task is not None:
                    task.cancel()
                    followed.append(task)
            orphan.forget()
            self.runs.pop(run.recording_id, None)
        await asyncio.gather(*followed, return_exceptions=True)

    async def wait_for(self, runs: list[Run], deadline: float) -> None:
        """Give ``runs`` (asked to stop) ``deadline`` seconds to exit, then kill them; and
        let the background tasks finish."""
        tasks = [run.task for run in runs if run.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=deadline)
            for run in runs:
                if run.task in pending:
                    run.process.kill()
            if pending:
                await asyncio.wait(pending, timeout=5)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self._background.wait()
