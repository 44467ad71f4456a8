"""Encoding and muxing: H.264 + AAC into a fragmented MP4 through a file object that enforces
a byte quota and knows where the last complete fragment ends, and the faststart remux of a
finished file.

A fragment (``moof`` + ``mdat``) is cut at each keyframe, one a second, so a killed recorder
leaves a file that plays up to about its last second. On a write error the file is cut back
to the end of its last complete fragment.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import struct
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from recorder.mixer import CHANNELS, RATE

__all__ = ["BoxTracker", "MediaWriter", "OutputFile", "probe_duration", "remux_faststart"]

logger = logging.getLogger(__name__)

FRAGMENTED = "frag_keyframe+empty_moov+default_base_moof"
#: Samples per AAC frame.
AAC_FRAME = 1024
#: Top-level boxes after which the file so far is playable.
_SAFE_BOXES = frozenset({b"moov", b"mdat", b"mfra"})


class BoxTracker:
    """Follows the top-level MP4 boxes of a byte stream written front to back.

    ``safe_end``: the offset just past the last complete ``moov``, ``mdat`` or ``mfra``,
    where the file can be cut and still play. Fed in any pieces (tested a byte at a time).
    """

    def __init__(self) -> None:
        self.offset = 0
        self.safe_end = 0
        self._header = b""
        #: Offset where the current box ends, and its type (None: reading a header).
        self._box_end: int | None = None
        self._box_type = b""
        #: A box of unknown size was met: stop following.
        self.lost = False

    def feed(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view and not self.lost:
            if self._box_end is None:
                need = (16 if self._header[:4] == b"\0\0\0\1" else 8) - len(self._header)
                take = view[:need]
                self._header += bytes(take)
                self.offset += len(take)
                view = view[len(take) :]
                if len(self._header) < 8:
                    continue
                size, box_type = struct.unpack(">I4s", self._header[:8])
                if size == 1:
                    if len(self._header) < 16:
                        continue
                    size = struct.unpack(">Q", self._header[8:16])[0]
                if size < len(self._header):
                    self.lost = True  # size 0 (to the end of file) or garbage
                    return
                self._box_end = self.offset - len(self._header) + size
                self._box_type = box_type
                self._header = b""
            skip = min(len(view), self._box_end - self.offset)
            self.offset += skip
            view = view[skip:]
            if self.offset == self._box_end:
                if self._box_type in _SAFE_BOXES:
                    self.safe_end = self.offset
                self._box_end = None


class OutputFile:
    """A write-only, front-to-back file object for PyAV (no ``seek``: the muxer writes a
    stream). A write that would pass ``quota_bytes`` raises ``OSError(ENOSPC)`` and writes
    nothing, the same path a real full disk takes."""

    def __init__(self, path: Path, quota_bytes: int | None = None) -> None:
        self.path = path
        self.quota_bytes = quota_bytes
        self.written = 0
        self.boxes = BoxTracker()
        self._file = open(path, "wb", buffering=0)  # noqa: SIM115 - closed by close()

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        if self.quota_bytes is not None and self.written + len(view) > self.quota_bytes:
            raise OSError(errno.ENOSPC, f"recording quota of {self.quota_bytes} bytes reached")
        done = 0
        while done < len(view):
            n = self._file.write(view[done:])
            if not n:
                raise OSError(errno.EIO, "short write")
            self.boxes.feed(view[done : done + n])
            self.written += n
            done += n
        return done

    def flush(self) -> None:
        """Nothing is buffered here."""

    def close(self) -> None:
        self._file.close()


class MediaWriter:
    """An H.264 + AAC fragmented MP4 at ``fps`` (video pts = frame slot) and 48 kHz stereo
    (audio pts = sample count). Not thread safe: one thread uses it."""

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        fps: int,
        *,
        quota_bytes: int | None = None,
        preset: str = "superfast",
        threads: int = 1,
        crf: int = 23,
        audio_bitrate: int = 128_000,
    ) -> None:
        self.fps = fps
        self.file = OutputFile(path, quota_bytes)
        try:
            self.container = av.open(self.file, "w", format="mp4", options={"movflags": FRAGMENTED})
            video = self.container.add_stream("libx264", rate=fps)
            video.width = width
            video.height = height
            video.pix_fmt = "yuv420p"
            video.time_base = Fraction(1, fps)
            ctx = video.codec_context
            ctx.time_base = Fraction(1, fps)
            ctx.gop_size = fps
            ctx.thread_count = threads
            # A bitrate ceiling keeps busy pictures from blowing up the file.
            maxrate = int(width * height * fps * 0.1)
            ctx.options = {
                "preset": preset,
                "tune": "zerolatency",
                "crf": str(crf),
                "maxrate": str(maxrate),
                "bufsize": str(maxrate * 2),
                "x264-params": f"keyint={fps}:min-keyint={fps}:scenecut=0",
            }
            audio = self.container.add_stream("aac", rate=RATE)
            audio.layout = "stereo"
            audio.bit_rate = audio_bitrate
            audio.time_base = Fraction(1, RATE)
            self.video = video
            self.audio = audio
        except BaseException:
            self.file.close()
            raise
        self._pending: npt.NDArray[np.float32] = np.zeros((0, CHANNELS), dtype=np.float32)
        self._audio_pts = 0
        self.video_frames = 0
        self._closed = False

    def write_video(self, frame: av.VideoFrame, pts: int) -> None:
        frame.pts = pts
        frame.time_base = Fraction(1, self.fps)
        for packet in self.video.encode(frame):
            self.container.mux(packet)
        self.video_frames += 1

    def write_audio(self, samples: npt.NDArray[np.float32]) -> None:
        """Append (n, 2) float samples; encoded in AAC frames of 1024."""
        pending = np.concatenate([self._pending, samples]) if len(self._pending) else samples
        full = len(pending) // AAC_FRAME * AAC_FRAME
        for start in range(0, full, AAC_FRAME):
            self._encode_audio(pending[start : start + AAC_FRAME])
        self._pending = pending[full:]

    def _encode_audio(self, chunk: npt.NDArray[np.float32]) -> None:
        planar = np.ascontiguousarray(chunk.T, dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout="stereo")
        frame.sample_rate = RATE
        frame.pts = self._audio_pts
        frame.time_base = Fraction(1, RATE)
        self._audio_pts += len(chunk)
        for packet in self.audio.encode(frame):
            self.container.mux(packet)

    def finish(self) -> None:
        """Flush the encoders and close the file (its last fragment and index written)."""
        if self._closed:
            return
        try:
            if len(self._pending):
                padded = np.zeros((AAC_FRAME, CHANNELS), dtype=np.float32)
                padded[: len(self._pending)] = self._pending
                self._pending = padded[:0]
                self._encode_audio(padded)
            for stream in (self.video, self.audio):
                for packet in stream.encode(None):
                    self.container.mux(packet)
            self.container.close()
        finally:
            self._closed = True
            self.file.close()

    def abort(self) -> int:
        """After a failure: finish if the disk still takes it, else cut the file back to
        its last complete fragment. Returns the file's size."""
        if not self._closed:
            try:
                self.finish()
            except (OSError, av.FFmpegError) as exc:
                logger.warning("could not finish the file cleanly: %s", exc)
                with contextlib.suppress(Exception):
                    self.container.close()
            finally:
                self._closed = True
        if not self.file.boxes.lost and self.file.boxes.safe_end < self.file.written:
            with open(self.file.path, "r+b") as f:
                f.truncate(self.file.boxes.safe_end)
            self.file.written = self.file.boxes.safe_end
        return self.file.written


def remux_faststart(path: Path) -> int:
    """Rewrite the fragmented MP4 at ``path`` as a regular one with its index first (stream
    copy, no re-encode), through a temporary file next to it; returns the new size. On any
    error the original is left as it was."""
    tmp = path.with_name(path.name + ".faststart.tmp")
    try:
        with (
            av.open(str(path)) as source,
            av.open(str(tmp), "w", format="mp4", options={"movflags": "faststart"}) as target,
        ):
            streams = [s for s in source.streams if s.type in ("video", "audio")]
            mapping = {s.index: target.add_stream_from_template(s) for s in streams}
            for packet in source.demux(*streams):
                if packet.dts is None:
                    continue  # the demuxer's end-of-stream marker
                packet.stream = mapping[packet.stream.index]
                target.mux(packet)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path.stat().st_size


def probe_duration(path: Path) -> float | None:
    """Seconds of video a player finds in ``path`` (None if it cannot be read)."""
    try:
        with av.open(str(path)) as container:
            last = None
            for packet in container.demux(video=0):
                if packet.pts is not None and packet.time_base is not None:
                    end = (packet.pts + (packet.duration or 0)) * packet.time_base
                    last = end if last is None else max(last, end)
            return float(last) if last is not None else None
    except (OSError, av.FFmpegError, IndexError):
        return None
