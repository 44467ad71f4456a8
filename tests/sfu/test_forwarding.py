"""The forwarding core with hand-made packets: rewriting, history, keyframes, throttling."""

from __future__ import annotations

import pytest
from aiortc.rtcrtpreceiver import NackGenerator
from aiortc.rtp import RtpPacket
from hypothesis import given, settings
from hypothesis import strategies as st

from sfu.forwarding import (
    KeyframeThrottle,
    MissingPackets,
    PacketHistory,
    StreamRewriter,
    seq_newer,
)
from sfu.keyframes import H264_IDR, H264_SPS, h264_keyframe, h264_start, vp8_keyframe
from sfu.speaker import ActiveSpeaker


def test_rewrite_is_continuous_across_wraparound_and_reordering() -> None:
    rw = StreamRewriter(ssrc=0xABC, first_seq=100, first_ts=5000, frame_step=3000)
    rw.start(source_ssrc=1, seq=65534, ts=4_294_967_000)
    assert rw.rewrite(1, 65534, 4_294_967_000) == (100, 5000)
    assert rw.rewrite(1, 65535, 4_294_967_000) == (101, 5000)
    assert rw.rewrite(1, 0, 4_294_967_296 + 2704 - 4_294_967_296) == (102, 8000)
    assert rw.rewrite(1, 65535, 4_294_967_000) == (101, 5000)  # late duplicate keeps its place
    assert rw.rewrite(2, 7, 7) is None  # not the source we follow


def test_switching_source_continues_right_after_the_last_packet() -> None:
    rw = StreamRewriter(ssrc=9, first_seq=1000, first_ts=0, frame_step=3000)
    rw.start(1, seq=50, ts=90000)
    for i in range(5):
        rw.rewrite(1, 50 + i, 90000 + 3000 * i)
    # The publisher republishes: new SSRC, new random sequence and timestamp.
    rw.start(2, seq=40000, ts=123)
    assert rw.rewrite(2, 40000, 123) == (1005, 15000)
    assert rw.rewrite(1, 55, 105000) is None


def seqs(rewriter: StreamRewriter, packets: list[int | str]) -> list[int]:
    """Feed source seqs (an ``"p12"`` is padding 12, dropped); the sequence numbers out."""
    out = []
    for item in packets:
        if isinstance(item, str):
            rewriter.drop(0xA, int(item[1:]))
        else:
            result = rewriter.rewrite(0xA, item, item * 10)
            assert result is not None
            out.append(result[0])
    return out


def test_dropped_padding_leaves_no_gap_and_late_packets_keep_their_numbers() -> None:
    rewriter = StreamRewriter(0x5, 65534, 0, 3000)
    rewriter.start(0xA, 10, 100)
    # Padding in order (a probe burst) closes up, across the wrap of the outgoing numbers.
    assert seqs(rewriter, [10, "p11", "p12", 13, 14, "p15", 16]) == [65534, 65535, 0, 1]
    # 9 and 14 arrive late (reordered or repaired): the numbers they had before the drops.
    assert seqs(rewriter, [9, 14, 17]) == [65533, 0, 2]
    # Padding after a gap (18 not here yet) cannot close it: 18 keeps its number.
    assert seqs(rewriter, ["p19", 20, 18]) == [5, 3]


def test_seq_newer_handles_wrap() -> None:
    assert seq_newer(0, 65535) and seq_newer(5, 1) and not seq_newer(1, 5)
    assert not seq_newer(7, 7) and not seq_newer(65535, 0)


def test_history_answers_recent_sequence_numbers_only() -> None:
    history = PacketHistory(size=8)
    for seq in range(20):
        history.put(seq, bytes([seq]))
    assert history.get(19) == bytes([19]) and history.get(12) == bytes([12])
    assert history.get(11) is None  # overwritten: bounded memory
    assert history.get(4) is None


def test_keyframe_requests_are_rate_limited_but_not_lost() -> None:
    throttle = KeyframeThrottle(interval=0.5)
    assert throttle.request(10.0)
    throttle.keyframe_seen()  # answered: the next request needs a keyframe of its own
    assert not throttle.request(10.1) and not throttle.request(10.2)
    assert throttle.next_due() == pytest.approx(10.5)
    assert not throttle.due(10.4)
    assert throttle.due(10.5)
    assert not throttle.due(10.6) and throttle.next_due() is None
    throttle.keyframe_seen()
    assert throttle.request(11.1)


def test_requests_while_a_keyframe_is_on_its_way_share_it() -> None:
    """Subscribers joining in a burst start on the keyframe already asked for, instead of
    each waiting for the interval to let another request through."""
    throttle = KeyframeThrottle(interval=0.2, patience=1.0)
    assert throttle.request(10.0)
    assert not throttle.request(10.05) and not throttle.request(10.3)
    assert throttle.next_due() is None and not throttle.due(10.4)  # nothing more to send
    throttle.keyframe_seen()
    assert throttle.request(10.45)  # past the interval, after the keyframe: a new one


def test_a_keyframe_that_never_comes_is_asked_for_again() -> None:
    throttle = KeyframeThrottle(interval=0.2, patience=1.0)
    assert throttle.request(10.0)
    assert not throttle.request(10.9)  # still on its way, perhaps
    assert throttle.request(11.0)  # lost, or ignored: ask again


def test_a_first_request_goes_at_once_inside_the_interval() -> None:
    """A subscriber with no picture yet does not wait behind the interval: subscribers
    joining about one interval apart each waited for the one before, and a late join's
    delay was passed on to every later one."""
    throttle = KeyframeThrottle(interval=0.2, patience=1.0, burst=3)
    assert throttle.request(10.0, first=True)
    throttle.keyframe_seen()
    assert throttle.request(10.05, first=True)  # a second subscriber: at once
    assert not throttle.request(10.06, first=True)  # its keyframe is on its way: shared
    throttle.keyframe_seen()
    assert not throttle.request(10.1)  # a subscriber's own PLI: the interval, as before
    assert throttle.next_due() == pytest.approx(10.25)
    assert throttle.request(10.12, first=True)  # a newcomer's goes, and serves that one too
    assert throttle.next_due() is None


def test_first_requests_are_bounded_by_their_own_burst() -> None:
    throttle = KeyframeThrottle(interval=0.2, patience=1.0, burst=2)
    for now in (10.0, 10.01):
        assert throttle.request(now, first=True)
        throttle.keyframe_seen()
    assert not throttle.request(10.02, first=True)  # no credit left: the interval rules
    assert throttle.next_due() == pytest.approx(10.21)
    assert throttle.due(10.21)
    throttle.keyframe_seen()
    assert throttle.request(10.22, first=True)  # an interval later: one credit is back
    throttle.keyframe_seen()
    assert not throttle.request(10.23, first=True)


VP8_KEY = bytes([0x10, 0x00, 0x00, 0x9D, 0x01, 0x2A])  # S=1, PID=0, tag P=0
VP8_DELTA = bytes([0x10, 0x01, 0x00, 0x00])
VP8_KEY_EXTENDED = bytes([0x90, 0xE0, 0x80, 0x01, 0x05, 0x20, 0x50, 0x00])  # X, I(2B), L, T/K
VP8_CONTINUATION = bytes([0x00, 0x00, 0x00])


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        (VP8_KEY, True),
        (VP8_DELTA, False),
        (VP8_KEY_EXTENDED, True),
        (VP8_CONTINUATION, False),
        (b"", False),
        (b"\x90", False),
        (b"\x90\x80", False),
    ],
)
def test_vp8_keyframe(payload: bytes, key: bool) -> None:
    assert vp8_keyframe(payload) is key


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        (bytes([0x65, 0x88]), True),  # IDR
        (bytes([0x67, 0x42]), True),  # SPS
        (bytes([0x41, 0x9A]), False),  # non-IDR slice
        (bytes([0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xCE]), True),  # STAP-A(SPS,PPS)
        (bytes([0x78, 0x00, 0x02, 0x68, 0xCE]), False),  # STAP-A(PPS)
        (bytes([0x7C, 0x85, 0x00]), True),  # FU-A start of IDR
        (bytes([0x7C, 0x05, 0x00]), False),  # FU-A middle of IDR
        (bytes([0x7C, 0x81, 0x00]), False),  # FU-A start of non-IDR
        (b"", False),
        (bytes([0x78, 0xFF]), False),  # truncated STAP-A
    ],
)
def test_h264_keyframe(payload: bytes, key: bool) -> None:
    assert h264_keyframe(payload) is key


@pytest.mark.parametrize(
    ("payload", "start"),
    [
        (bytes([0x65, 0x88]), H264_IDR),
        (bytes([0x67, 0x42]), H264_SPS),
        (bytes([0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xCE]), H264_SPS),
        (bytes([0x78, 0x00, 0x02, 0x68, 0xCE, 0x00, 0x02, 0x65, 0x88]), H264_IDR),  # PPS, IDR
        (bytes([0x7C, 0x85, 0x00]), H264_IDR),
        (bytes([0x7C, 0x87, 0x00]), H264_SPS),  # FU-A start of an SPS (unusual, allowed)
        (bytes([0x41, 0x9A]), 0),
    ],
)
def test_h264_start_tells_parameter_sets_from_a_bare_idr(payload: bytes, start: int) -> None:
    assert h264_start(payload) == start


def test_active_speaker_needs_to_lead_for_the_hold_time() -> None:
    speaker = ActiveSpeaker(hold=0.5)
    t = 0.0
    for _ in range(20):  # Ada talks
        speaker.observe("ada", 20, t)
        speaker.observe("bo", 110, t)
        t += 0.02
    assert speaker.update(t) == "ada"
    # Bo coughs once: no change.
    speaker.observe("bo", 5, t)
    assert speaker.update(t) is False
    # Bo takes over for real: reported once he has led for the hold time.
    changes = []
    for _ in range(60):
        speaker.observe("ada", 120, t)
        speaker.observe("bo", 10, t)
        t += 0.02
        result = speaker.update(t)
        if result is not False:
            changes.append(result)
    assert changes == ["bo"]
    speaker.forget("bo")
    assert speaker.current is None


def test_missing_packets_are_found_within_the_window() -> None:
    missing = MissingPackets()
    assert not missing.add(10)
    assert missing.add(13) and missing.missing == {11, 12}
    assert not missing.add(12) and missing.missing == {11}
    assert not missing.add(14)
    assert missing.add(400) and len(missing.missing) == 128 and 11 not in missing.missing
    wrapping = MissingPackets()
    wrapping.add(65534)
    assert wrapping.add(1) and wrapping.missing == {65535, 0}  # across the wrap


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.integers(0, 0xFFFF),  # anywhere
            st.integers(1, 300).map(lambda step: -step),  # a jump forward from the last
        ),
        max_size=60,
    )
)
def test_missing_packets_agree_with_aiortc(steps: list[int]) -> None:
    """The same answers as aiortc's NackGenerator, which the relay used before."""
    ours, aiortc = MissingPackets(), NackGenerator()
    last = 0
    for step in steps:
        seq = (last - step) % 0x10000 if step < 0 else step
        packet = RtpPacket(sequence_number=seq)
        assert ours.add(seq) == aiortc.add(packet)
        assert ours.missing == aiortc.missing and ours.max_seq == aiortc.max_seq
        last = seq
