"""The placement of ``meetbox serve --workers N``: every meeting's media in one of N media
worker processes, chosen by load (:mod:`signaling.placement.balance`); signaling, the store
and the meeting cores stay in this process, so commands on a live meeting are carried out
here, as with :class:`~signaling.placement.local.LocalPlacement`.

Each worker is a child process (``python -m meetbox.worker``) with a control pipe (a Unix
stream socket pair) speaking :mod:`sfu.control`. A :class:`RemoteMedia` is a meeting's
channel on its worker: it forwards the seam's commands as requests and the worker's events
to the meeting's :class:`~signaling.placement.seam.MediaEvents`. It mirrors the tracks its
worker reported, so that taking a peer out reports its tracks unpublished at once, as the
seam promises, and so that a worker's death can report them too.

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
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sfu.control import FrameDecoder, FrameTooLarge, Load, encode
from sfu.errors import MediaError
from signaling.placement.balance import WorkerLoad, least_loaded
from signaling.placement.seam import (
    CommandHandler,
    LiveCommand,
    MediaEvents,
    MediaSettings,
    MediaStats,
    TrackReport,
    WorkerStats,
)
from signaling.placement.spread import SpreadMedia

__all__ = [
    "HEARTBEAT_TIMEOUT",
    "SPREAD_AFTER",
    "RemoteMedia",
    "WorkerPlacement",
    "WorkerSlot",
    "WorkerStartFailed",
]

logger = logging.getLogger(__name__)

R = TypeVar("R")

#: Seconds without a load report after which a worker counts as hung and is killed.
HEARTBEAT_TIMEOUT = 10.0
#: Seconds a worker has to start (import the media stack, open its pipe).
START_TIMEOUT = 60.0
#: Seconds a request waits for its answer (a hung worker is caught by the heartbeat sooner).
REQUEST_TIMEOUT = 30.0
#: Seconds between a worker's death and its restart; the last repeats. Back to the first
#: once a worker has stayed up for :data:`STABLE_AFTER`.
RESTART_DELAYS = (0.2, 1.0, 5.0, 15.0)
STABLE_AFTER = 60.0
#: Seconds ``close`` waits for a worker to stop before killing it.
STOP_WAIT = 10.0
#: Participants of one meeting on its worker after which receive-only ones may go to other
#: workers (fed by a pipe).
SPREAD_AFTER = 50
#: Bytes of requests a worker may leave unread before it counts as hung.
MAX_WRITE_BUFFER = 32 * 1024 * 1024


def _lost() -> MediaError:
    """A fresh error each time: one instance raised again and again would pile up
    tracebacks."""
    return MediaError("media_lost", "the media process stopped; your media is being set up again")


class WorkerStartFailed(RuntimeError):
    """A media worker did not start (its output says why)."""


class _Pipe(asyncio.Protocol):
    def __init__(self, worker: WorkerSlot) -> None:
        self._worker = worker
        self._decoder = FrameDecoder()
        self.closed = asyncio.Event()

    def data_received(self, data: bytes) -> None:
        try:
            messages = self._decoder.feed(data)
        except (FrameTooLarge, ValueError) as exc:
            logger.error(
                "worker %s sent a broken control frame (%s); killing it", self._worker.id, exc
            )
            self._worker.kill()
            return
        for message in messages:
            try:
                self._worker.received(message)
            except Exception:
                logger.exception(
                    "worker %s: could not handle %r", self._worker.id, message.get("ev")
                )

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()


@dataclass
class WorkerSlot:
    """One worker slot: a process at a time, started again when it dies."""

    id: str
    argv: list[str]
    process: asyncio.subprocess.Process | None = None
    transport: asyncio.Transport | None = None
    up: bool = False
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    pending: dict[int, asyncio.Future[Any]] = field(default_factory=dict)
    channels: dict[int, RemoteMedia] = field(default_factory=dict)
    load: Load | None = None
    #: (monotonic time, cpu seconds, packets) at the last two load reports.
    samples: list[tuple[float, float, int]] = field(default_factory=list)
    heard_at: float = 0.0
    started_at: float = 0.0
    restarts: int = 0
    #: Whether any process of this slot got ready (a first start that fails is not retried).
    ever_ready: bool = False
    #: Counters of earlier processes of this slot, so the slot's totals never go back.
    carried: Load | None = None
    #: Called when the worker comes up, goes down or reports its load.
    changed: Callable[[], None] = lambda: None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def received(self, message: dict[str, Any]) -> None:
        self.heard_at = time.monotonic()
        if "re" in message:
            future = self.pending.pop(int(message["re"]), None)
            if future is None or future.done():
                return
            error = message.get("error")
            if error is not None:
                future.set_exception(MediaError(str(error["code"]), str(error["message"])))
            else:
                future.set_result(message.get("ok"))
            return
        event = message.get("ev")
        if event == "load":
            self.load = Load.parse(message)
            self.samples = [*self.samples[-1:], (self.heard_at, self.load.cpu_seconds,
                            self.load.received_packets + self.load.forwarded_packets)]  # fmt: skip
            self.changed()
            return
        if event == "ready":
            if self.ever_ready:
                logger.info("media worker %s is up again (pid %s)", self.id, message.get("pid"))
            self.up = self.ever_ready = True
            # Meetings placed here while it was starting get their rooms first.
            for placed in self.channels.values():
                self._open_room(placed)
            self.ready.set()
            self.changed()
            return
        channel = self.channels.get(int(message.get("ch", -1)))
        if channel is not None:
            channel.received(message)

    def open(self, channel: RemoteMedia) -> None:
        self.channels[channel.channel] = channel
        if self.up:
            self._open_room(channel)

    def _open_room(self, channel: RemoteMedia) -> None:
        settings = channel.settings
        self.send(
            {"op": "open_room", "ch": channel.channel, "screen_share": settings.screen_share,
             "public_ip": settings.public_ip}
        )  # fmt: skip

    def send(self, message: dict[str, Any]) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            raise _lost()
        if transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            logger.error("worker %s does not read its requests; killing it", self.id)
            self.kill()
            raise _lost()
        transport.write(encode(message))

    async def request(self, op: str, **fields: Any) -> Any:
        if not self.up:
            # Starting (again): wait for it rather than fail a join in the meantime.
            try:
                async with asyncio.timeout(START_TIMEOUT):
                    await self.ready.wait()
            except TimeoutError:
                raise MediaError(
                    "media_unavailable", "no media process is running; try again shortly"
                ) from None
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        try:
            self.send({"op": op, "id": request_id, **fields})
            async with asyncio.timeout(REQUEST_TIMEOUT):
                return await future
        except TimeoutError:
            raise MediaError("media_timeout", "the media process did not answer in time") from None
        finally:
            self.pending.pop(request_id, None)

    def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        if self.transport is not None:
            self.transport.abort()

    def cpu_share(self) -> tuple[float, float]:
        """(share of a core, packets per second) over the last report interval."""
        if len(self.samples) < 2:
            return 0.0, 0.0
        (t0, cpu0, p0), (t1, cpu1, p1) = self.samples
        span = max(t1 - t0, 1e-3)
        return max(cpu1 - cpu0, 0.0) / span, max(p1 - p0, 0) / span

    def balance_view(self) -> WorkerLoad:
        cpu, pps = self.cpu_share()
        return WorkerLoad(
            worker=self.id,
            up=self.up,
            meetings=len(self.channels),
            peers=sum(len(c.peers) for c in self.channels.values()),
            tracks=sum(len(c.tracks) for c in self.channels.values()),
            cpu=cpu,
            packets_per_second=pps,
        )


class RemoteMedia:
    """A :class:`~signaling.placement.seam.MediaChannel` on a media worker."""

    def __init__(
        self, worker: WorkerSlot, channel: int, events: MediaEvents, settings: MediaSettings
    ) -> None:
        self.worker = worker
        self.channel = channel
        self.settings = settings
        self._events = events
        #: Participants with a peer here (events about others are stale and dropped).
        self.peers: set[str] = set()
        #: Tracks the worker reported published and nobody was told are gone.
        self.tracks: dict[str, TrackReport] = {}
        #: What a pipe to another worker needs to relay each of them (its number, codec).
        self.relay_info: dict[str, dict[str, Any]] = {}
        self.lost = False

    # -- commands --------------------------------------------------------------------------

    async def add_peer(self, participant_id: str, may_publish: bool, receives: bool = True) -> None:
        """``receives=False``: a publish-only peer (the participant receives on another
        worker, :mod:`signaling.placement.spread`)."""
        if self.lost:
            raise _lost()
        self._forget_tracks(participant_id)
        self.peers.add(participant_id)
        try:
            await self.worker.request(
                "add_peer",
                ch=self.channel,
                pid=participant_id,
                may_publish=may_publish,
                receives=receives,
            )
        except MediaError:
            if self.lost:
                raise _lost() from None
            raise

    def remove_peer(self, participant_id: str) -> None:
        self.peers.discard(participant_id)
        self._forget_tracks(participant_id)
        self._send({"op": "remove_peer", "ch": self.channel, "pid": participant_id})

    def _require(self, participant_id: str) -> None:
        if self.lost:
            raise _lost()
        if participant_id not in self.peers:
            raise MediaError("not_in_meeting", "you are not in the meeting")

    async def publish_offer(self, participant_id: str, sdp: str, sources: dict[str, str]) -> str:
        self._require(participant_id)
        answer = await self.worker.request(
            "publish_offer", ch=self.channel, pid=participant_id, sdp=sdp, sources=sources
        )
        return str(answer)

    async def subscribe_answer(self, participant_id: str, sdp: str) -> None:
        self._require(participant_id)
        await self.worker.request("subscribe_answer", ch=self.channel, pid=participant_id, sdp=sdp)

    async def add_ice_candidate(
        self,
        participant_id: str,
        target: str,
        candidate: str,
        sdp_mid: str | None,
        sdp_mline_index: int | None,
    ) -> None:
        self._require(participant_id)
        await self.worker.request(
            "add_ice_candidate",
            ch=self.channel,
            pid=participant_id,
            target=target,
            candidate=candidate,
            sdp_mid=sdp_mid,
            sdp_mline_index=sdp_mline_index,
        )

    def offer_again(self, participant_id: str) -> None:
        if participant_id in self.peers:
            self._send({"op": "offer_again", "ch": self.channel, "pid": participant_id})

    def close(self) -> None:
        for participant_id in list(self.peers):
            self.peers.discard(participant_id)
            self._forget_tracks(participant_id)
        self._send({"op": "close_room", "ch": self.channel})
        self.worker.channels.pop(self.channel, None)

    def _send(self, message: dict[str, Any]) -> None:
        if self.lost:
            return
        with contextlib.suppress(MediaError):  # a dead worker: its loss is reported anyway
            self.worker.send(message)

    def _forget_tracks(self, participant_id: str) -> None:
        for track in [t for t in self.tracks.values() if t.participant_id == participant_id]:
            del self.tracks[track.id]
            self._events.track_unpublished(track)
            self.relay_info.pop(track.id, None)

    # -- events ----------------------------------------------------------------------------

    def received(self, m: dict[str, Any]) -> None:
        event = m["ev"]
        if event in ("track_published", "track_unpublished"):
            track = TrackReport(*(str(v) for v in m["track"]))
            if event == "track_published":
                if track.participant_id in self.peers:
                    self.tracks[track.id] = track
                    if "number" in m:
                        self.relay_info[track.id] = {"number": m["number"], "codec": m["codec"]}
                    self._events.track_published(track)
            elif self.tracks.pop(track.id, None) is not None:
                self._events.track_unpublished(track)
                self.relay_info.pop(track.id, None)
            return
        pid = m.get("pid")
        if pid is not None and pid not in self.peers:
            return  # about a peer taken out since
        if event == "subscribe_offer":
            tracks = {str(k): str(v) for k, v in dict(m["tracks"]).items()}
            self._events.subscribe_offer(str(pid), str(m["sdp"]), tracks)
        elif event == "active_speaker":
            self._events.active_speaker(None if pid is None else str(pid))
        elif event == "media_failed":
            self._events.media_failed(str(pid))

    def worker_lost(self) -> None:
        """The worker died: every track is gone, then the channel."""
        self.lost = True
        for track in list(self.tracks.values()):
            del self.tracks[track.id]
            self._events.track_unpublished(track)
        self.relay_info.clear()
        self.peers.clear()
        self._events.media_lost()


class WorkerPlacement:
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
        self._handler: CommandHandler | None = None
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
        transport, pipe = await loop.create_connection(lambda: _Pipe(worker), sock=parent)
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
                future.set_exception(_lost())
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

    def serve(self, handler: CommandHandler) -> None:
        self._handler = handler

    async def command(self, command: LiveCommand[R]) -> R:
        if self._handler is None:
            raise RuntimeError("no command handler: serve() was not called")
        result: R = await self._handler(command)
        return result

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
