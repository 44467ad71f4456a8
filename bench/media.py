"""Cheap synthetic media for the load generator, and packet counting without decoding.

Publishers: a short clip is encoded once per codec and resolution with PyAV (noise, so the
encoder runs at its target bitrate), and :class:`ClipTrack` loops its packets into aiortc as
``av.Packet`` objects (aiortc packetizes them as they are: no encoding per publisher). The clip
also exists as all-keyframes: after a PLI or FIR the next frame comes from that copy, so a
publisher answers keyframe requests like a live encoder would (nobody decodes the result).

Subscribers: :class:`Stream` replaces an ``RTCRtpReceiver``'s packet handler, so packets are
counted (sequence gaps, RFC 3550 jitter, the first keyframe) and never decoded. Forwarding
latency matches each received payload's tail to the time its publisher sent it; that works for
SFUs that forward payloads unchanged (meetbox, Janus), not for a relay that re-encodes.
"""

from __future__ import annotations

import asyncio
import fractions
import os
import time
from dataclasses import dataclass, field
from typing import Any

import av
from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtcpPsfbPacket, RtcpRtpfbPacket

FPS = 30
CLIP_SECONDS = 4
VIDEO_CLOCK = 90000
AUDIO_CLOCK = 48000
#: bytes at the end of a payload that identify it (per publisher) for the latency match
TAIL = 16

RESOLUTIONS = {"180p": (320, 180), "360p": (640, 360), "720p": (1280, 720)}
BITRATES = {"180p": 300_000, "360p": 800_000, "720p": 2_000_000}


@dataclass
class Clip:
    kind: str  # "audio" | "video"
    codec: str  # "opus" | "vp8" | "h264"
    packets: list[bytes]
    keyframes: list[bytes]  # the same frames, each encoded as a keyframe (video only)
    is_key: list[bool]
    step: int  # RTP clock ticks per packet
    clock: int


_CLIPS: dict[tuple[str, str], Clip] = {}


def _noise_frames(width: int, height: int, count: int) -> list[av.VideoFrame]:
    # A moving window over one noise buffer: different frames, cheap to make.
    size = width * height
    noise = bytes(96 + (b & 0x3F) for b in os.urandom(size * 2))
    frames = []
    for i in range(count):
        frame = av.VideoFrame(width, height, "yuv420p")
        off = (i * 7919) % size
        frame.planes[0].update(noise[off : off + size])
        frame.planes[1].update(bytes([128]) * (size // 4))
        frame.planes[2].update(bytes([128]) * (size // 4))
        frames.append(frame)
    return frames


def _encode_video(codec: str, resolution: str, gop: int) -> tuple[list[bytes], list[bool]]:
    width, height = RESOLUTIONS[resolution]
    name = "libvpx" if codec == "vp8" else "libx264"
    ctx = av.CodecContext.create(name, "w")
    ctx.width, ctx.height = width, height
    ctx.pix_fmt = "yuv420p"
    ctx.time_base = fractions.Fraction(1, FPS)
    ctx.framerate = fractions.Fraction(FPS, 1)
    ctx.bit_rate = BITRATES[resolution]
    ctx.gop_size = gop
    if codec == "vp8":
        rate = str(BITRATES[resolution])
        ctx.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0",
                       "minrate": rate, "maxrate": rate, "bufsize": rate, "qmax": "63"}  # fmt: skip
    else:
        ctx.profile = "Baseline"
        ctx.options = {"preset": "ultrafast", "tune": "zerolatency", "bf": "0"}
    packets: list[bytes] = []
    keys: list[bool] = []
    for i, frame in enumerate(_noise_frames(width, height, FPS * CLIP_SECONDS)):
        frame.pts = i
        frame.time_base = ctx.time_base
        for packet in ctx.encode(frame):
            packets.append(bytes(packet))
            keys.append(bool(packet.is_keyframe))
    for packet in ctx.encode(None):
        packets.append(bytes(packet))
        keys.append(bool(packet.is_keyframe))
    return packets, keys


def _encode_audio() -> list[bytes]:
    ctx = av.CodecContext.create("libopus", "w")
    ctx.sample_rate = AUDIO_CLOCK
    ctx.layout = "mono"
    ctx.format = "s16"
    ctx.bit_rate = 32000
    ctx.time_base = fractions.Fraction(1, AUDIO_CLOCK)
    packets: list[bytes] = []
    samples = 960
    for i in range(CLIP_SECONDS * 50):
        frame = av.AudioFrame(format="s16", layout="mono", samples=samples)
        # quiet noise: every packet differs, so payload tails identify packets
        frame.planes[0].update(bytes(b & 0x0F for b in os.urandom(samples * 2)))
        frame.sample_rate = AUDIO_CLOCK
        frame.pts = i * samples
        frame.time_base = ctx.time_base
        packets.extend(bytes(p) for p in ctx.encode(frame))
    packets.extend(bytes(p) for p in ctx.encode(None))
    return packets


def clip(kind: str, codec: str = "vp8", resolution: str = "180p") -> Clip:
    """The clip for ``kind`` (encoded on first use, then cached in this process)."""
    key = (kind, f"{codec}-{resolution}" if kind == "video" else "opus")
    if key not in _CLIPS:
        if kind == "audio":
            packets = _encode_audio()
            _CLIPS[key] = Clip("audio", "opus", packets, packets, [True] * len(packets), 960,
                               AUDIO_CLOCK)  # fmt: skip
        else:
            packets, keys = _encode_video(codec, resolution, gop=FPS * CLIP_SECONDS)
            intra, _ = _encode_video(codec, resolution, gop=1)
            intra = (intra + packets)[: len(packets)]
            _CLIPS[key] = Clip("video", codec, packets, intra, keys, VIDEO_CLOCK // FPS,
                               VIDEO_CLOCK)  # fmt: skip
    return _CLIPS[key]


class ClipTrack(MediaStreamTrack):
    """Loops a :class:`Clip`'s packets in real time as ``av.Packet`` (no encoding)."""

    def __init__(self, source: Clip) -> None:
        super().__init__()
        self.kind = source.kind
        self.clip = source
        self._index = 0
        self._start: float | None = None
        self._time_base = fractions.Fraction(1, source.clock)
        self.want_keyframe = False
        self.sent_frames = 0

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._index * self.clip.step / self.clip.clock
        wait = due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)  # a live source's pacing
        i = self._index % len(self.clip.packets)
        if self.want_keyframe and not self.clip.is_key[i]:
            data = self.clip.keyframes[i]
        else:
            data = self.clip.packets[i]
        self.want_keyframe = False
        packet = av.Packet(data)
        packet.pts = self._index * self.clip.step
        packet.time_base = self._time_base
        self._index += 1
        self.sent_frames += 1
        return packet


@dataclass
class Feedback:
    """RTCP feedback a publisher received from the server."""

    nacks: int = 0
    plis: int = 0
    sent_packets: int = 0
    sent_bytes: int = 0


def watch_sender(pc: RTCPeerConnection, sent: dict[bytes, float], feedback: Feedback) -> None:
    """Record the send time of each RTP payload of ``pc`` (keyed by its tail) and count the
    NACKs and PLI/FIRs its senders receive; a PLI makes the track send a keyframe next."""
    senders = pc.getSenders()
    if not senders:
        return
    transport = senders[0].transport
    if not getattr(transport, "_bench_watched", False):
        original = transport._send_rtp

        async def send_rtp(data: bytes) -> None:
            sent[data[-TAIL:]] = time.monotonic()
            feedback.sent_packets += 1
            feedback.sent_bytes += len(data)
            await original(data)

        transport._send_rtp = send_rtp
        transport._bench_watched = True
    for sender in senders:
        if getattr(sender, "_bench_watched", False):
            continue
        sender._bench_watched = True
        handle = sender._handle_rtcp_packet
        track = sender.track

        async def on_rtcp(packet: Any, handle: Any = handle, track: Any = track) -> None:
            if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == 1:
                feedback.nacks += len(packet.lost)
            elif isinstance(packet, RtcpPsfbPacket) and packet.fmt in (1, 4):
                feedback.plis += 1
                if isinstance(track, ClipTrack):
                    track.want_keyframe = True
            await handle(packet)

        sender._handle_rtcp_packet = on_rtcp


def is_keyframe_start(codec: str, payload: bytes) -> bool:
    """Whether an RTP payload starts a keyframe (VP8 or H.264), from its first bytes."""
    if not payload:
        return False
    if codec == "vp8":
        b0 = payload[0]
        if not b0 & 0x10 or b0 & 0x07:  # not the start of partition 0
            return False
        i = 1
        if b0 & 0x80:
            x = payload[1]
            i = 2
            if x & 0x80:
                i += 2 if payload[i] & 0x80 else 1
            if x & 0x40:
                i += 1
            if x & 0x30:
                i += 1
        return len(payload) > i and not payload[i] & 0x01
    if codec == "h264":
        nal = payload[0] & 0x1F
        if nal in (5, 7):
            return True
        if nal == 24 and len(payload) > 3:
            return payload[3] & 0x1F in (5, 7)
        if nal == 28 and len(payload) > 1:
            return bool(payload[1] & 0x80) and payload[1] & 0x1F == 5
    return False


@dataclass
class Stream:
    """One received track, counted at the RTP level."""

    kind: str
    codec: str
    publisher: str
    since: float  # when this subscription could start (for first-RTP and first-frame times)
    sent: dict[bytes, float] | None = None  # the publisher's payload send times
    packets: int = 0
    bytes: int = 0
    first_rtp_at: float | None = None
    first_frame_at: float | None = None
    base_seq: int | None = None
    highest: int = 0  # extended sequence number
    jitter: float = 0.0
    latencies: list[float] = field(default_factory=list)
    _transit: float | None = None
    _cycles: int = 0

    def attach(self, receiver: Any) -> None:
        receiver._handle_rtp_packet = self.on_packet

    async def on_packet(self, packet: Any, arrival_time_ms: int = 0) -> None:
        now = time.monotonic()
        self.packets += 1
        payload = packet.payload
        self.bytes += len(payload) + 12
        seq = packet.sequence_number
        if self.base_seq is None:
            self.base_seq = self.highest = seq
            self.first_rtp_at = now
        else:
            ext = self._cycles + seq
            if ext < self.highest - 0x8000:
                self._cycles += 0x10000
                ext += 0x10000
            if ext > self.highest:
                self.highest = ext
        clock = VIDEO_CLOCK if self.kind == "video" else AUDIO_CLOCK
        transit = now * clock - packet.timestamp
        if self._transit is not None:
            d = abs(transit - self._transit)
            if d < clock:  # ignore timestamp wraps and jumps
                self.jitter += (d - self.jitter) / 16
        self._transit = transit
        if self.first_frame_at is None and (
            self.kind == "audio" or is_keyframe_start(self.codec, payload)
        ):
            self.first_frame_at = now
        if self.sent is not None and self.packets % 4 == 0 and len(self.latencies) < 20000:
            at = self.sent.get(payload[-TAIL:])
            if at is not None and now - at < 5:
                self.latencies.append(now - at)

    def snapshot(self) -> tuple[int, int, int]:
        """(packets, expected so far from sequence numbers, bytes)."""
        expected = self.highest - self.base_seq + 1 if self.base_seq is not None else 0
        return self.packets, expected, self.bytes
