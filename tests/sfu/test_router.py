"""sfu.router: the per-packet decisions, driven with plain packets and a fake clock (no
sockets, no loop, no sleeps)."""

from __future__ import annotations

from aiortc.rtp import RtpPacket

from sfu.forwarding import StreamRewriter
from sfu.router import ACCEPTED, KEYFRAME, NACK, SEND, TIMER, Output, Router
from sfu.rtpwrite import abs_send_time_element
from sfu.speaker import ActiveSpeaker

KEY = bytes([0x10, 0x00, 0x00, 0x9D, 0x01, 0x2A])
DELTA = bytes([0x10, 0x01, 0x00, 0x00])


class Sub(Output):
    __slots__ = ("up",)

    def __init__(self, ssrc: int = 0x5555, up: bool = True) -> None:
        super().__init__(StreamRewriter(ssrc, 1000, 0, 3000))
        self.payload_type, self.ready, self.up = 100, True, up

    def connected(self) -> bool:
        return self.up


def video(*outputs: Sub, mime: str = "video/VP8") -> Router[Sub]:
    router: Router[Sub] = Router(
        "pub", ActiveSpeaker(), video=True, mime_type=mime, payload_type=96, rtx_payload_type=97
    )
    router.outputs.extend(outputs)
    return router


def rtp(seq: int, payload: bytes, pt: int = 96, ssrc: int = 0xAAAA) -> RtpPacket:
    return RtpPacket(
        payload_type=pt, sequence_number=seq, timestamp=seq * 3000, ssrc=ssrc, payload=payload
    )


def test_a_subscriber_starts_on_a_keyframe_and_one_is_asked_for() -> None:
    sub = Sub()
    router = video(sub)
    assert router.receive_rtp(rtp(1, DELTA), 0.0) == ACCEPTED | KEYFRAME
    assert router.media_ssrc == 0xAAAA
    assert router.receive_rtp(rtp(2, DELTA), 0.01) == ACCEPTED  # the keyframe is on its way
    assert router.receive_rtp(rtp(3, KEY), 0.02) == ACCEPTED | SEND
    assert router.sends == [sub]
    assert sub.out_seq == 1000 and sub.packet == (100, 0, b"", KEY)
    assert router.receive_rtp(rtp(4, DELTA, ssrc=0xAAAA), 0.03) == ACCEPTED | SEND
    assert sub.out_seq == 1001 and sub.packet == (100, 3000, b"", DELTA)
    assert sub.history.get(1000) == (100, 0, b"", KEY) and sub.octets == len(KEY) + len(DELTA)


def test_the_result_lists_are_reused_not_allocated_per_packet() -> None:
    router = video(Sub(), Sub(0x6666))
    router.receive_rtp(rtp(1, KEY), 0.0)
    sends = router.sends
    router.receive_rtp(rtp(2, DELTA), 0.01)
    assert router.sends is sends and len(sends) == 2


def test_a_subscriber_that_cannot_receive_yet_waits_without_asking() -> None:
    sub = Sub(up=False)
    router = video(sub)
    assert router.receive_rtp(rtp(1, KEY), 0.0) == ACCEPTED
    assert router.receive_rtp(rtp(2, DELTA), 0.01) == ACCEPTED
    sub.up = True
    assert router.receive_rtp(rtp(3, DELTA), 0.02) == ACCEPTED | KEYFRAME
    assert router.receive_rtp(rtp(4, KEY), 0.03) == ACCEPTED | SEND and sub.out_seq == 1000


def test_gaps_are_nacked_and_rtx_fills_them() -> None:
    sub = Sub()
    router = video(sub)
    router.receive_rtp(rtp(10, KEY), 0.0)
    assert router.receive_rtp(rtp(13, DELTA), 0.01) == ACCEPTED | SEND | NACK
    assert router.missing() == [11, 12]
    rtx = rtp(500, b"\x00\x0b" + DELTA, pt=97, ssrc=0xBBBB)
    assert router.receive_rtp(rtx, 0.02) == ACCEPTED | SEND
    assert router.missing() == [12]
    assert sub.out_seq == 1001 and sub.packet[3] == DELTA  # where 11 belongs
    assert router.receive_rtp(rtp(9, b"\x00", pt=111), 0.03) == 0  # another codec
    assert router.packets == 3


def test_a_deferred_keyframe_request_has_a_timer() -> None:
    sub = Sub()
    router = video(sub)
    router.receive_rtp(rtp(1, DELTA), 0.0)  # asks (KEYFRAME)
    router.receive_rtp(rtp(2, KEY), 0.05)  # answered
    assert router.get_timer() is None
    assert router.request_keyframe(0.1) == TIMER  # inside the 0.2 s interval
    assert router.get_timer() == 0.2
    assert router.handle_timer(0.15) == 0
    assert router.handle_timer(0.2) == KEYFRAME
    assert router.get_timer() is None and router.handle_timer(0.5) == 0


def test_a_deferred_request_also_goes_with_the_next_packet_once_due() -> None:
    router = video(Sub())
    router.receive_rtp(rtp(1, KEY), 0.0)
    router.request_keyframe(0.0)
    router.receive_rtp(rtp(2, KEY), 0.01)
    assert router.request_keyframe(0.05) == TIMER
    assert router.receive_rtp(rtp(3, DELTA), 0.1) & KEYFRAME == 0
    assert router.receive_rtp(rtp(4, DELTA), 0.25) & KEYFRAME
    assert router.get_timer() is None


def test_a_new_subscriber_asks_at_once_inside_the_interval() -> None:
    """A subscriber that connects just after another started does not wait behind the
    0.2 s interval for its first picture; one already watching still does."""
    first = Sub()
    router = video(first)
    assert router.receive_rtp(rtp(1, DELTA), 0.0) == ACCEPTED | KEYFRAME
    assert router.receive_rtp(rtp(2, KEY), 0.03) == ACCEPTED | SEND
    second = Sub(0x6666, up=False)
    router.outputs.append(second)
    router.receive_rtp(rtp(3, DELTA), 0.05)
    second.up = True  # it connects (the adapter asks for it then)
    assert router.request_keyframe(0.06, second) == KEYFRAME
    assert router.receive_rtp(rtp(4, DELTA), 0.07) == ACCEPTED | SEND  # shares that one
    assert router.receive_rtp(rtp(5, KEY), 0.09) == ACCEPTED | SEND
    assert router.sends == [first, second] and second.out_seq == 1000
    assert router.request_keyframe(0.1, first) == TIMER  # a decoder's PLI: rate-limited


def test_a_waiting_subscriber_asks_at_once_from_the_packet_path_too() -> None:
    first, second = Sub(), Sub(0x6666, up=False)
    router = video(first, second)
    router.receive_rtp(rtp(1, DELTA), 0.0)
    router.receive_rtp(rtp(2, KEY), 0.03)
    second.up = True
    assert router.receive_rtp(rtp(3, DELTA), 0.1) == ACCEPTED | SEND | KEYFRAME


def test_waiting_subscribers_share_the_keyframe_asked_for() -> None:
    first, second = Sub(), Sub(0x6666)
    router = video(first, second)
    assert router.receive_rtp(rtp(1, DELTA), 0.0) == ACCEPTED | KEYFRAME  # one request
    assert router.receive_rtp(rtp(2, KEY), 0.1) == ACCEPTED | SEND
    assert router.sends == [first, second]
    assert not router.throttle.outstanding and router.get_timer() is None


def test_padding_closes_up_the_numbering() -> None:
    sub = Sub()
    router = video(sub)
    router.receive_rtp(rtp(1, KEY), 0.0)
    assert router.receive_rtp(rtp(2, b""), 0.01) == ACCEPTED
    router.receive_rtp(rtp(3, DELTA), 0.02)
    assert sub.out_seq == 1001


def test_header_extension_elements_follow_what_each_subscriber_agreed() -> None:
    plain, with_time = Sub(), Sub(0x6666)
    with_time.ext_ids = (3, 0)
    router = video(plain, with_time)
    packet = rtp(1, KEY)
    packet.extensions.abs_send_time = 0x123456
    router.receive_rtp(packet, 0.0)
    assert plain.packet[2] == b""
    assert with_time.packet[2] == abs_send_time_element(3, 0x123456)


def test_h264_starts_on_the_parameter_sets_once_they_come_in_band() -> None:
    sub = Sub(up=False)
    router = video(sub, mime="video/H264")
    sps, idr = b"\x67\x42", b"\x65\x88"
    router.receive_rtp(rtp(0, sps), 0.0)
    sub.up = True
    assert router.receive_rtp(rtp(1, idr), 0.01) & SEND == 0  # its SPS went by unsent
    assert router.receive_rtp(rtp(2, sps), 0.02) & SEND


def test_audio_levels_go_to_the_speaker_and_audio_is_never_gated() -> None:
    speaker = ActiveSpeaker()
    sub = Sub()
    router: Router[Sub] = Router(
        "pub", speaker, video=False, mime_type="audio/opus", payload_type=111
    )
    router.outputs.append(sub)
    packet = rtp(1, b"\xfc\x01", pt=111)
    packet.extensions.audio_level = (True, 10)
    assert router.receive_rtp(packet, 0.0) == ACCEPTED | SEND
    assert router.nacks is None and router.request_keyframe(0.0) == 0
    assert speaker.update(0.0) == "pub"


def test_an_early_stream_starts_on_a_keyframe_before_its_connection_is_up() -> None:
    """A subscriber negotiated but not yet connected: an early stream starts on the next
    keyframe (the adapter holds it until the connection is up), a plain one waits."""
    early, waiting = Sub(0x5555, up=False), Sub(0x6666, up=False)
    early.early = True
    router = video(early, waiting)
    router.receive_rtp(rtp(1, DELTA), 0.0)
    assert router.receive_rtp(rtp(2, KEY), 0.02) & SEND
    assert router.sends == [early]
    assert early.out_seq == 1000 and early.packet[3] == KEY
    assert router.receive_rtp(rtp(3, DELTA), 0.03) & SEND
    assert router.sends == [early] and early.out_seq == 1001
