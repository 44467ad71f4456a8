"""A published track and its forwards: the adapter around :class:`sfu.router.Router`.

Incoming RTP is taken from the publisher's receiver before aiortc's jitter buffer (its RTP
handler is replaced, :mod:`sfu.internals`) and given to the track's router with the time
(:attr:`PublishedTrack.clock`, ``time.monotonic``: the one clock read of the packet path);
what the router decides is done here: each packet to the subscribers it names, through
their :class:`~sfu.egress.Egress` (SRTP with its DTLS session, then its ICE socket); NACKs
and keyframe requests (PLI) upstream; a timer for a deferred keyframe request. A subscriber
sender carries a :class:`RelayTrack` that never yields a frame, so aiortc's encoder never
runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiortc import (
    MediaStreamTrack,
    RTCRtpCodecParameters,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
)
from aiortc.codecs import is_rtx
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtp import (
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    RtpPacket,
)

from sfu import internals
from sfu.background import log_failure
from sfu.forwarding import HISTORY_SIZE, KeyframeThrottle, MissingPackets, StreamRewriter
from sfu.internals import dtls_state
from sfu.listener import TrackInfo
from sfu.router import KEYFRAME, NACK, SEND, TIMER, Output, Router
from sfu.rtpwrite import element
from sfu.sdp import URI_ABS_SEND_TIME, URI_AUDIO_LEVEL, URI_MID
from sfu.speaker import ActiveSpeaker
from sfu.stats import STATS

if TYPE_CHECKING:
    from sfu.peer import MediaPeer

__all__ = ["Forward", "PublishedTrack", "RelayTrack", "TrackOutput"]

_CONNECTED = DtlsState.CONNECTED
#: Packets held per subscriber stream until its connection is up (about 3 s of 180p video;
#: a connection that takes longer starts on whatever NACKs and keyframe requests recover).
MAX_HELD = 128
#: A held packet: header byte 1, sequence number, timestamp, extension elements, payload.
SentPacket_ = tuple[int, int, int, bytes, bytes]


class RelayTrack(MediaStreamTrack):
    """The track a subscriber sender carries: it never produces a frame, so the sender's
    encoding loop waits forever and costs nothing; packets are sent around it."""

    def __init__(self, kind: str, track_id: str) -> None:
        super().__init__()
        self.kind = kind
        internals.set_track_id(self, track_id)
        self._never: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    async def recv(self) -> Any:
        return await self._never

    def stop(self) -> None:
        super().stop()
        if not self._never.done():
            self._never.cancel()


class TrackOutput(Output):
    """Where a published track's packets go: a subscriber (:class:`Forward`) or a pipe to
    another worker (:class:`sfu.piping.PipeOutput`)."""

    __slots__ = ()

    def transmit(self, second: int, seq: int, ts: int, elements: bytes, payload: bytes) -> None:
        raise NotImplementedError

    def sender_report(self, ntp_timestamp: int, rtp_timestamp: int) -> None:
        raise NotImplementedError


class Forward(TrackOutput):
    """One published track flowing to one subscriber: the router's :class:`Output`, and the
    aiortc sender it goes out beside."""

    __slots__ = ("held", "mid_element", "sender", "sent", "subscriber", "track", "transceiver")

    def __init__(
        self,
        track: PublishedTrack,
        subscriber: MediaPeer,
        transceiver: RTCRtpTransceiver,
        sender: RTCRtpSender,
        rewriter: StreamRewriter,
    ) -> None:
        # Audio is never NACKed (no codec offers nack for it): no history to keep.
        super().__init__(rewriter, HISTORY_SIZE if track.is_video else 1)
        self.track = track
        self.subscriber = subscriber
        self.transceiver = transceiver
        self.sender = sender
        #: Packets sent before the subscriber's connection was up (an early start), to go
        #: out once it is: at most :data:`MAX_HELD`.
        self.held: list[SentPacket_] = []
        #: The ``mid`` header extension element for this subscriber's m-line.
        self.mid_element = b""
        #: Packets that went out (retransmissions included).
        self.sent = 0

    def connected(self) -> bool:
        return dtls_state(self.sender.transport) is _CONNECTED

    def negotiated(self) -> None:
        """Called once the subscriber answered: learn what was agreed."""
        codecs = [c for c in internals.codecs(self.transceiver) if not is_rtx(c)]
        if not codecs or codecs[0].payloadType is None:
            return
        self.payload_type = codecs[0].payloadType
        ids = {ext.uri: ext.id for ext in internals.header_extensions(self.transceiver)}
        mid_id = ids.get(URI_MID, 0)
        mid = self.transceiver.mid
        self.mid_element = element(mid_id, mid.encode()) if mid_id and mid else b""
        self.ext_ids = (ids.get(URI_ABS_SEND_TIME, 0), ids.get(URI_AUDIO_LEVEL, 0))
        self.ready = True

    def transmit(self, second: int, seq: int, ts: int, elements: bytes, payload: bytes) -> None:
        """Write, encrypt and send one packet through the subscriber's :class:`Egress`:
        header byte 1 ``second`` (marker | payload type), this subscriber's SSRC and ``mid``,
        then ``elements``."""
        dtls = self.sender.transport
        egress = self.subscriber.egress
        if egress is None or egress.dtls is not dtls or dtls_state(dtls) is not _CONNECTED:
            egress = self.subscriber.open_egress(dtls)
            if egress is None:  # not connected (yet, or any more)
                if self.early and len(self.held) < MAX_HELD:
                    self.held.append((second, seq, ts, elements, payload))
                return
        if egress.send_rtp(
            second, seq, ts, self.rewriter.ssrc, self.mid_element, elements, payload
        ):
            self.sent += 1
            STATS.forwarded_packets += 1
        else:
            STATS.dropped_packets += 1

    def started(self) -> bool:
        """Whether the track's packets flow to it (it started on the track's stream)."""
        ssrc = self.track.router.media_ssrc
        return ssrc is not None and self.rewriter.follows(ssrc)

    def connected_now(self) -> None:
        """The subscriber's connection is up: what was held goes out, in order (a gap the
        cap left is asked for again by NACK, from the history)."""
        held, self.held = self.held, []
        self.early = False
        for packet in held:
            self.transmit(*packet)

    def sender_report(self, ntp_timestamp: int, rtp_timestamp: int) -> None:
        """The moment the publisher's last sender report names, in this stream's timestamps:
        what the sender's next RTCP SR says."""
        internals.set_sender_report(
            self.sender, ntp_timestamp, rtp_timestamp, self.sent, self.octets
        )

    async def on_rtcp(self, packet: AnyRtcpPacket) -> None:
        """RTCP from the subscriber about this stream (replaces the sender's handler)."""
        if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            for seq in packet.lost:
                sent = self.history.get(seq)
                if sent is not None:
                    second, ts, elements, payload = sent
                    STATS.retransmitted_packets += 1
                    self.transmit(second, seq, ts, elements, payload)
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            self.track.request_keyframe(self.track.clock(), self)


class PublishedTrack:
    """One track a participant publishes, and the subscribers it goes to."""

    __slots__ = (
        "_closed",
        "_timer",
        "_timer_at",
        "clock",
        "codec",
        "info",
        "owner",
        "receiver",
        "router",
    )

    def __init__(
        self,
        info: TrackInfo,
        owner: MediaPeer | None,
        receiver: RTCRtpReceiver | None,
        codec: RTCRtpCodecParameters,
        rtx_payload_type: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        speaker: ActiveSpeaker | None = None,
    ) -> None:
        """``owner`` and ``receiver`` are the publisher's; a track piped in from another
        worker (:class:`sfu.piping.PipedTrack`) has neither, and names the room's
        ``speaker``."""
        self.info = info
        self.owner = owner
        self.receiver = receiver
        self.codec = codec
        #: The time the router is given, in seconds (the loop's timers run on the same).
        self.clock = clock
        self.router: Router[TrackOutput] = Router(
            info.participant_id,
            speaker if speaker is not None else _room_speaker(owner),
            video=info.kind == "video",
            mime_type=codec.mimeType,
            payload_type=codec.payloadType,
            rtx_payload_type=rtx_payload_type,
        )
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._closed = False

    @property
    def is_video(self) -> bool:
        return self.router.video

    @property
    def forwards(self) -> list[TrackOutput]:
        return self.router.outputs

    @property
    def throttle(self) -> KeyframeThrottle:
        return self.router.throttle

    @property
    def nacks(self) -> MissingPackets | None:
        return self.router.nacks

    @property
    def packets(self) -> int:
        return self.router.packets

    def take_rtp(self) -> None:
        """RTP and RTCP of the publisher's receiver come here from now on."""
        assert self.receiver is not None
        internals.take_receiver_rtp(self.receiver, self.on_rtp)
        internals.watch_receiver_rtcp(self.receiver, self.on_rtcp)

    def request_keyframe(self, now: float, forward: TrackOutput | None = None) -> None:
        """Ask the publisher for a keyframe, for ``forward`` if one subscriber asks (see
        :meth:`Router.request_keyframe`), as the rate limit allows."""
        actions = self.router.request_keyframe(now, forward)
        if actions & KEYFRAME:
            self._send_pli()
        elif actions & TIMER:
            self._arm_timer()

    async def on_rtp(self, packet: RtpPacket, arrival_time_ms: int = 0) -> None:
        """Replaces the receiver's RTP handler: relay, never decode."""
        router = self.router
        actions = router.receive_rtp(packet, self.clock())
        if not actions:
            return  # another codec than the one negotiated first: not relayed
        if actions & NACK:  # first, as aiortc's receiver does
            assert router.media_ssrc is not None and self.receiver is not None
            await internals.send_nack(self.receiver, router.media_ssrc, router.missing())
        self._act(actions)

    def _act(self, actions: int) -> None:
        """What the router decided for an accepted packet, NACKs aside."""
        STATS.received_packets += 1
        if actions & SEND:
            # router.sends holds until the router's next packet, which comes after this call
            # returns (one receive loop per transport).
            for forward in self.router.sends:
                second, ts, elements, payload = forward.packet
                forward.transmit(second, forward.out_seq, ts, elements, payload)
        if actions & KEYFRAME:
            self._send_pli()
        elif actions & TIMER:
            self._arm_timer()

    def on_rtcp(self, packet: AnyRtcpPacket) -> None:
        if isinstance(packet, RtcpSrPacket):
            self.on_sender_report(packet)

    def on_sender_report(self, report: RtcpSrPacket) -> None:
        """The publisher's RTCP SR maps its RTP clock to wall-clock time; each subscriber
        sender reports the same moment in its own timestamps, so browsers can line up audio
        and video. aiortc's sender loop sends these fields; it never fills them itself here,
        as no frame goes through it."""
        if report.ssrc != self.router.media_ssrc:
            return
        info = report.sender_info
        self.report_time(report.ssrc, info.ntp_timestamp, info.rtp_timestamp)

    def report_time(self, ssrc: int, ntp_timestamp: int, rtp_timestamp: int) -> None:
        """``rtp_timestamp`` of stream ``ssrc`` is the moment ``ntp_timestamp``: tell every
        output, in its own timestamps."""
        for forward in self.forwards:
            out_ts = forward.rewriter.timestamp(ssrc, rtp_timestamp)
            if out_ts is not None:
                forward.sender_report(ntp_timestamp, out_ts)

    def remove_forward(self, forward: TrackOutput) -> None:
        self.router.remove(forward)

    def close(self) -> None:
        """Unpublished: late packets are dropped, no timer is left."""
        self._closed = True
        if self.receiver is not None:
            internals.take_receiver_rtp(self.receiver, _drop_rtp)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _send_pli(self) -> None:
        media_ssrc = self.router.media_ssrc
        assert media_ssrc is not None and self.receiver is not None
        STATS.keyframe_requests += 1
        task = asyncio.ensure_future(internals.send_pli(self.receiver, media_ssrc))
        task.add_done_callback(log_failure)

    def _arm_timer(self) -> None:
        deadline = self.router.get_timer()
        if deadline is None or self._closed:
            return
        if self._timer is not None:
            if self._timer_at == deadline:
                return
            self._timer.cancel()
        self._timer_at = deadline
        delay = max(0.0, deadline - self.clock())
        self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._closed:
            return
        if self.router.handle_timer(self.clock()) & KEYFRAME:
            self._send_pli()
        else:
            self._arm_timer()  # woken a little early: still waiting


def _room_speaker(owner: MediaPeer | None) -> ActiveSpeaker:
    if owner is None:
        raise ValueError("a track without an owner names its room's speaker")
    return owner.room.speaker


async def _drop_rtp(packet: RtpPacket, arrival_time_ms: int = 0) -> None:
    """What an unpublished track's receiver does with late packets: nothing."""
