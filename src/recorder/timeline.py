"""The recording's clock: which video slot and how many audio samples are due at ``now``,
when to report progress or look at the disk, and why the recording stops. No I/O; ``now``
is a monotonic time in seconds passed in by the caller.

Video frame ``n`` has pts ``n`` (time base 1/fps) and stands for wall time ``start + n/fps``;
audio pts is the sample count at 48 kHz. A caller that falls behind skips video slots
instead of drifting, so the media duration stays the wall-clock duration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["StopReason", "Tick", "Timeline"]


class StopReason(StrEnum):
    STOPPED = "stopped"
    MEETING_ENDED = "meeting_ended"
    MAX_DURATION = "max_duration"


@dataclass(frozen=True, slots=True)
class Tick:
    #: The video slot to render now, or None when it was already rendered.
    video_pts: int | None
    #: Video slots passed over since the previous one rendered (the caller was late).
    skipped: int
    #: Audio samples to append now.
    audio_samples: int
    #: Time to report progress.
    progress: bool
    #: Time to look at the free disk space.
    check_disk: bool
    #: Set once the recording is to stop: finish with this reason.
    stop: StopReason | None


class Timeline:
    def __init__(
        self,
        fps: int,
        rate: int = 48000,
        max_seconds: float | None = None,
        progress_every: float = 5.0,
        disk_every: float = 2.0,
    ) -> None:
        self.fps = fps
        self.rate = rate
        self.max_seconds = max_seconds
        self.progress_every = progress_every
        self.disk_every = disk_every
        self.start: float | None = None
        self.stop_reason: StopReason | None = None
        #: Last video slot handed out (-1: none yet).
        self.last_pts = -1
        self.frames = 0
        self.skipped = 0
        self.samples = 0
        self._next_progress = 0.0
        self._next_disk = 0.0

    def begin(self, now: float) -> None:
        self.start = now
        self._next_progress = now + self.progress_every
        self._next_disk = now + self.disk_every

    def request_stop(self, reason: StopReason) -> None:
        """Stop with ``reason``, unless a stop was requested already (the first wins)."""
        if self.stop_reason is None:
            self.stop_reason = reason

    def elapsed(self, now: float) -> float:
        if self.start is None:
            return 0.0
        elapsed = now - self.start
        if self.max_seconds is not None:
            elapsed = min(elapsed, self.max_seconds)
        return max(0.0, elapsed)

    def media_duration(self) -> float:
        """Seconds of media handed out so far (video slots up to the last one)."""
        return max((self.last_pts + 1) / self.fps, self.samples / self.rate)

    def next_deadline(self) -> float:
        """When the next video slot starts."""
        if self.start is None:
            raise RuntimeError("the timeline has not begun")
        return self.start + (self.last_pts + 1) / self.fps

    def tick(self, now: float) -> Tick:
        if self.start is None:
            raise RuntimeError("the timeline has not begun")
        if (
            self.max_seconds is not None
            and now - self.start >= self.max_seconds
            and self.stop_reason is None
        ):
            self.stop_reason = StopReason.MAX_DURATION
        elapsed = self.elapsed(now)
        slot = math.floor(elapsed * self.fps + 1e-9)
        if self.max_seconds is not None:
            slot = min(slot, math.ceil(self.max_seconds * self.fps) - 1)
        video_pts = None
        skipped = 0
        if slot > self.last_pts:
            skipped = slot - self.last_pts - 1
            self.skipped += skipped
            self.last_pts = video_pts = slot
            self.frames += 1
        target = math.floor(elapsed * self.rate + 1e-6)
        samples = max(0, target - self.samples)
        self.samples += samples
        progress = now >= self._next_progress
        if progress:
            self._next_progress = now + self.progress_every
        check_disk = now >= self._next_disk
        if check_disk:
            self._next_disk = now + self.disk_every
        return Tick(video_pts, skipped, samples, progress, check_disk, self.stop_reason)
