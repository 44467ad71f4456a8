"""Mixing everyone's decoded audio into one 48 kHz stereo stream, pulled at the recorder's
own pace. No I/O and no clock: frames are pushed as they arrive, samples are pulled as the
recording timeline asks for them.

aiortc's Opus decoder gives packed s16 stereo at 48 kHz, 960 samples per frame; anything
else is resampled on the way in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import av
import numpy as np
import numpy.typing as npt

__all__ = ["CHANNELS", "RATE", "Mixer"]

RATE = 48000
CHANNELS = 2
#: Most audio buffered per track; older samples are dropped beyond it.
MAX_BUFFER_S = 0.5
#: A track plays once this much is buffered (and again after running dry): it absorbs the
#: jitter between frames arriving and the timeline pulling.
PREBUFFER_S = 0.06
#: Peak the mix is limited to (full scale is 1.0).
CEILING = 0.98
#: How fast the limiter's gain recovers towards 1 per pulled chunk (0..1).
RELEASE = 0.05

Samples = npt.NDArray[np.float32]


@dataclass(slots=True)
class _Buffer:
    #: (n, 2) float32 chunks, oldest first
    chunks: list[Samples] = field(default_factory=list)
    size: int = 0
    playing: bool = False
    resampler: av.AudioResampler | None = None


def _samples(frame: av.AudioFrame) -> Samples:
    """``frame`` (packed s16 stereo 48 kHz) as an (n, 2) float32 array in [-1, 1]."""
    data = np.frombuffer(bytes(frame.planes[0]), dtype=np.int16)[: frame.samples * CHANNELS]
    return (data.reshape(-1, CHANNELS).astype(np.float32)) / 32768.0


class Mixer:
    """Per-track bounded buffers summed on ``pull``."""

    def __init__(self, max_buffer_s: float = MAX_BUFFER_S, prebuffer_s: float = PREBUFFER_S):
        self._max = int(RATE * max_buffer_s)
        self._prebuffer = int(RATE * prebuffer_s)
        self._buffers: dict[str, _Buffer] = {}
        self._gain = 1.0
        #: Samples dropped because a buffer was full (a track faster than the timeline).
        self.dropped = 0

    def push(self, track_id: str, frame: av.AudioFrame) -> None:
        """Queue a decoded frame from ``track_id``."""
        buffer = self._buffers.setdefault(track_id, _Buffer())
        frames = [frame]
        if (
            frame.format.name != "s16"
            or frame.layout.name != "stereo"
            or (frame.sample_rate or RATE) != RATE
        ):
            if buffer.resampler is None:
                buffer.resampler = av.AudioResampler(format="s16", layout="stereo", rate=RATE)
            frames = buffer.resampler.resample(frame)
        for f in frames:
            self.push_samples(track_id, _samples(f))

    def push_samples(self, track_id: str, samples: Samples) -> None:
        """Queue (n, 2) float samples from ``track_id``."""
        if len(samples) == 0:
            return
        buffer = self._buffers.setdefault(track_id, _Buffer())
        buffer.chunks.append(samples)
        buffer.size += len(samples)
        excess = buffer.size - self._max
        while excess > 0:
            head = buffer.chunks[0]
            if len(head) <= excess:
                buffer.chunks.pop(0)
                cut = len(head)
            else:
                buffer.chunks[0] = head[excess:]
                cut = excess
            buffer.size -= cut
            excess -= cut
            self.dropped += cut

    def remove(self, track_id: str) -> None:
        self._buffers.pop(track_id, None)

    def buffered(self, track_id: str) -> int:
        """Samples waiting from ``track_id``."""
        buffer = self._buffers.get(track_id)
        return buffer.size if buffer is not None else 0

    def _take(self, buffer: _Buffer, n: int, out: Samples) -> None:
        """Add up to ``n`` samples of ``buffer`` into ``out``."""
        if not buffer.playing:
            if buffer.size < self._prebuffer:
                return
            buffer.playing = True
        done = 0
        while done < n and buffer.chunks:
            head = buffer.chunks[0]
            take = min(len(head), n - done)
            out[done : done + take] += head[:take]
            if take == len(head):
                buffer.chunks.pop(0)
            else:
                buffer.chunks[0] = head[take:]
            buffer.size -= take
            done += take
        if done < n:
            buffer.playing = False  # ran dry: wait for the prebuffer again

    def pull(self, n: int) -> Samples:
        """The next ``n`` samples of the mix, (n, 2) float32 within +-CEILING; silence where
        nobody has anything."""
        out = np.zeros((n, CHANNELS), dtype=np.float32)
        if n <= 0:
            return out
        for buffer in self._buffers.values():
            self._take(buffer, n, out)
        peak = float(np.max(np.abs(out))) if self._buffers else 0.0
        # Limiter: the gain drops at once to keep the peak under the ceiling, and recovers
        # slowly, ramped across the chunk so it does not click.
        target = min(1.0, CEILING / peak) if peak > 0 else 1.0
        start = self._gain
        end = target if target < start else min(target, start + (1.0 - start) * RELEASE + 1e-3)
        if start != 1.0 or end != 1.0:
            ramp = np.linspace(start, end, n, dtype=np.float32)[:, None]
            if end < start:
                ramp[:] = end  # attack at once
            out *= ramp
        self._gain = end
        np.clip(out, -CEILING, CEILING, out=out)
        return out
