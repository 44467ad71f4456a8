"""Synthetic media for tests and load: a solid colour and a pure tone, and the analysis that
tells them apart again on the receiving side (mean colour, Goertzel tone power). Pure
Python on PyAV frames, no numpy."""

from __future__ import annotations

import asyncio
import math
import struct
import time
from fractions import Fraction

import av
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

__all__ = ["ColorTrack", "ToneTrack", "dominant_tone", "mean_rgb"]


def _yuv(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    r, g, b = rgb
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = -0.169 * r - 0.331 * g + 0.5 * b + 128
    v = 0.5 * r - 0.419 * g - 0.081 * b + 128
    return tuple(max(0, min(255, round(c))) for c in (y, u, v))  # type: ignore[return-value]


class ColorTrack(VideoStreamTrack):
    """Frames of one solid colour, paced at 30 fps."""

    def __init__(self, rgb: tuple[int, int, int], width: int = 320, height: int = 240) -> None:
        super().__init__()
        self.rgb = rgb
        y, u, v = _yuv(rgb)
        self._planes = (
            bytes([y]) * (width * height),
            bytes([u]) * (width * height // 4),
            bytes([v]) * (width * height // 4),
        )
        self._size = (width, height)

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(*self._size, "yuv420p")
        for plane, data in zip(frame.planes, self._planes, strict=True):
            plane.update(data)
        frame.pts = pts
        frame.time_base = time_base
        return frame


class ToneTrack(AudioStreamTrack):
    """A sine tone at ``frequency`` Hz, 48 kHz mono, 20 ms frames, paced in real time."""

    def __init__(self, frequency: float, amplitude: float = 0.3) -> None:
        super().__init__()
        self.frequency = frequency
        self._amplitude = amplitude
        self._sample = 0

    async def recv(self) -> av.AudioFrame:
        rate, samples = 48000, 960
        if hasattr(self, "_timestamp"):
            self._timestamp += samples
            wait = self._start + (self._timestamp / rate) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)  # real-time pacing of a live source
        else:
            self._start = time.monotonic()
            self._timestamp = 0
        step = 2 * math.pi * self.frequency / rate
        peak = 32767 * self._amplitude
        pcm = struct.pack(
            f"<{samples}h",
            *(int(peak * math.sin(step * (self._sample + i))) for i in range(samples)),
        )
        self._sample += samples
        frame = av.AudioFrame(format="s16", layout="mono", samples=samples)
        frame.planes[0].update(pcm)
        frame.sample_rate = rate
        frame.pts = self._timestamp
        frame.time_base = Fraction(1, rate)
        return frame


def mean_rgb(frame: av.VideoFrame) -> tuple[int, int, int]:
    """The mean colour of a decoded frame (sampled on a grid, centre weighted)."""
    small = frame.reformat(width=32, height=24, format="rgb24")
    plane = small.planes[0]
    data = bytes(plane)
    stride = plane.line_size
    total = [0, 0, 0]
    count = 0
    for row in range(4, 20):
        base = row * stride
        for col in range(4, 28):
            i = base + col * 3
            total[0] += data[i]
            total[1] += data[i + 1]
            total[2] += data[i + 2]
            count += 1
    return (total[0] // count, total[1] // count, total[2] // count)


def dominant_tone(frame: av.AudioFrame, candidates: list[float]) -> float:
    """Which of ``candidates`` (Hz) is strongest in ``frame`` (Goertzel, first channel)."""
    rate = frame.sample_rate or 48000
    if frame.format.name != "s16":  # planar or float: convert; decoders mostly give s16
        frame = av.AudioResampler(format="s16", layout=frame.layout.name, rate=rate).resample(
            frame
        )[0]
    channels = len(frame.layout.channels)
    raw = bytes(frame.planes[0])[: frame.samples * channels * 2]
    samples = struct.unpack(f"<{len(raw) // 2}h", raw)[::channels]
    best, best_power = candidates[0], -1.0
    for freq in candidates:
        coeff = 2 * math.cos(2 * math.pi * freq / rate)
        s1 = s2 = 0.0
        for x in samples:
            s1, s2 = x + coeff * s1 - s2, s1
        power = s1 * s1 + s2 * s2 - coeff * s1 * s2
        if power > best_power:
            best, best_power = freq, power
    return best
