"""A reference meetbox client in Python (aiortc + websockets): joins with a participant
token, publishes tracks, answers the server's subscriber offers, and reports what it
receives. Tests use it to check media end to end; the bench uses it to generate load; the
recorder joins with it. It speaks :mod:`signaling.wire`: it sends the client message models
and reads every frame with the server message models (a type it does not know, from a newer
server, is logged at debug level and skipped).

    client = MeetboxClient(ws_url, token)
    await client.connect()
    await client.publish({"camera": ColorTrack((255, 0, 0)), "microphone": ToneTrack(440)})
    ...
    await client.close()

On ``media_reset`` (the meeting's media moved) it closes both peer connections, makes fresh
ones, sends ``media_ready``, publishes again what it was publishing (the same track objects)
and answers the new ``subscribe_offer``; :attr:`received` keeps its entries (a track that
comes back, usually under the same id, counts on), and :attr:`resets` counts the resets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
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
from signaling.wire import (
    ClientMessage,
    Error,
    ErrorCode,
    Join,
    Joined,
    MediaReady,
    MediaReset,
    PublishAnswer,
    PublishOffer,
    Resume,
    ServerMessage,
    ServerMessageError,
    Source,
    SubscribeAnswer,
    SubscribeOffer,
    UnknownServerMessage,
    client_message,
    decode_server_frame,
    parse_server_object,
)

__all__ = ["MeetboxClient", "ReceivedTrack"]

logger = logging.getLogger(__name__)


class _Sending(MediaStreamTrack):
    """What a publisher connection sends: ``source``'s frames. aiortc stops a sender's track
    when its connection ends (closed here, or by the far end); then this one stops and the
    source goes on, to be sent again on fresh connections after a media reset."""

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self.kind = source.kind
        self.source = source

    async def recv(self) -> Any:
        return await self.source.recv()


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
    #: The ``joined`` message as received (a JSON object); :attr:`snapshot` is it, typed.
    joined: dict[str, Any] = field(default_factory=dict)
    #: The ``joined`` snapshot, once admitted.
    snapshot: Joined | None = None
    received: dict[str, ReceivedTrack] = field(default_factory=dict)
    #: subscriber mid -> the track id it carries now (from ``subscribe_offer``)
    mids: dict[str, str] = field(default_factory=dict)
    #: Every signaling message after ``joined`` that is a JSON object, as received (for
    #: tests that look at the wire), whether or not this version knows its type.
    messages: list[dict[str, Any]] = field(default_factory=list)
    #: Append every signaling message to ``messages``; a long-lived client (the recorder)
    #: turns this off and listens with ``on_message`` instead.
    keep_messages: bool = True
    #: Per received frame, sample the picture's colour and the sound's tone and wake
    #: :meth:`wait_for` (what tests and the bench look at); the recorder, which decodes
    #: everyone for the whole meeting, turns this off.
    instrument: bool = True
    #: Called on the event loop with each signaling message after ``joined`` (of a type this
    #: version knows), once the client has handled it. It must not block; an exception it
    #: raises is logged.
    on_message: Callable[[ServerMessage], None] | None = None
    #: Called on the event loop with ``(track_id, participant_id, frame)`` for each decoded
    #: frame. It must not block; an exception it raises is logged and the track goes on.
    on_frame: Callable[[str, str, av.VideoFrame | av.AudioFrame], None] | None = None
    ice_connected_at: float | None = None
    closed_with: tuple[int, str] | None = None
    #: ``media_reset``s handled so far.
    resets: int = 0

    def __post_init__(self) -> None:
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._consumers: list[asyncio.Task[None]] = []
        #: work a media reset started: old connections closing, publishing again
        self._tasks: set[asyncio.Task[None]] = set()
        #: The answer the publish offer in flight waits for ("" refused, None reset).
        self._publish_answer: asyncio.Future[str | None] | None = None
        self._offering = asyncio.Lock()
        self._changed = asyncio.Condition()
        #: source -> its publisher transceiver
        self._published: dict[str, Any] = {}
        #: source -> the track published for it (what a media reset publishes again)
        self._tracks: dict[str, MediaStreamTrack] = {}
        self._new_connections()

    def _new_connections(self) -> None:
        config = RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        self.publisher = RTCPeerConnection(config)
        subscriber = self.subscriber = RTCPeerConnection(config)
        subscriber.on("track", lambda track: self._on_track(subscriber, track))
        subscriber.on("iceconnectionstatechange", self._on_ice_state)

    # -- connection ------------------------------------------------------------------------

    async def connect(self) -> dict[str, Any]:
        """Join; returns the ``joined`` message as received (:attr:`snapshot` has it typed).
        Raises :class:`ConnectionError` when not admitted."""
        self._ws = await websockets.connect(self.ws_url, max_size=1 << 20)
        await self.send(Join(token=self.token))
        try:
            first = decode_server_frame(await self._ws.recv())
            if first.get("type") != "joined":
                raise ConnectionError(f"not admitted: {first}")
            snapshot = parse_server_object(first)
        except ServerMessageError as exc:
            raise ConnectionError(f"not admitted: unreadable joined: {exc}") from exc
        assert isinstance(snapshot, Joined)
        self.joined, self.snapshot = first, snapshot
        self._reader = asyncio.create_task(self._read())
        return first

    async def drop(self) -> None:
        """Lose the WebSocket without ``leave`` (as a network drop would), keeping the peer
        connections: :meth:`resume` brings the participant back within the window."""
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
        if self._ws is not None:
            await self._ws.close()

    async def resume(self) -> dict[str, Any]:
        """Come back after :meth:`drop` with the resume token of the latest ``joined``;
        returns the new ``joined``. A ``media_reset`` that follows is handled as usual."""
        assert self.snapshot is not None, "resume() needs a joined session first"
        self._ws = await websockets.connect(self.ws_url, max_size=1 << 20)
        await self.send(Resume(resume_token=self.snapshot.resume_token))
        try:
            first = decode_server_frame(await self._ws.recv())
            if first.get("type") != "joined":
                raise ConnectionError(f"not resumed: {first}")
            snapshot = parse_server_object(first)
        except ServerMessageError as exc:
            raise ConnectionError(f"not resumed: unreadable joined: {exc}") from exc
        assert isinstance(snapshot, Joined)
        self.joined, self.snapshot = first, snapshot
        self._reader = asyncio.create_task(self._read())
        return first

    async def send(self, message: ClientMessage | None = None, /, **fields: Any) -> None:
        """Send ``message``, or the one ``fields`` make (``send(type="leave")``). Either way
        it is a wire model first: one the server would refuse raises ``ValueError`` here."""
        if message is None:
            message = client_message(**fields)
        elif fields:
            raise TypeError("send() takes a message or its fields, not both")
        await self._ws.send(message.serialize())

    async def publish(self, tracks: dict[str, MediaStreamTrack]) -> None:
        """Publish ``{source: track}`` (sources: microphone, camera, screen). A source
        published before (and maybe unpublished since) keeps its m-line."""
        for source, track in tracks.items():
            self._tracks[source] = track
            transceiver = self._published.get(source)
            if transceiver is None:
                self._published[source] = self.publisher.addTransceiver(
                    _Sending(track), direction="sendonly"
                )
            else:
                transceiver.sender.replaceTrack(_Sending(track))
                transceiver.direction = "sendonly"
        await self._offer()

    async def unpublish(self, source: str) -> None:
        """Stop publishing ``source``: its m-line goes inactive; the others see it go."""
        self._published[source].direction = "inactive"
        await self._offer()

    async def _offer(self) -> None:
        """Offer the publisher connection and take the answer. After a media reset under
        way this returns quietly: the reset publishes everything again on the fresh one."""
        async with self._offering:
            pc = self.publisher
            await pc.setLocalDescription(await pc.createOffer())
            if pc is not self.publisher:
                return
            mids = {
                t.mid: Source(source) for source, t in self._published.items() if t.mid is not None
            }
            waiting = self._publish_answer = asyncio.get_running_loop().create_future()
            await self.send(PublishOffer(sdp=pc.localDescription.sdp, sources=mids))
            answer = await waiting
            if answer is None or pc is not self.publisher:
                return
            if not answer:
                last = self.messages[-1] if self.messages else "(messages not kept)"
                raise ConnectionError(f"publishing refused: {last}")
            await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    def _answered(self, answer: str | None) -> None:
        waiting, self._publish_answer = self._publish_answer, None
        if waiting is not None and not waiting.done():
            waiting.set_result(answer)

    async def wait_for(self, predicate: Callable[[MeetboxClient], bool]) -> None:
        """Return once ``predicate(self)`` holds; wrap in ``asyncio.timeout``."""
        async with self._changed:
            await self._changed.wait_for(lambda: predicate(self))

    async def close(self) -> None:
        for task in [*self._consumers, *self._tasks, *([self._reader] if self._reader else [])]:
            task.cancel()
        await asyncio.gather(*self._consumers, *self._tasks, return_exceptions=True)
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._ws is not None:
            await self._ws.close()
        await close_peer_connection(self.publisher)
        await close_peer_connection(self.subscriber)
        for track in self._tracks.values():
            track.stop()  # as closing the connection used to, when it sent them itself

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
                message = self._take(raw)
                if message is not None:
                    await self._handle(message)
                await self._notify()
        except websockets.ConnectionClosed:
            pass
        finally:
            if self._ws is not None and self._ws.close_code is not None:
                self.closed_with = (self._ws.close_code, self._ws.close_reason or "")
            await self._notify()

    def _take(self, raw: str | bytes) -> ServerMessage | None:
        """Keep one frame (``messages``) and read it; ``None`` for one this client cannot
        use: a type from a newer server (debug), or one that does not fit (warning)."""
        try:
            data = decode_server_frame(raw)
        except ServerMessageError as exc:
            logger.warning("skipped an unreadable server message: %s", exc)
            return None
        if self.keep_messages:
            self.messages.append(data)
        try:
            return parse_server_object(data)
        except UnknownServerMessage as exc:
            logger.debug("skipped a %r message: unknown to this client", exc.message_type)
        except ServerMessageError as exc:
            logger.warning("skipped a server message that does not fit: %s", exc)
        return None

    async def _handle(self, message: ServerMessage) -> None:
        match message:
            case PublishAnswer(sdp=sdp):
                self._answered(sdp)
            case SubscribeOffer(sdp=sdp, tracks=tracks):
                self.mids.update(tracks)
                await self._answer(sdp)
            case Error(code=ErrorCode.INVALID_SDP | ErrorCode.FORBIDDEN):
                self._answered("")
            case MediaReset():
                await self._reset()
            # error media_reset: a message for the connections a reset replaced; ignored
        if self.on_message is not None:
            try:
                self.on_message(message)
            except Exception:
                logger.exception("on_message failed for a %s message", message.type)

    async def _answer(self, sdp: str) -> None:
        await self.subscriber.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await self.subscriber.setLocalDescription(await self.subscriber.createAnswer())
        await self.send(SubscribeAnswer(sdp=self.subscriber.localDescription.sdp))

    async def _reset(self) -> None:
        """``media_reset``: fresh connections, ``media_ready``, then publish again (in a
        task: the answer comes through this reader)."""
        self.resets += 1
        old = (self.publisher, self.subscriber)
        again = {
            source: self._tracks[source]
            for source, t in self._published.items()
            if t.direction == "sendonly"
        }
        self._published = {}
        self.mids.clear()
        self._new_connections()
        self._answered(None)  # an offer in flight was for the old connection
        self._spawn(self._close_connections(*old))
        await self.send(MediaReady())
        if again:
            self._spawn(self._publish_again(again))

    async def _publish_again(self, tracks: dict[str, MediaStreamTrack]) -> None:
        try:
            await self.publish(tracks)
        except ConnectionError as exc:
            logger.warning("publishing again after a media reset failed: %s", exc)
        except Exception:
            logger.exception("publishing again after a media reset failed")

    @staticmethod
    async def _close_connections(*pcs: RTCPeerConnection) -> None:
        for pc in pcs:
            await close_peer_connection(pc)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_track(self, subscriber: RTCPeerConnection, track: MediaStreamTrack) -> None:
        if subscriber is not self.subscriber:
            return  # the old connection, closing
        mid = next((t.mid for t in subscriber.getTransceivers() if t.receiver.track is track), None)
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
