"""One media worker as the main process holds it (:class:`WorkerSlot`: a process at a time,
its control pipe, requests waiting for their replies, its last load report) and a meeting's
channel on it (:class:`RemoteMedia`, a :class:`~signaling.placement.seam.MediaChannel`). The
channel forwards the seam's commands as :mod:`sfu.control` requests and the worker's events
to the meeting's :class:`~signaling.placement.seam.MediaEvents`; it mirrors the tracks its
worker reported, so that taking a peer out reports its tracks unpublished at once, as the
seam promises, and so that a worker's death can report them too. Starting, watching and
restarting the processes is :mod:`signaling.placement.workers`'.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sfu.control import FrameDecoder, FrameTooLarge, Load, encode
from sfu.errors import MediaError
from signaling.placement.balance import WorkerLoad
from signaling.placement.seam import MediaEvents, MediaSettings, TrackReport

__all__ = [
    "MAX_WRITE_BUFFER",
    "REQUEST_TIMEOUT",
    "START_TIMEOUT",
    "ControlPipe",
    "RemoteMedia",
    "WorkerSlot",
    "lost_error",
]

logger = logging.getLogger(__name__)

#: Seconds a worker has to start (import the media stack, open its pipe).
START_TIMEOUT = 60.0
#: Seconds a request waits for its answer (a hung worker is caught by the heartbeat sooner).
REQUEST_TIMEOUT = 30.0
#: Bytes of requests a worker may leave unread before it counts as hung.
MAX_WRITE_BUFFER = 32 * 1024 * 1024


def lost_error() -> MediaError:
    """A fresh error each time: one instance raised again and again would pile up
    tracebacks."""
    return MediaError("media_lost", "the media process stopped; your media is being set up again")


class ControlPipe(asyncio.Protocol):
    """The main process's end of a worker's control pipe: frames in, to the slot."""

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
            raise lost_error()
        if transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            logger.error("worker %s does not read its requests; killing it", self.id)
            self.kill()
            raise lost_error()
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
            raise lost_error()
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
                raise lost_error() from None
            raise

    def remove_peer(self, participant_id: str) -> None:
        self.peers.discard(participant_id)
        self._forget_tracks(participant_id)
        self._send({"op": "remove_peer", "ch": self.channel, "pid": participant_id})

    def _require(self, participant_id: str) -> None:
        if self.lost:
            raise lost_error()
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
