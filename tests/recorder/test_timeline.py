"""The recording clock, stepped by hand."""

from __future__ import annotations

from recorder.timeline import StopReason, Timeline


def test_one_video_slot_per_frame_time_and_audio_by_elapsed_samples() -> None:
    tl = Timeline(fps=30)
    tl.begin(100.0)
    first = tl.tick(100.0)
    assert (first.video_pts, first.audio_samples) == (0, 0)
    assert tl.next_deadline() == 100.0 + 1 / 30
    assert tl.tick(100.01).video_pts is None  # same slot
    tick = tl.tick(100.0 + 1 / 30)
    assert tick.video_pts == 1 and tl.samples == 1600
    assert tl.tick(101.0).video_pts == 30 and tl.samples == 48000


def test_falling_behind_skips_slots_instead_of_drifting() -> None:
    tl = Timeline(fps=30)
    tl.begin(0.0)
    tl.tick(0.0)
    tick = tl.tick(0.25)  # 7 slots late
    assert tick.video_pts == 7 and tick.skipped == 6
    assert tl.media_duration() == 8 / 30
    assert tl.frames == 2 and tl.skipped == 6


def test_progress_and_disk_checks_come_periodically() -> None:
    tl = Timeline(fps=10, progress_every=5.0, disk_every=2.0)
    tl.begin(0.0)
    ticks = {round(t / 10, 1): tl.tick(t / 10) for t in range(0, 121)}
    assert [t for t, tick in ticks.items() if tick.progress] == [5.0, 10.0]
    assert [t for t, tick in ticks.items() if tick.check_disk] == [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]


def test_max_duration_stops_at_exactly_that_length() -> None:
    tl = Timeline(fps=30, max_seconds=2.0)
    tl.begin(0.0)
    assert tl.tick(1.99).stop is None
    tick = tl.tick(2.3)  # woke up late
    assert tick.stop is StopReason.MAX_DURATION
    assert tl.last_pts == 59 and tl.samples == 96000
    assert tl.media_duration() == 2.0


def test_the_first_stop_request_wins() -> None:
    tl = Timeline(fps=30)
    tl.begin(0.0)
    tl.request_stop(StopReason.MEETING_ENDED)
    tl.request_stop(StopReason.STOPPED)
    assert tl.tick(1.0).stop is StopReason.MEETING_ENDED
