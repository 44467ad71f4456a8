"""The placement of ``meetbox serve --workers N``: every meeting's media in one of N media
worker processes, chosen by load (:mod:`signaling.placement.balance`); signaling, the store
and the meeting cores stay in this process, so commands on a live meeting are carried out
here, as with :class:`~signaling.placement.local.LocalPlacement`.

Each worker is a child process (``python -m meetbox.worker``) with a control pipe (a Unix
stream socket pair) speaking :mod:`sfu.control`, held as a
:class:`~signaling.placement.remote.WorkerSlot`; a meeting's channel on it is a
:class:`~signaling.placement.remote.RemoteMedia`.

A worker that exits, stops answering (no load report for :data:`HEARTBEAT_TIMEOUT`) or sends
garbage is killed; each of its channels reports its tracks unpublished and then
``media_lost``, after which the meeting opens fresh media on another worker. The dead worker
is started again (after :data:`RESTART_DELAYS`). :meth:`WorkerPlacement.close` tells every
worker to stop and waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import time
from collections.abc import Callable, Sequence

from sfu.control import Load
from sfu.errors import MediaError
from signaling.placement.balance import least_loaded
from signaling.placement.remote import (
    START_TIMEOUT,
    ControlPipe,
    RemoteMedia,
    WorkerSlot,
    lost_error,
)
from signaling.placement.seam import (
    CommandsHere,
    MediaEvents,
    MediaSettings,
    MediaStats,
    WorkerStats,
)
from signaling.placement.spread import SpreadMedia

__all__ = ["HEARTBEAT_TIMEOUT", "SPREAD_AFTER", "WorkerPlacement", "WorkerStartFailed"]

logger = logging.getLogger(__name__)

#: Seconds without a load report after which a worker counts as hung and is killed.
HEARTBEAT_TIMEOUT = 10.0
#: Seconds between a worker's death and its restart; the last repeats. Back to the first
#: once a worker has stayed up for :data:`STABLE_AFTER`.
RESTART_DELAYS = (0.2, 1.0, 5.0, 15.0)
STABLE_AFTER = 60.0
#: Seconds ``close`` waits for a worker to stop before killing it.
STOP_WAIT = 10.0
#: Participants of one meeting on its worker after which receive-only ones may go to other
#: workers (fed by a pipe).
SPREAD_AFTER = 50


class WorkerStartFailed(RuntimeError):
    """A media worker did not start (its output says why)."""


class WorkerPlacement(CommandsHere):
    """Meetings' media on ``len(port_shares)`` media worker processes.

    ``argv`` starts a worker (``[python, -m, meetbox.worker, --log-format, ...]``); each gets
    ``--control-fd``, ``--id`` and, when ``port_shares`` holds one, ``--rtc-ports``."""

    def __init__(
        self,
        argv: Sequence[str],
        port_shares: Sequence[str | None],
        *,
        spread_after: int = SPREAD_AFTER,
        heartbeat_timeout: float = HEARTBEAT_TIMEOUT,
    ) -> None:
        if not port_shares:
            raise ValueError("a worker placement has at least one worker")
        self._workers: list[WorkerSlot] = []
        for index, share in enumerate(port_shares, start=1):
            args = [*argv, "--id", str(index)]
            if share is not None:
                args += ["--rtc-ports", share]
            self._workers.append(WorkerSlot(str(index), args, changed=self._changed))
        self._supervisors: list[asyncio.Task[None]] = []
        self._closing = False
        self._channels = itertools.count(1)
        self._pipes = itertools.count(1)
        #: The media of each room's meeting, as opened (closed ones dropped on the next open).
        self._rooms: dict[str, SpreadMedia] = {}
        #: A meeting whose worker serves this many of its participants sends the next
        #: receive-only ones to the least-loaded worker (:mod:`signaling.placement.spread`).
        self.spread_after = spread_after
        #: Seconds without a load report after which a worker counts as hung.
        self.heartbeat_timeout = heartbeat_timeout
        self._change = asyncio.Event()
        self._stopping = asyncio.Event()

    @property
    def workers(self) -> list[WorkerSlot]:
        return self._workers

    def _changed(self) -> None:
        self._change.set()
        self._change = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Until ``predicate()`` holds, looked at each time a worker comes up, goes down or
        reports its load (for tests and tools; bound it with a timeout)."""
        while not predicate():
            await self._change.wait()

    # -- life ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start every worker and wait until each is ready (WorkerStartFailed if one is not)."""
        for worker in self._workers:
            self._supervisors.append(asyncio.create_task(self._supervise(worker)))
        try:
            async with asyncio.timeout(START_TIMEOUT):
                for worker in self._workers:
                    ready = asyncio.create_task(worker.ready.wait())
                    supervisor = self._supervisors[int(worker.id) - 1]
                    await asyncio.wait({ready, supervisor}, return_when=asyncio.FIRST_COMPLETED)
                    ready.cancel()
                    if not worker.ready.is_set():
                        raise WorkerStartFailed(f"media worker {worker.id} did not start")
            logger.info(
                "media: %d worker processes (pids %s)",
                len(self._workers),
                ", ".join(str(w.process.pid) for w in self._workers if w.process),
            )
        except TimeoutError:
            await self.close()
            raise WorkerStartFailed(
                f"media workers did not start within {START_TIMEOUT:.0f} s"
            ) from None
        except BaseException:
            await self.close()
            raise

    async def _supervise(self, worker: WorkerSlot) -> None:
        delays = 0
        while not self._closing:
            try:
                await self._run_once(worker)
            except OSError as exc:
                logger.error("media worker %s could not be started: %s", worker.id, exc)
            if self._closing or not worker.ever_ready:
                return  # stopping, or the first start failed (start() reports it)
            if time.monotonic() - worker.started_at > STABLE_AFTER:
                delays = 0
            delay = RESTART_DELAYS[min(delays, len(RESTART_DELAYS) - 1)]
            delays += 1
            worker.restarts += 1
            logger.warning("media worker %s: starting it again in %.1f s", worker.id, delay)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):  # a back-off, cut short by close()
                    await self._stopping.wait()

    async def _run_once(self, worker: WorkerSlot) -> None:
        loop = asyncio.get_running_loop()
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            argv = [*worker.argv, "--control-fd", str(child.fileno())]
            worker.process = await asyncio.create_subprocess_exec(
                *argv, pass_fds=(child.fileno(),), stdin=asyncio.subprocess.DEVNULL
            )
            if self._closing:
                worker.process.kill()  # close() came while it was being started
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        worker.started_at = worker.heard_at = time.monotonic()
        transport, pipe = await loop.create_connection(lambda: ControlPipe(worker), sock=parent)
        worker.transport = transport
        watchdog = asyncio.create_task(self._watch(worker))
        try:
            await pipe.closed.wait()
        finally:
            watchdog.cancel()
            worker.up = False
            # The pipe closed: the worker exited, is exiting (told to stop) or broke it.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_WAIT if self._closing else 1.0):
                    await worker.process.wait()
            worker.kill()
            code = await worker.process.wait()
            self._lost(worker, code)

    async def _watch(self, worker: WorkerSlot) -> None:
        while True:
            await asyncio.sleep(1.0)  # a sampling period, not a wait for an event
            if time.monotonic() - worker.heard_at > self.heartbeat_timeout:
                logger.error(
                    "media worker %s sent nothing for %.0f s; killing it",
                    worker.id,
                    self.heartbeat_timeout,
                )
                worker.kill()
                return

    def _lost(self, worker: WorkerSlot, code: int) -> None:
        if not self._closing:
            logger.error(
                "media worker %s (pid %s) exited with %s; its %d meeting(s) move",
                worker.id,
                worker.process.pid if worker.process else "?",
                code,
                len(worker.channels),
            )
        worker.transport = None
        worker.ready.clear()
        if worker.load is not None:
            worker.carried = _add(worker.carried, worker.load)
        worker.load = None
        worker.samples = []
        for future in worker.pending.values():
            if not future.done():
                future.set_exception(lost_error())
        worker.pending.clear()
        worker.changed()
        channels, worker.channels = list(worker.channels.values()), {}
        for channel in channels:
            try:
                channel.worker_lost()
            except Exception:
                logger.exception("reporting a lost media channel failed")

    async def close(self) -> None:
        """Stop every worker: each is told to stop (its connections closed), then killed if
        it has not exited within :data:`STOP_WAIT`; one that is not up (starting again) is
        killed at once: it holds no meeting."""
        self._closing = True
        self._stopping.set()

        async def stop(worker: WorkerSlot) -> None:
            if worker.up:
                with contextlib.suppress(MediaError):
                    await worker.request("stop")
            else:
                worker.kill()

        await asyncio.gather(*(stop(w) for w in self._workers))
        # Each supervisor returns once its worker's pipe closed and the process was reaped.
        try:
            async with asyncio.timeout(STOP_WAIT):
                await asyncio.gather(*self._supervisors, return_exceptions=True)
        except TimeoutError:
            for worker in self._workers:
                if worker.process is not None and worker.process.returncode is None:
                    logger.warning("media worker %s did not stop; killing it", worker.id)
                    worker.kill()
            await asyncio.gather(*self._supervisors, return_exceptions=True)

    # -- the seam --------------------------------------------------------------------------

    def _choose(self) -> WorkerSlot:
        chosen = least_loaded([w.balance_view() for w in self._workers])
        return next(w for w in self._workers if w.id == chosen)

    def owner(self, room_id: str) -> str:
        media = self._rooms.get(room_id)
        if media is not None and not (media.closed or media.lost):
            return f"worker-{media.primary.worker.id}"
        return f"worker-{self._choose().id}"

    def new_channel(
        self, worker: WorkerSlot, events: MediaEvents, settings: MediaSettings
    ) -> RemoteMedia:
        return RemoteMedia(worker, next(self._channels), events, settings)

    def new_pipe(self) -> int:
        return next(self._pipes)

    def choose(self) -> WorkerSlot:
        """The least-loaded worker (a meeting starting, or a big meeting growing)."""
        return self._choose()

    def open_media(self, room_id: str, events: MediaEvents, settings: MediaSettings) -> SpreadMedia:
        worker = self._choose()
        media = SpreadMedia(self, worker, events, settings)
        self._rooms = {r: m for r, m in self._rooms.items() if not (m.closed or m.lost)}
        self._rooms[room_id] = media
        logger.info("room %s: media on worker %s", room_id, worker.id)
        return media

    async def stats(self) -> MediaStats:
        total: Load | None = None
        workers = []
        for worker in self._workers:
            slot = _add(worker.carried, worker.load) if worker.load else worker.carried
            total = _add(total, slot) if slot else total
            view = worker.balance_view()
            workers.append(
                WorkerStats(
                    worker=worker.id,
                    up=worker.up,
                    pid=worker.process.pid if worker.process and worker.up else 0,
                    restarts=worker.restarts,
                    meetings=view.meetings,
                    peers=view.peers,
                    cpu_seconds=round(worker.load.cpu_seconds, 3) if worker.load else 0.0,
                    rss_bytes=worker.load.rss_bytes if worker.load else 0,
                    forwarded_packets=slot.forwarded_packets if slot else 0,
                )
            )
        if total is None:
            return MediaStats(workers=tuple(workers))
        return MediaStats(
            received_packets=total.received_packets,
            forwarded_packets=total.forwarded_packets,
            dropped_packets=total.dropped_packets,
            retransmitted_packets=total.retransmitted_packets,
            keyframe_requests=total.keyframe_requests,
            piped_packets=total.piped_packets,
            dropped_datagrams=total.dropped_datagrams,
            workers=tuple(workers),
        )

    async def drain(self) -> None:
        async def drain(worker: WorkerSlot) -> None:
            with contextlib.suppress(MediaError):
                await worker.request("drain")

        await asyncio.gather(*(drain(w) for w in self._workers if w.up))


def _add(a: Load | None, b: Load) -> Load:
    if a is None:
        return b
    dropped = dict(a.dropped_datagrams)
    for reason, count in b.dropped_datagrams:
        dropped[reason] = dropped.get(reason, 0) + count
    return Load(
        rooms=b.rooms,
        peers=b.peers,
        tracks=b.tracks,
        cpu_seconds=b.cpu_seconds,
        rss_bytes=b.rss_bytes,
        received_packets=a.received_packets + b.received_packets,
        forwarded_packets=a.forwarded_packets + b.forwarded_packets,
        dropped_packets=a.dropped_packets + b.dropped_packets,
        retransmitted_packets=a.retransmitted_packets + b.retransmitted_packets,
        keyframe_requests=a.keyframe_requests + b.keyframe_requests,
        piped_packets=a.piped_packets + b.piped_packets,
        dropped_datagrams=tuple(dropped.items()),
    )
