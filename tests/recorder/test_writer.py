"""The MP4 writer: fragments, the quota, cutting back to complete fragments, the remux."""

from __future__ import annotations

import errno
import struct
from pathlib import Path

import av
import numpy as np
import pytest

from recorder.writer import BoxTracker, MediaWriter, OutputFile, probe_duration, remux_faststart

W, H, FPS = 320, 180, 30


def box(kind: bytes, payload: bytes = b"", large: bool = False) -> bytes:
    if large:
        return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def write_seconds(writer: MediaWriter, seconds: float, start: int = 0) -> int:
    """Moving video and a tone; returns the next video pts."""
    rng = np.random.default_rng(start)
    canvas = rng.integers(0, 255, (H * 3 // 2, W), dtype=np.uint8)
    frames = round(seconds * FPS)
    for n in range(start, start + frames):
        canvas[:H] = np.roll(canvas[:H], 3, axis=1)
        writer.write_video(av.VideoFrame.from_ndarray(canvas, format="yuv420p"), n)
        t = (np.arange(1600) + n * 1600) / 48000
        mono = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        writer.write_audio(np.stack([mono, mono], axis=1))
    return start + frames


def test_box_tracker_finds_complete_fragments_fed_a_byte_at_a_time() -> None:
    stream = (
        box(b"ftyp", b"isom")
        + box(b"moov", b"x" * 20)
        + box(b"moof", b"y" * 10)
        + box(b"mdat", b"z" * 30, large=True)
        + box(b"moof", b"y" * 10)
        + box(b"mdat", b"z" * 5)
    )
    cut = len(stream) - 3  # the last mdat unfinished
    whole = BoxTracker()
    whole.feed(stream[:cut])
    bytewise = BoxTracker()
    ends = []
    for i in range(cut):
        bytewise.feed(stream[i : i + 1])
        ends.append(bytewise.safe_end)
    assert bytewise.safe_end == whole.safe_end == len(stream) - len(box(b"moof", b"y" * 10)) - 13
    assert sorted(set(ends)) == [0, 40, whole.safe_end]
    assert bytewise.offset == cut and not bytewise.lost


def test_box_tracker_gives_up_on_a_box_of_unknown_size() -> None:
    tracker = BoxTracker()
    tracker.feed(box(b"moov") + struct.pack(">I4s", 0, b"mdat") + b"rest")
    assert tracker.lost and tracker.safe_end == 8


def test_output_file_refuses_a_write_past_the_quota_whole(tmp_path: Path) -> None:
    out = OutputFile(tmp_path / "q.bin", quota_bytes=10)
    assert out.write(b"12345678") == 8
    with pytest.raises(OSError) as info:
        out.write(b"abc")
    assert info.value.errno == errno.ENOSPC
    out.close()
    assert (tmp_path / "q.bin").read_bytes() == b"12345678"


def test_fragments_every_second_then_remux_to_faststart(tmp_path: Path) -> None:
    path = tmp_path / "a.mp4"
    writer = MediaWriter(path, W, H, FPS)
    write_seconds(writer, 2.5)
    # Two keyframes passed: two complete fragments are on disk already.
    assert writer.file.boxes.safe_end > 0
    assert path.stat().st_size == writer.file.written
    writer.finish()
    assert writer.file.boxes.safe_end == writer.file.written == path.stat().st_size
    data = path.read_bytes()
    assert data.count(b"moof") >= 3
    size = remux_faststart(path)
    assert size == path.stat().st_size
    data = path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat") and b"moof" not in data
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        keyframes = [
            float(p.pts * video.time_base) for p in container.demux(video) if p.is_keyframe
        ]
        assert container.duration is not None and abs(container.duration / 1e6 - 2.5) < 0.1
    # A keyframe a second (all but the first frame shifted, like the audio, by the AAC
    # encoder's 1024-sample priming delay).
    assert len(keyframes) == 3
    assert np.allclose(np.diff(keyframes), 1.0, atol=1024 / 48000 + 1e-3)
    assert not list(tmp_path.glob("*.tmp"))


def test_quota_reached_cuts_back_to_the_last_complete_fragment(tmp_path: Path) -> None:
    path = tmp_path / "q.mp4"
    writer = MediaWriter(path, W, H, FPS, quota_bytes=400_000)
    with pytest.raises(OSError) as info:
        write_seconds(writer, 30)
    assert info.value.errno == errno.ENOSPC
    size = writer.abort()
    assert 0 < size <= 400_000 and path.stat().st_size == size
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) >= FPS and len(frames) % FPS == 0  # whole fragments only
    assert probe_duration(path) == pytest.approx(len(frames) / FPS, abs=0.05)
    assert probe_duration(tmp_path / "missing.mp4") is None


def test_remux_failure_leaves_the_original(tmp_path: Path) -> None:
    path = tmp_path / "bad.mp4"
    path.write_bytes(b"not an mp4 at all")
    with pytest.raises(av.FFmpegError):
        remux_faststart(path)
    assert path.read_bytes() == b"not an mp4 at all"
    assert not list(tmp_path.glob("*.tmp"))
