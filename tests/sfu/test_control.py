"""The control pipe's framing and load reports (sfu.control): round trips, frames fed in
pieces, oversize and non-object frames refused."""

from __future__ import annotations

import struct

import pytest

from sfu.control import MAX_FRAME, FrameDecoder, FrameTooLarge, Load, encode, error_reply, ok_reply


def test_frames_round_trip_fed_one_byte_at_a_time() -> None:
    messages = [
        {"op": "add_peer", "id": 1, "ch": 7, "pid": "p_a", "may_publish": True},
        ok_reply(1),
        error_reply(2, "invalid_sdp", "the offer could not be used: ünïcode"),
        {"ev": "subscribe_offer", "ch": 7, "pid": "p_a", "sdp": "v=0\r\n" * 1000, "tracks": {}},
    ]
    data = b"".join(encode(m) for m in messages)
    decoder = FrameDecoder()
    out = []
    for i in range(len(data)):
        out += decoder.feed(data[i : i + 1])
    assert out == messages
    assert decoder.pending == 0


def test_a_partial_frame_waits_for_the_rest() -> None:
    frame = encode({"ev": "ready"})
    decoder = FrameDecoder()
    assert decoder.feed(frame[:-1]) == []
    assert decoder.pending == len(frame) - 1
    assert decoder.feed(frame[-1:]) == [{"ev": "ready"}]


def test_an_oversize_frame_is_refused_before_it_is_buffered() -> None:
    decoder = FrameDecoder()
    with pytest.raises(FrameTooLarge):
        decoder.feed(struct.pack(">I", MAX_FRAME + 1))
    with pytest.raises(FrameTooLarge):
        encode({"sdp": "x" * (MAX_FRAME + 1)})


def test_a_frame_must_hold_an_object() -> None:
    body = b"[1, 2]"
    with pytest.raises(ValueError, match="object"):
        FrameDecoder().feed(struct.pack(">I", len(body)) + body)
    with pytest.raises(ValueError):
        FrameDecoder().feed(struct.pack(">I", 3) + b"{no")


def test_load_reports_round_trip() -> None:
    load = Load(
        rooms=2, peers=9, tracks=14, cpu_seconds=12.5, rss_bytes=80 << 20,
        received_packets=1000, forwarded_packets=9000, dropped_packets=3,
        retransmitted_packets=4, keyframe_requests=5,
        dropped_datagrams=(("empty", 1), ("stranger", 2)),
    )  # fmt: skip
    assert Load.parse(load.serialize()) == load
