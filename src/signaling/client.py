"""A reference meetbox client in Python (aiortc + websockets): joins with a participant
token, publishes tracks, answers the server's subscriber offers, and reports what it
receives. Tests use it to check media end to end; the bench uses it to generate load.

    client = MeetboxClient(ws_url, token)
    await client.connect()
    await client.publish({"camera": ColorTrack((255, 0, 0)), "microphone": ToneTrack(440)})
    ...
    await client.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import av
import websockets
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)

from sfu.peer import close_peer_connection
from sfu.synthetic import dominant_tone, mean_rgb

__all__ = ["MeetboxClient", "ReceivedTrack"]

logger = logging.getLogger(__name__)


@dataclass
class ReceivedTrack:
    """What arrived on one subscribed track."""

    track_id: str
    participant_id: str
    kind: str
    frames: int = 0
    first_frame_at: float | None = None
    colour: tuple[int, int, int] | None = None
    tone: float | None = None
    width: int = 0


@dataclass
class MeetboxClient:
    ws_url: str
    token: str
    #: Tones to tell apart in received audio (Hz); empty to skip audio analysis.
    tones: list[float] = field(default_factory=list)
    joined: dict[str, Any] = field(default_factory=dict)
    received: dict[str, ReceivedTrack] = field(default_factory=dict)
    #: subscriber mid -> the track id it carries now (from ``subscribe_offer``)
    mids: dict[str, str] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    #: Append every signaling message to ``messages``; a long-lived client (the recorder)
    #: turns this off and listens with ``on_message`` instead.
    keep_messages: bool = True
    #: Per received frame, sample the picture's colour and the sound's tone and wake
    #: :meth:`wait_for` (what tests and the bench look at); the recorder, which decodes
    #: everyone for the whole meeting, turns this off.
    instrument: bool = True
    #: Called on the event loop with each signaling message after ``joined``, once the client
    #: has handled it. It must not block; an exception it raises is logged.
    on_message: Callable[[dict[str, Any]], None] | None = None
    #: Called on the event loop with ``(track_id, participant_id, frame)`` for each decoded
    #: frame. It must not block; an exception it raises is logged and the track goes on.
    on_frame: Callable[[str, str, av.VideoFrame | av.AudioFrame], None] | None = None
    ice_connected_at: float | None = None
    closed_with: tuple[int, str] | None = None

    def __post_init__(self) -> None:
        config = RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        self.publisher = RTCPeerConnection(config)
        self.subscriber = RTCPeerConnection(config)
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._consumers: list[asyncio.Task[None]] = []
        self._answers: asyncio.Queue[str] = asyncio.Queue()
        self._changed = asyncio.Condition()
        #: source -> its publisher transceiver
        self._published: dict[str, Any] = {}
        self.subscriber.on("track", self._on_track)
        self.subscriber.on("iceconnectionstatechange", self._on_ice_state)

    # -- connection ------------------------------------------------------------------------

    async def connect(self) -> dict[str, Any]:
        self._ws = await websockets.connect(self.ws_url, max_size=1 << 20)
        await self.send(type="join", token=self.token)
        first: dict[str, Any] = json.loads(await self._ws.recv())
        if first["type"] != "joined":
            raise ConnectionError(f"not admitted: {first}")
        self.joined = first
        self._reader = asyncio.create_task(self._read())
        return first

    async def send(self, **message: Any) -> None:
        await self._ws.send(json.dumps(message))

    async def publish(self, tracks: dict[str, MediaStreamTrack]) -> None:
        """Publish ``{source: track}`` (sources: microphone, camera, screen). A source
        published before (and maybe unpublished since) keeps its m-line."""
        for source, track in tracks.items():
            transceiver = self._published.get(source)
            if transceiver is None:
                self._published[source] = self.publisher.addTransceiver(track, direction="sendonly")
            else:
                transceiver.sender.replaceTrack(track)
                transceiver.direction = "sendonly"
        await self._offer()

    async def unpublish(self, source: str) -> None:
        """Stop publishing ``source``: its m-line goes inactive; the others see it go."""
        self._published[source].direction = "inactive"
        await self._offer()

    async def _offer(self) -> None:
        await self.publisher.setLocalDescription(await self.publisher.createOffer())
        mids = {t.mid: source for source, t in self._published.items() if t.mid is not None}
        await self.send(type="publish_offer", sdp=self.publisher.localDescription.sdp, sources=mids)
        answer = await self._answers.get()
        if not answer:
            last = self.messages[-1] if self.messages else "(messages not kept)"
            raise ConnectionError(f"publishing refused: {last}")
        await self.publisher.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    async def wait_for(self, predicate: Callable[[MeetboxClient], bool]) -> None:
        """Return once ``predicate(self)`` holds; wrap in ``asyncio.timeout``."""
        async with self._changed:
            await self._changed.wait_for(lambda: predicate(self))

    async def close(self) -> None:
        for task in [*self._consumers, *([self._reader] if self._reader else [])]:
            task.cancel()
        await asyncio.gather(*self._consumers, return_exceptions=True)
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._ws is not None:
            await self._ws.close()
        await close_peer_connection(self.publisher)
        await close_peer_connection(self.subscriber)

    # -- internals -------------------------------------------------------------------------

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _on_ice_state(self) -> None:
        if self.subscriber.iceConnectionState == "completed" and self.ice_connected_at is None:
            self.ice_connected_at = time.monotonic()

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                message = json.loads(raw)
                if self.keep_messages:
                    self.messages.append(message)
                kind = message["type"]
                if kind == "publish_answer":
                    self._answers.put_nowait(message["sdp"])
                elif kind == "subscribe_offer":
                    self.mids.update(message.get("tracks", {}))
                    await self._answer(message["sdp"])
                elif kind == "error" and message.get("code") in ("invalid_sdp", "forbidden"):
                    self._answers.put_nowait("")
                if self.on_message is not None:
                    try:
                        self.on_message(message)
                    except Exception:
                        logger.exception("on_message failed for a %s message", kind)
                await self._notify()
        except websockets.ConnectionClosed:
            pass
        finally:
            if self._ws is not None and self._ws.close_code is not None:
                self.closed_with = (self._ws.close_code, self._ws.close_reason or "")
            await self._notify()

    async def _answer(self, sdp: str) -> None:
        await self.subscriber.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await self.subscriber.setLocalDescription(await self.subscriber.createAnswer())
        await self.send(type="subscribe_answer", sdp=self.subscriber.localDescription.sdp)

    def _on_track(self, track: MediaStreamTrack) -> None:
        mid = next(
            (t.mid for t in self.subscriber.getTransceivers() if t.receiver.track is track), None
        )
        self._consumers.append(asyncio.create_task(self._consume(track, mid)))

    def _received(self, track: MediaStreamTrack, mid: str | None) -> ReceivedTrack:
        """Whose track arrives on ``mid`` now: the server reuses an m-line for a new track
        once the old one is gone, and says so in ``subscribe_offer``."""
        track_id = self.mids.get(mid, track.id) if mid is not None else track.id
        received = self.received.get(track_id)
        if received is None:
            participant_id = track_id.rsplit(":", 1)[0]
            received = self.received[track_id] = ReceivedTrack(track_id, participant_id, track.kind)
        return received

    async def _consume(self, track: MediaStreamTrack, mid: str | None) -> None:
        with contextlib.suppress(Exception):
            while True:
                frame = await track.recv()
                received = self._received(track, mid)
                if self.on_frame is not None and isinstance(frame, av.VideoFrame | av.AudioFrame):
                    try:
                        self.on_frame(received.track_id, received.participant_id, frame)
                    except Exception:
                        logger.exception("on_frame failed for track %s", received.track_id)
                received.frames += 1
                if received.first_frame_at is None:
                    received.first_frame_at = time.monotonic()
                if not self.instrument:
                    continue
                if isinstance(frame, av.VideoFrame):
                    received.width = frame.width
                    if received.frames % 5 == 1:
                        received.colour = mean_rgb(frame)
                elif isinstance(frame, av.AudioFrame) and self.tones and received.frames % 10 == 1:
                    received.tone = dominant_tone(frame, self.tones)
                await self._notify()
