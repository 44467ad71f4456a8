"""A media worker: the media rooms of the meetings placed on it, served over the control
pipe (:mod:`sfu.control`) to the main process. The process entry is ``meetbox.worker``.

Requests that wait for an answer (``add_peer``, ``publish_offer``, ``subscribe_answer``,
``add_ice_candidate``, ``drain``, ``stop``) run as tasks, so a slow negotiation in one room
never holds up another; the main process sends one participant's requests one after the
other, so their order holds. Fire-and-forget requests (``open_room``, ``remove_peer``,
``offer_again``, ``close_room``) are carried out as they are read, in order. Connections
close in the background; ``drain`` waits for them.

Every few seconds (:data:`LOAD_INTERVAL`) the worker reports its load, which doubles as its
heartbeat. It exits when told to ``stop`` or when the pipe closes (the main process is gone):
a worker never outlives its server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
from collections.abc import Coroutine
from typing import Any, cast

from sfu.control import FrameDecoder, FrameTooLarge, Load, encode, error_reply, ok_reply
from sfu.errors import MediaError
from sfu.guard import Drop
from sfu.listener import TrackInfo
from sfu.peer import MediaPeer
from sfu.piping import PipedTrack, PipeIn, PipeOut, codec_of, describe_codec, open_end
from sfu.room import MediaRoom
from sfu.stats import STATS

__all__ = ["LOAD_INTERVAL", "MAX_WRITE_BUFFER", "Worker", "serve_pipe"]

logger = logging.getLogger(__name__)

#: Seconds between two load reports (the main process's heartbeat).
LOAD_INTERVAL = 1.0
#: Bytes of events the main process may leave unread before the worker gives up on it.
MAX_WRITE_BUFFER = 32 * 1024 * 1024
#: Seconds ``stop`` waits for connections to close.
STOP_WAIT = 5.0


def _track(info: TrackInfo) -> list[str]:
    return [info.id, info.participant_id, info.kind, info.source]


class _Listener:
    """One channel's room reports, as events on the pipe."""

    def __init__(self, worker: Worker, channel: int) -> None:
        self._worker = worker
        self._ch = channel

    def subscribe_offer(self, participant_id: str, sdp: str, tracks: dict[str, str]) -> None:
        self._worker.event(
            {"ev": "subscribe_offer", "ch": self._ch, "pid": participant_id, "sdp": sdp,
             "tracks": tracks}
        )  # fmt: skip

    def track_published(self, track: TrackInfo) -> None:
        event: dict[str, Any] = {"ev": "track_published", "ch": self._ch, "track": _track(track)}
        room = self._worker.rooms.get(self._ch)
        published = None
        if room is not None and track.id in room.numbers:
            published = next((t for t in room.published() if t.info.id == track.id), None)
        if room is not None and published is not None:
            # Published here: what a pipe to another worker needs to relay it.
            event["number"] = room.numbers[track.id]
            event["codec"] = describe_codec(published.codec)
        self._worker.event(event)

    def track_unpublished(self, track: TrackInfo) -> None:
        self._worker.event({"ev": "track_unpublished", "ch": self._ch, "track": _track(track)})

    def active_speaker(self, participant_id: str | None) -> None:
        self._worker.event({"ev": "active_speaker", "ch": self._ch, "pid": participant_id})

    def media_failed(self, participant_id: str) -> None:
        self._worker.event({"ev": "media_failed", "ch": self._ch, "pid": participant_id})


class Worker:
    """The media rooms of one worker and what the pipe asks of them."""

    def __init__(self, transport: asyncio.WriteTransport) -> None:
        self._transport = transport
        self.rooms: dict[int, MediaRoom] = {}
        #: Pipes from rooms here to other workers, by the main process's pipe number, with
        #: the channel of their room.
        self.pipes: dict[int, tuple[int, PipeOut]] = {}
        #: The pipe bringing each replica room (a spread room's part here) its tracks.
        self.inlets: dict[int, PipeIn] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing: set[asyncio.Task[None]] = set()
        self.stopped = asyncio.Event()

    # -- out -------------------------------------------------------------------------------

    def event(self, message: dict[str, Any]) -> None:
        if self._transport.is_closing():
            return
        if self._transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            logger.error("the main process does not read its events; stopping")
            self._transport.abort()
            self.stopped.set()
            return
        self._transport.write(encode(message))

    def load(self) -> Load:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        try:
            with open("/proc/self/statm") as f:
                rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            rss = usage.ru_maxrss * 1024
        return Load(
            rooms=len(self.rooms),
            peers=sum(len(room.peers) for room in self.rooms.values()),
            tracks=sum(len(room.tracks()) for room in self.rooms.values()),
            cpu_seconds=usage.ru_utime + usage.ru_stime,
            rss_bytes=rss,
            received_packets=STATS.received_packets,
            forwarded_packets=STATS.forwarded_packets,
            dropped_packets=STATS.dropped_packets,
            retransmitted_packets=STATS.retransmitted_packets,
            keyframe_requests=STATS.keyframe_requests,
            piped_packets=STATS.piped_packets,
            dropped_datagrams=tuple((d.value, STATS.dropped_datagrams[d.value]) for d in Drop),
        )

    # -- in --------------------------------------------------------------------------------

    def handle(self, message: dict[str, Any]) -> None:
        """One request from the pipe."""
        op = message.get("op")
        request_id = message.get("id")
        try:
            if request_id is None:
                self._at_once(str(op), message)
                return
            task = asyncio.create_task(self._answer(int(request_id), str(op), message))
        except Exception:
            logger.exception("control request %r failed", op)
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _at_once(self, op: str, m: dict[str, Any]) -> None:
        if op == "open_room":
            channel = int(m["ch"])
            self.rooms[channel] = MediaRoom(
                _Listener(self, channel),
                screen_share=bool(m.get("screen_share", True)),
                public_ip=m.get("public_ip"),
            )
        elif op == "remove_peer":
            room = self.rooms.get(int(m["ch"]))
            if room is not None:
                self._background(room.detach_peer(str(m["pid"])))
        elif op == "offer_again":
            room = self.rooms.get(int(m["ch"]))
            peer = room.peers.get(str(m["pid"])) if room is not None else None
            if peer is not None:
                peer.offer_again()
        elif op == "close_room":
            self._close_room(int(m["ch"]))
        elif op == "relay_track":
            channel, number = int(m["ch"]), int(m["number"])
            room, inlet = self.rooms.get(channel), self.inlets.get(channel)
            if room is not None and inlet is not None and number not in inlet.tracks:
                info = TrackInfo(*(str(v) for v in m["track"]))
                track = PipedTrack(info, codec_of(m["codec"]), number, inlet.end, room.speaker)
                inlet.tracks[number] = track
                room.add_relayed(track)
        elif op == "relay_track_gone":
            channel = int(m["ch"])
            room, inlet = self.rooms.get(channel), self.inlets.get(channel)
            if room is not None and inlet is not None:
                gone = inlet.tracks.pop(int(m["number"]), None)
                if gone is not None:
                    room.remove_relayed(gone.info.id)
        elif op == "pipe_close":
            entry = self.pipes.pop(int(m["pipe"]), None)
            if entry is not None:
                channel, pipe = entry
                room = self.rooms.get(channel)
                if room is not None and pipe in room.pipes:
                    room.pipes.remove(pipe)
                pipe.close()
        else:
            raise ValueError(f"unknown control request {op!r}")

    def _close_room(self, channel: int) -> None:
        room = self.rooms.pop(channel, None)
        if room is not None:
            for pid in list(room.peers):
                self._background(room.detach_peer(pid))
            for number, (of, pipe) in list(self.pipes.items()):
                if of == channel:
                    del self.pipes[number]
                    pipe.close()
            room.close_pipes()
        inlet = self.inlets.pop(channel, None)
        if inlet is not None:
            inlet.close()

    def _background(self, closing: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(closing)
        self._closing.add(task)
        task.add_done_callback(self._closed)

    def _closed(self, task: asyncio.Task[None]) -> None:
        self._closing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("closing media failed", exc_info=task.exception())

    async def _answer(self, request_id: int, op: str, m: dict[str, Any]) -> None:
        try:
            value = await self._carry_out(op, m)
        except MediaError as exc:
            self.event(error_reply(request_id, exc.code, exc.message))
        except Exception as exc:
            logger.exception("control request %r failed", op)
            self.event(error_reply(request_id, "internal", f"the media worker failed: {exc}"))
        else:
            self.event(ok_reply(request_id, value))
        if op == "stop":
            self.stopped.set()

    def _room(self, m: dict[str, Any]) -> MediaRoom:
        room = self.rooms.get(int(m["ch"]))
        if room is None:
            raise MediaError("not_in_meeting", "the meeting's media is closed")
        return room

    def _peer(self, m: dict[str, Any]) -> MediaPeer:
        room = self.rooms.get(int(m["ch"]))
        peer = room.peers.get(str(m["pid"])) if room is not None else None
        if peer is None:
            raise MediaError("not_in_meeting", "you are not in the meeting")
        return peer

    async def _carry_out(self, op: str, m: dict[str, Any]) -> Any:
        if op == "add_peer":
            room = self.rooms.get(int(m["ch"]))
            if room is None:
                raise MediaError("not_in_meeting", "the meeting's media is closed")
            pid = str(m["pid"])
            await room.add_peer(pid, bool(m["may_publish"]), bool(m.get("receives", True)))
            if self.rooms.get(int(m["ch"])) is not room:
                # The room closed while the peer was being set up: nobody will take it out.
                self._background(room.detach_peer(pid))
                raise MediaError("not_in_meeting", "the meeting's media is closed")
            return None
        if op == "publish_offer":
            sources = {str(k): str(v) for k, v in dict(m["sources"]).items()}
            return await self._peer(m).publish_offer(str(m["sdp"]), sources)
        if op == "subscribe_answer":
            await self._peer(m).subscribe_answer(str(m["sdp"]))
            return None
        if op == "add_ice_candidate":
            mline = m.get("sdp_mline_index")
            await self._peer(m).add_ice_candidate(
                str(m["target"]),
                str(m["candidate"]),
                m.get("sdp_mid"),
                int(mline) if mline is not None else None,
            )
            return None
        if op == "pipe_open":
            room = self._room(m)
            end = await open_end()
            self.pipes[int(m["pipe"])] = (int(m["ch"]), PipeOut(end))
            return {"port": end.port}
        if op == "pipe_connect":
            channel, pipe = self.pipes[int(m["pipe"])]
            room = self._room({"ch": channel})
            pipe.end.connect(int(m["port"]))
            room.pipes.append(pipe)
            tracks = []
            for track in room.published():
                number = room.numbers[track.info.id]
                pipe.attach(track, number)
                tracks.append(
                    {"track": _track(track.info), "number": number,
                     "codec": describe_codec(track.codec)}
                )  # fmt: skip
            return tracks
        if op == "open_replica":
            channel = int(m["ch"])
            self._at_once("open_room", m)
            end = await open_end()
            end.connect(int(m["from"]))
            self.inlets[channel] = PipeIn(end)
            return {"port": end.port}
        if op == "load":
            return self.load().serialize()
        if op == "drain":
            await self.drain()
            return None
        if op == "stop":
            for channel in list(self.rooms):
                self._close_room(channel)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_WAIT):
                    await self.drain()
            return None
        raise ValueError(f"unknown control request {op!r}")

    async def drain(self) -> None:
        while self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    async def report_load(self) -> None:
        while True:
            self.event(self.load().serialize())
            await asyncio.sleep(LOAD_INTERVAL)  # a reporting period, not a wait for an event


class _Pipe(asyncio.Protocol):
    def __init__(self) -> None:
        self.worker: Worker | None = None
        self._decoder = FrameDecoder()
        self.made = asyncio.Event()
        self.lost = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio's: no isinstance check here.
        self.worker = Worker(cast(asyncio.WriteTransport, transport))
        self.made.set()

    def data_received(self, data: bytes) -> None:
        assert self.worker is not None
        try:
            messages = self._decoder.feed(data)
        except (FrameTooLarge, ValueError):
            logger.exception("the control pipe sent a broken frame; stopping")
            self.lost.set()
            return
        for message in messages:
            self.worker.handle(message)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set()


async def serve_pipe(fd: int, worker_id: str) -> None:
    """Serve the control pipe on the stream socket ``fd`` until ``stop`` or the pipe closes."""
    import socket

    sock = socket.socket(fileno=fd)
    loop = asyncio.get_running_loop()
    transport, pipe = await loop.create_connection(_Pipe, sock=sock)
    await pipe.made.wait()  # uvloop calls connection_made on its next turn
    worker = pipe.worker
    assert worker is not None
    worker.event({"ev": "ready", "worker": worker_id, "pid": os.getpid()})
    reporter = asyncio.create_task(worker.report_load())
    lost = asyncio.create_task(pipe.lost.wait())
    stopped = asyncio.create_task(worker.stopped.wait())
    try:
        await asyncio.wait({lost, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (reporter, lost, stopped):
            task.cancel()
        if pipe.lost.is_set() and not worker.stopped.is_set():
            logger.info("the main process is gone; closing media and exiting")
            for channel in list(worker.rooms):
                worker._close_room(channel)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_WAIT):
                    await worker.drain()
        transport.close()
