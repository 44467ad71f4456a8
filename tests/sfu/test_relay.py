"""The per-packet relay with stand-ins for aiortc's receiver and sender: NACKs go upstream
for gaps, RTX retransmissions are unwrapped, new subscribers start on a keyframe."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from aiortc import RTCRtpCodecParameters
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtp import RtpPacket
from hypothesis import given, settings
from hypothesis import strategies as st

from sfu.forwarding import StreamRewriter
from sfu.listener import TrackInfo
from sfu.rtpwrite import build
from sfu.speaker import ActiveSpeaker
from sfu.track import Forward, PublishedTrack

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
KEY = bytes([0x10, 0x00, 0x00, 0x9D, 0x01, 0x2A])
DELTA = bytes([0x10, 0x01, 0x00, 0x00])


class Receiver:
    def __init__(self) -> None:
        self.nacks: list[tuple[int, list[int]]] = []
        self.plis: list[int] = []

    async def _send_rtcp_nack(self, ssrc: int, lost: list[int]) -> None:
        self.nacks.append((ssrc, lost))

    async def _send_rtcp_pli(self, ssrc: int) -> None:
        self.plis.append(ssrc)


class Recording(Forward):
    def transmit(self, second: int, seq: int, ts: int, elements: bytes, payload: bytes) -> None:
        self.sent += 1
        data = build(
            bool(second & 0x80), second & 0x7F, seq, ts, self.rewriter.ssrc, elements, payload
        )
        self.subscriber.packets.append(RtpPacket.parse(data))  # type: ignore[attr-defined]


def make(
    codec: RTCRtpCodecParameters = VP8, clock: Callable[[], float] = time.monotonic
) -> tuple[PublishedTrack, Receiver, Recording]:
    receiver = Receiver()
    owner: Any = SimpleNamespace(id="pub", room=SimpleNamespace(speaker=ActiveSpeaker()))
    track = PublishedTrack(
        TrackInfo("pub:0", "pub", "video", "camera"),
        owner,
        receiver,  # type: ignore[arg-type]
        codec,
        rtx_payload_type=97,
        clock=clock,
    )
    return track, receiver, add_forward(track)


def add_forward(track: PublishedTrack, ssrc: int = 0x5555) -> Recording:
    subscriber: Any = SimpleNamespace(packets=[])
    sender: Any = SimpleNamespace(transport=SimpleNamespace(_state=DtlsState.CONNECTED))
    forward = Recording(
        track,
        subscriber,
        None,  # type: ignore[arg-type]
        sender,
        StreamRewriter(ssrc, 1000, 0, 3000),  # type: ignore[arg-type]
    )
    forward.payload_type, forward.ready = 100, True
    track.forwards.append(forward)
    return forward


def rtp(seq: int, payload: bytes, pt: int = 96, ssrc: int = 0xAAAA) -> RtpPacket:
    return RtpPacket(
        payload_type=pt, sequence_number=seq, timestamp=seq * 3000, ssrc=ssrc, payload=payload
    )


async def test_gaps_are_nacked_upstream_and_rtx_fills_them() -> None:
    track, receiver, forward = make()
    await track.on_rtp(rtp(10, KEY))
    await track.on_rtp(rtp(11, DELTA))
    await track.on_rtp(rtp(14, DELTA))  # 12 and 13 lost on the publisher leg
    assert receiver.nacks == [(0xAAAA, [12, 13])]
    # The publisher answers with RTX (own SSRC and payload type, original seq first).
    await track.on_rtp(rtp(500, b"\x00\x0c" + DELTA, pt=97, ssrc=0xBBBB))
    out = forward.subscriber.packets  # type: ignore[attr-defined]
    assert [p.sequence_number for p in out] == [1000, 1001, 1004, 1002]
    assert out[-1].ssrc == 0x5555 and out[-1].payload_type == 100 and out[-1].payload == DELTA
    assert track.nacks is not None and track.nacks.missing == {13}


async def test_a_new_subscriber_waits_for_a_keyframe_and_asks_for_one() -> None:
    track, receiver, forward = make()
    await track.on_rtp(rtp(1, DELTA))
    await track.on_rtp(rtp(2, DELTA))
    assert forward.sent == 0
    await asyncio.sleep(0)  # one loop turn: the PLI is sent from a task
    assert receiver.plis == [0xAAAA]  # two waiting packets, one (throttled) PLI
    await track.on_rtp(rtp(3, KEY))
    await track.on_rtp(rtp(4, DELTA))
    assert forward.sent == 2
    out = forward.subscriber.packets  # type: ignore[attr-defined]
    assert [p.sequence_number for p in out] == [1000, 1001]


async def test_subscribers_waiting_together_share_one_keyframe() -> None:
    """Each waiting subscriber asked again on every packet; the one keyframe asked for
    serves them all, and no second request is left queued behind the rate limit (which
    made the next subscriber wait up to 0.5 s for its first picture)."""
    track, receiver, first = make()
    second = add_forward(track, ssrc=0x6666)
    await track.on_rtp(rtp(1, DELTA))
    await track.on_rtp(rtp(2, DELTA))
    await asyncio.sleep(0)  # one loop turn: the PLI is sent from a task
    assert receiver.plis == [0xAAAA]
    await track.on_rtp(rtp(3, KEY))
    assert (first.sent, second.sent) == (1, 1)
    assert track.throttle.next_due() is None and not track.throttle.outstanding


async def test_a_deferred_keyframe_request_goes_when_its_timer_fires() -> None:
    """A request inside the rate limit is not lost, even if no packet comes to carry it."""
    now = [0.0]
    track, receiver, _ = make(clock=lambda: now[0])
    await track.on_rtp(rtp(1, DELTA))  # asks
    now[0] = 0.05
    await track.on_rtp(rtp(2, KEY))  # answered
    track.request_keyframe(0.1)  # a subscriber asks again inside the 0.2 s interval
    await asyncio.sleep(0)  # one loop turn: PLIs are sent from tasks
    assert receiver.plis == [0xAAAA]
    timer = track._timer
    assert timer is not None and not timer.cancelled()
    timer.cancel()  # fired by hand, on the fake clock
    now[0] = 0.2
    track._on_timer()
    await asyncio.sleep(0)
    assert receiver.plis == [0xAAAA, 0xAAAA] and track._timer is None
    now[0] = 0.21
    await track.on_rtp(rtp(3, KEY))
    track.request_keyframe(0.25)  # deferred again, then unpublished: no timer is left
    timer = track._timer
    track.close()
    assert timer is not None and timer.cancelled() and track._timer is None


async def test_a_subscriber_starts_only_once_it_can_receive() -> None:
    """Starting on a keyframe the subscriber's transport cannot carry yet would leave its
    decoder waiting for the next one (a PLI round trip: seconds with some encoders)."""
    track, receiver, forward = make()
    forward.sender.transport._state = DtlsState.CONNECTING
    await track.on_rtp(rtp(1, KEY))
    await track.on_rtp(rtp(2, DELTA))
    await asyncio.sleep(0)
    assert forward.sent == 0 and receiver.plis == []  # the keyframe is asked for on connect
    forward.sender.transport._state = DtlsState.CONNECTED
    await track.on_rtp(rtp(3, KEY))
    assert forward.sent == 1
    assert [p.sequence_number for p in forward.subscriber.packets] == [1000]  # type: ignore[attr-defined]


async def test_h264_subscribers_start_on_the_parameter_sets_once_the_publisher_sends_them() -> None:
    track, _, forward = make(
        RTCRtpCodecParameters(mimeType="video/H264", clockRate=90000, payloadType=96)
    )
    sps, pps, idr, fu_idr = b"\x67\x42", b"\x68\xce", b"\x65\x88", b"\x7c\x85\x00"
    forward.sender.transport._state = DtlsState.CONNECTING
    for seq, payload in enumerate([sps, pps, fu_idr]):  # before the subscriber can receive
        await track.on_rtp(rtp(seq, payload))
    forward.sender.transport._state = DtlsState.CONNECTED
    await track.on_rtp(rtp(3, idr))  # a bare IDR: its parameter sets went by unsent
    assert forward.sent == 0
    for seq, payload in enumerate([sps, pps, idr], start=4):
        await track.on_rtp(rtp(seq, payload))
    assert forward.sent == 3


async def test_padding_is_not_relayed_and_leaves_no_gap() -> None:
    """Chrome probes bandwidth with padding-only packets on the media stream; a gap in the
    subscriber's numbering would make it ask for packets that never come (then a PLI)."""
    track, receiver, forward = make()
    padding = RtpPacket(payload_type=96, sequence_number=2, timestamp=3000, ssrc=0xAAAA)
    padding.padding_size = 255
    for packet in [rtp(1, KEY), padding, rtp(3, DELTA)]:
        await track.on_rtp(packet)
    out = forward.subscriber.packets  # type: ignore[attr-defined]
    assert [p.sequence_number for p in out] == [1000, 1001]
    assert receiver.nacks == []


async def test_unknown_payload_types_are_dropped() -> None:
    track, _, forward = make()
    await track.on_rtp(rtp(1, KEY, pt=111))
    assert forward.sent == 0 and track.packets == 0


async def test_sender_reports_are_translated_for_each_subscriber() -> None:
    from aiortc.rtp import RtcpSenderInfo, RtcpSrPacket

    track, _, forward = make()
    forward.sender = SimpleNamespace(transport=forward.sender.transport)  # type: ignore[assignment]
    await track.on_rtp(rtp(10, KEY))  # starts the subscriber stream: ts 30000 -> 0
    await track.on_rtp(rtp(11, DELTA))
    report = RtcpSrPacket(
        ssrc=0xAAAA,
        sender_info=RtcpSenderInfo(
            ntp_timestamp=123456789, rtp_timestamp=36000, packet_count=9, octet_count=99
        ),
    )
    track.on_sender_report(report)
    sender: Any = forward.sender
    assert sender._RTCRtpSender__ntp_timestamp == 123456789
    assert sender._RTCRtpSender__rtp_timestamp == 6000  # same instant, subscriber's clock
    assert sender._RTCRtpSender__packet_count == 2
    assert sender._RTCRtpSender__octet_count == len(KEY) + len(DELTA)
    track.on_sender_report(RtcpSrPacket(ssrc=0xBEEF, sender_info=report.sender_info))
    assert sender._RTCRtpSender__ntp_timestamp == 123456789  # another source: ignored


@settings(max_examples=300, deadline=None)
@given(
    packets=st.lists(
        st.tuples(
            st.integers(0, 0xFFFF),  # sequence number
            st.integers(0, 0xFFFFFFFF),  # timestamp
            st.sampled_from([96, 97, 0, 127]),  # codec, RTX, and others
            st.binary(max_size=40),  # payload: empty, truncated, garbage
        ),
        max_size=40,
    )
)
def test_arbitrary_packets_never_break_the_relay(
    packets: list[tuple[int, int, int, bytes]],
) -> None:
    async def run() -> None:
        track, _, forward = make()
        for seq, ts, pt, payload in packets:
            await track.on_rtp(rtp(seq, payload, pt=pt) if pt != 96 else _at(seq, ts, payload))
        for packet in forward.subscriber.packets:  # type: ignore[attr-defined]
            assert packet.ssrc == 0x5555 and packet.payload_type == 100

    asyncio.run(run())


def _at(seq: int, ts: int, payload: bytes) -> RtpPacket:
    return RtpPacket(
        payload_type=96, sequence_number=seq, timestamp=ts, ssrc=0xAAAA, payload=payload
    )


async def test_audio_streams_keep_no_retransmission_history() -> None:
    """No codec offers NACK for audio: an audio forward keeps one packet, not a thousand
    (memory per participant); video keeps its full history to answer NACKs."""
    opus = RTCRtpCodecParameters(
        mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111
    )
    owner: Any = SimpleNamespace(id="pub", room=SimpleNamespace(speaker=ActiveSpeaker()))
    audio = PublishedTrack(
        TrackInfo("pub:1", "pub", "audio", "microphone"),
        owner,
        Receiver(),
        opus,  # type: ignore[arg-type]
    )
    forward = add_forward(audio)
    for seq in range(50):
        await audio.on_rtp(rtp(seq, b"\x01" * 40, pt=111))
    assert len(forward.subscriber.packets) == 50  # type: ignore[attr-defined]
    assert [forward.history.get(1000 + s) is not None for s in (48, 49)] == [False, True]
    video, _, video_forward = make()
    await video.on_rtp(rtp(10, KEY))
    for seq in range(11, 60):
        await video.on_rtp(rtp(seq, DELTA))
    assert all(video_forward.history.get(1000 + s) is not None for s in range(50))


async def test_an_early_stream_is_held_until_the_connection_is_up_then_sent_in_order() -> None:
    """A video stream started on its keyframe before the subscriber's DTLS was up keeps what
    it was sent (bounded) and sends it, in order, once it is: the first frame is there at
    once instead of a keyframe round trip later."""
    from sfu.track import MAX_HELD

    dtls = SimpleNamespace(_state=DtlsState.CONNECTING)
    sent: list[int] = []
    egress = SimpleNamespace(
        dtls=dtls, send_rtp=lambda second, seq, *rest: sent.append(seq) or True
    )
    state = {"up": False}

    def open_egress(transport: Any) -> Any:
        return egress if state["up"] else None

    subscriber: Any = SimpleNamespace(egress=None, open_egress=open_egress)
    track, _, _ = make()
    forward = Forward(
        track,
        subscriber,
        None,
        SimpleNamespace(transport=dtls),
        StreamRewriter(0x7777, 1, 0, 3000),  # type: ignore[arg-type]
    )
    forward.payload_type, forward.ready, forward.early = 100, True, True
    track.forwards.append(forward)
    await track.on_rtp(rtp(10, KEY))
    for seq in range(11, 11 + MAX_HELD + 5):
        await track.on_rtp(rtp(seq, DELTA))
    assert sent == [] and len(forward.held) == MAX_HELD
    state["up"], dtls._state = True, DtlsState.CONNECTED
    subscriber.egress = egress
    forward.connected_now()
    assert sent == list(range(1, 1 + MAX_HELD))  # the keyframe first, in order
    assert forward.held == [] and not forward.early
    await track.on_rtp(rtp(11 + MAX_HELD + 5, DELTA))
    assert sent[-1] == 2 + MAX_HELD + 5  # numbering went on through the cap's gap
