"""Pipes between media workers, the asyncio side (the datagrams: :mod:`sfu.pipe`).

On the worker that owns a room, a :class:`PipeOut` makes each published track send to the
pipe through a :class:`PipeOutput`: one more output of the track's router, which starts it on
a keyframe and renumbers it like any subscriber's stream, and keeps what it sent to answer
the far side's NACKs. On the worker serving more of the room's subscribers, a :class:`PipeIn`
hands each packet to a :class:`PipedTrack`, a published track without a publisher: its
router forwards to that worker's subscribers, and its keyframe requests and NACKs go back up
the pipe. Each end takes datagrams from the other end's address only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, cast

from aiortc import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from sfu.forwarding import HISTORY_SIZE, StreamRewriter
from sfu.guard import Drop
from sfu.listener import TrackInfo
from sfu.pipe import (
    PIPE_EXT_IDS,
    KeyframeWanted,
    Missing,
    PipeMessage,
    SenderTime,
    encode_keyframe,
    encode_nack,
    encode_rtp,
    encode_sender_time,
    parse,
)
from sfu.router import NACK
from sfu.speaker import ActiveSpeaker
from sfu.stats import STATS
from sfu.track import PublishedTrack, TrackOutput

__all__ = [
    "PIPE_SSRC",
    "PipeEnd",
    "PipeIn",
    "PipeOut",
    "PipeOutput",
    "PipedTrack",
    "codec_of",
    "describe_codec",
    "open_end",
]

logger = logging.getLogger(__name__)

#: The SSRC a piped stream has on the far side (one stream per track: the owner's router
#: already made it continuous).
PIPE_SSRC = 1
_HOST = "127.0.0.1"


def describe_codec(codec: RTCRtpCodecParameters) -> dict[str, Any]:
    return {
        "mime": codec.mimeType,
        "clock": codec.clockRate,
        "channels": codec.channels,
        "pt": codec.payloadType,
        "params": {str(k): v for k, v in codec.parameters.items()},
    }


def codec_of(description: dict[str, Any]) -> RTCRtpCodecParameters:
    channels = description.get("channels")
    return RTCRtpCodecParameters(
        mimeType=str(description["mime"]),
        clockRate=int(description["clock"]),
        channels=int(channels) if channels is not None else None,
        payloadType=int(description["pt"]),
        parameters=dict(description.get("params") or {}),
    )


class PipeEnd(asyncio.DatagramProtocol):
    """One end of a pipe: a UDP socket on loopback that talks to the other end only."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        #: The other end's address, once known; datagrams from anywhere else are dropped.
        self.peer: tuple[str, int] | None = None
        self.handler: Any = None

    @property
    def port(self) -> int:
        assert self.transport is not None
        port: int = self.transport.get_extra_info("sockname")[1]
        return port

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def connect(self, port: int) -> None:
        self.peer = (_HOST, port)

    def send(self, data: bytes) -> None:
        transport, peer = self.transport, self.peer
        if transport is not None and peer is not None:
            transport.sendto(data, peer)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if addr != self.peer or self.handler is None:
            STATS.dropped_datagrams[Drop.STRANGER.value] += 1
            return
        try:
            message = parse(data)
        except ValueError:
            STATS.dropped_datagrams[Drop.MALFORMED_RTP.value] += 1
            return
        self.handler(message)

    def error_received(self, exc: Exception) -> None:
        STATS.dropped_datagrams[Drop.RECEIVE_ERROR.value] += 1

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None


async def open_end() -> PipeEnd:
    loop = asyncio.get_running_loop()
    _, end = await loop.create_datagram_endpoint(PipeEnd, local_addr=(_HOST, 0))
    return end


# -- the owner's side ------------------------------------------------------------------------


class PipeOutput(TrackOutput):
    """A published track's stream into a pipe."""

    __slots__ = ("_end", "index", "sent", "track")

    def __init__(self, end: PipeEnd, track: PublishedTrack, index: int) -> None:
        step = 3000 if track.is_video else 960
        super().__init__(
            StreamRewriter(PIPE_SSRC, 1, 0, step), HISTORY_SIZE if track.is_video else 1
        )
        self._end = end
        self.track = track
        self.index = index
        self.payload_type = track.codec.payloadType or 0
        self.ext_ids = PIPE_EXT_IDS
        self.ready = True
        self.sent = 0

    def transmit(self, second: int, seq: int, ts: int, elements: bytes, payload: bytes) -> None:
        self._end.send(encode_rtp(self.index, second, seq, ts, elements, payload))
        self.sent += 1
        STATS.piped_packets += 1

    def sender_report(self, ntp_timestamp: int, rtp_timestamp: int) -> None:
        self._end.send(encode_sender_time(self.index, ntp_timestamp, rtp_timestamp))


class PipeOut:
    """Every published track of a room, piped to one other worker."""

    def __init__(self, end: PipeEnd) -> None:
        self.end = end
        self.outputs: dict[int, PipeOutput] = {}
        end.handler = self._received

    def attach(self, track: PublishedTrack, index: int) -> None:
        if index in self.outputs:
            return
        output = PipeOutput(self.end, track, index)
        self.outputs[index] = output
        track.forwards.append(output)
        track.request_keyframe(track.clock(), output)

    def detach(self, index: int) -> None:
        output = self.outputs.pop(index, None)
        if output is not None:
            output.track.remove_forward(output)

    def _received(self, message: PipeMessage) -> None:
        if isinstance(message, KeyframeWanted):
            output = self.outputs.get(message.index)
            if output is not None:
                output.track.request_keyframe(output.track.clock(), output)
        elif isinstance(message, Missing):
            output = self.outputs.get(message.index)
            if output is not None:
                for seq in message.seqs:
                    sent = output.history.get(seq)
                    if sent is not None:
                        second, ts, elements, payload = sent
                        output.transmit(second, seq, ts, elements, payload)

    def close(self) -> None:
        for index in list(self.outputs):
            self.detach(index)
        self.end.close()


# -- the far side ----------------------------------------------------------------------------


class PipedTrack(PublishedTrack):
    """A track published on another worker, relayed here from a pipe."""

    __slots__ = ("_end", "index")

    def __init__(
        self,
        info: TrackInfo,
        codec: RTCRtpCodecParameters,
        index: int,
        end: PipeEnd,
        speaker: ActiveSpeaker,
    ) -> None:
        super().__init__(info, None, None, codec, None, time.monotonic, speaker=speaker)
        self.index = index
        self._end = end

    def take_rtp(self) -> None:
        """Its packets come from the pipe (:meth:`receive`)."""

    def receive(self, packet: RtpPacket) -> None:
        router = self.router
        actions = router.receive_rtp(packet, self.clock())
        if not actions:
            return
        if actions & NACK:
            self._end.send(encode_nack(self.index, router.missing()))
        self._act(actions)

    def _send_pli(self) -> None:
        self._end.send(encode_keyframe(self.index))


class PipeIn:
    """The tracks one pipe brings to a room of this worker."""

    def __init__(self, end: PipeEnd) -> None:
        self.end = end
        self.tracks: dict[int, PipedTrack] = {}
        end.handler = self._received

    def _received(self, message: PipeMessage) -> None:
        if isinstance(message, tuple):
            index, packet = message
            track = self.tracks.get(index)
            if track is not None:
                packet.ssrc = PIPE_SSRC
                track.receive(packet)
        elif isinstance(message, SenderTime):
            track = self.tracks.get(message.index)
            if track is not None:
                track.report_time(PIPE_SSRC, message.ntp_timestamp, message.rtp_timestamp)

    def close(self) -> None:
        self.end.close()
