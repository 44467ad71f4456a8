"""bench.load measures a stream's first frame from no earlier than its publisher's publish
answer: a track offered before its publisher had the answer (meetbox offers it at once) was
measured from the subscriber's own join, seconds too early."""

from __future__ import annotations

from types import SimpleNamespace

from bench.load import stream_start


def test_a_stream_starts_no_earlier_than_its_publisher_published() -> None:
    registry = {"pub": SimpleNamespace(published_at=105.0)}
    # The subscriber saw the track at 101 (it joined at 100); the publisher had its answer
    # at 105: the stream is measured from 105.
    assert stream_start(101.0, "pub", registry) == 105.0
    # A publisher that published before the subscriber saw the track changes nothing.
    assert stream_start(110.0, "pub", registry) == 110.0
    # Not published yet, or unknown: what the subscriber knew.
    assert stream_start(101.0, "pub", {"pub": SimpleNamespace(published_at=None)}) == 101.0
    assert stream_start(101.0, "other", registry) == 101.0
