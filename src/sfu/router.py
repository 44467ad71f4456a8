"""The per-packet decisions for one published track, sans-I/O.

A :class:`Router` is given each RTP packet of one publisher track with ``now`` (seconds, any
monotonic origin) and answers what to do with it, as a bit set of actions:

- :data:`ACCEPTED`: the packet belongs to the track (the publisher's codec, or its RTX);
- :data:`SEND`: :attr:`Router.sends` lists the subscriber streams (:class:`Output`) to send
  it to, each with :attr:`Output.out_seq` and :attr:`Output.packet` set (valid until the next
  call to :meth:`Router.receive_rtp`);
- :data:`NACK`: packets went missing upstream; :meth:`Router.missing` lists them;
- :data:`KEYFRAME`: ask the publisher for a keyframe (a PLI for :attr:`Router.media_ssrc`);
- :data:`TIMER`: a keyframe request was deferred; :meth:`Router.get_timer` says until when,
  and :meth:`Router.handle_timer` is to be called then.

It decides where a subscriber starts (on a keyframe, once it can receive), how packets are
renumbered (:class:`~sfu.forwarding.StreamRewriter`), what is kept to answer NACKs
(:class:`~sfu.forwarding.PacketHistory`), when to NACK upstream
(:class:`~sfu.forwarding.MissingPackets`) and when to ask for a keyframe
(:class:`~sfu.forwarding.KeyframeThrottle`), and it feeds audio levels to the room's
:class:`~sfu.speaker.ActiveSpeaker`. The adapter (:class:`sfu.track.PublishedTrack`) reads
the clock and does the sending.

This is the relay's hot path: nothing is allocated per packet beyond what is sent and kept
(the rewritten numbers and the history entry); the results are constants and reused lists.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from aiortc.rtp import RtpPacket

from sfu.forwarding import (
    HISTORY_SIZE,
    KeyframeThrottle,
    MissingPackets,
    PacketHistory,
    SentPacket,
    StreamRewriter,
)
from sfu.keyframes import H264_IDR, H264_SPS, h264_start, vp8_keyframe
from sfu.rtpwrite import abs_send_time_element, audio_level_element
from sfu.speaker import ActiveSpeaker

__all__ = ["ACCEPTED", "KEYFRAME", "NACK", "SEND", "TIMER", "Output", "Router"]

#: :meth:`Router.receive_rtp` actions (bits).
ACCEPTED, SEND, NACK, KEYFRAME, TIMER = 1, 2, 4, 8, 16

_OTHER, _VP8, _H264 = 0, 1, 2
_CODECS = {"video/vp8": _VP8, "video/h264": _H264}


class Output:
    """One subscriber's stream of a published track, as the router sees it. The adapter
    subclasses it (:class:`sfu.track.Forward`) and answers :meth:`connected`."""

    __slots__ = (
        "early",
        "ext_ids",
        "history",
        "octets",
        "out_seq",
        "packet",
        "payload_type",
        "ready",
        "rewriter",
    )

    def __init__(self, rewriter: StreamRewriter, history: int = HISTORY_SIZE) -> None:
        """``history``: packets kept to answer NACKs (1 for a stream nobody NACKs)."""
        self.rewriter = rewriter
        #: What was sent, by outgoing sequence number, enough to send it again; the payload
        #: is shared with the other subscribers.
        self.history: PacketHistory[SentPacket] = PacketHistory(history)
        #: The subscriber's payload type for the track's codec.
        self.payload_type = 0
        #: Extension ids the subscriber agreed to: (abs-send-time, audio-level); 0 = not used.
        self.ext_ids: tuple[int, int] = (0, 0)
        #: Negotiated: packets may go to it.
        self.ready = False
        #: May start before it is :meth:`connected`: the adapter holds what it is sent until
        #: then (a video stream starts on the keyframe asked for when it was negotiated).
        self.early = False
        #: Payload bytes sent.
        self.octets = 0
        #: This packet, for the adapter (see :data:`SEND`): its sequence number and what
        #: goes out (header byte 1, timestamp, header extension elements, payload).
        self.out_seq = 0
        self.packet: SentPacket = (0, 0, b"", b"")

    def connected(self) -> bool:
        """Whether the subscriber can receive now (a stream starts only then)."""
        return True


OutputT = TypeVar("OutputT", bound=Output)


class Router(Generic[OutputT]):
    """The decisions for one published track (see the module docstring), for outputs of
    type ``OutputT``."""

    __slots__ = (
        "_codec",
        "_participant_id",
        "_shared",
        "_speaker",
        "h264_sps_inband",
        "media_ssrc",
        "nacks",
        "outputs",
        "packets",
        "payload_type",
        "rtx_payload_type",
        "sends",
        "throttle",
        "video",
    )

    def __init__(
        self,
        participant_id: str,
        speaker: ActiveSpeaker,
        *,
        video: bool,
        mime_type: str,
        payload_type: int | None,
        rtx_payload_type: int | None = None,
    ) -> None:
        self._participant_id = participant_id
        self._speaker = speaker
        self.video = video
        self._codec = _CODECS.get(mime_type.lower(), _OTHER) if video else _OTHER
        self.payload_type = payload_type
        #: The RTX payload type that repairs the codec, if the publisher negotiated one.
        self.rtx_payload_type = rtx_payload_type
        self.throttle = KeyframeThrottle()
        #: Video only: which sequence numbers are missing, to NACK upstream.
        self.nacks = MissingPackets() if video else None
        self.media_ssrc: int | None = None
        #: Packets accepted.
        self.packets = 0
        #: H.264: the publisher sends SPS/PPS in-band (then new subscribers start on them).
        self.h264_sps_inband = False
        self.outputs: list[OutputT] = []
        #: The outputs the last packet goes to (:data:`SEND`); reused.
        self.sends: list[OutputT] = []
        self._shared: dict[tuple[int, int], bytes] = {}

    def remove(self, output: OutputT) -> None:
        if output in self.outputs:
            self.outputs.remove(output)

    def missing(self) -> list[int]:
        """The sequence numbers to NACK upstream, in order (see :data:`NACK`)."""
        return sorted(self.nacks.missing) if self.nacks is not None else []

    def keyframe(self, payload: bytes) -> bool:
        codec = self._codec
        if codec == _VP8:
            return vp8_keyframe(payload)
        if codec == _H264:
            # Start where the parameter sets are, once the publisher is seen to send them
            # in-band: an IDR without them cannot be decoded, and the decoder would ask again.
            start = h264_start(payload)
            if start == H264_SPS:
                self.h264_sps_inband = True
                return True
            return start == H264_IDR and not self.h264_sps_inband
        return True  # unknown video codec: do not gate

    def request_keyframe(self, now: float, output: OutputT | None = None) -> int:
        """A subscriber (``output``, if known) needs a keyframe: :data:`KEYFRAME` to ask now,
        :data:`TIMER` if the request waits for the rate limit, else 0 (audio, nothing
        received yet, or a keyframe already on its way). An output that has not started on
        this track yet has no picture at all: its request is a first one, which does not
        wait for the interval (:meth:`KeyframeThrottle.request`)."""
        media_ssrc = self.media_ssrc
        if not self.video or media_ssrc is None:
            return 0
        first = output is not None and not output.rewriter.follows(media_ssrc)
        if self.throttle.request(now, first):
            return KEYFRAME
        return TIMER if self.throttle.next_due() is not None else 0

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` is due, if anything waits."""
        return self.throttle.next_due()

    def handle_timer(self, now: float) -> int:
        """:data:`KEYFRAME` if the deferred request goes now, else 0."""
        return KEYFRAME if self.throttle.due(now) else 0

    def receive_rtp(self, packet: RtpPacket, now: float) -> int:
        """One RTP packet from the publisher: what to do (the module docstring's actions)."""
        payload = packet.payload
        payload_type = packet.payload_type
        actions = ACCEPTED
        if payload_type == self.payload_type:
            ssrc, seq = packet.ssrc, packet.sequence_number
            self.media_ssrc = ssrc
            if self.nacks is not None and self.nacks.add(seq):
                actions = ACCEPTED | NACK
        elif (
            payload_type == self.rtx_payload_type
            and self.media_ssrc is not None
            and len(payload) > 2
        ):
            # A retransmission we asked for (RFC 4588): the original sequence number leads.
            ssrc, seq, payload = self.media_ssrc, (payload[0] << 8) | payload[1], payload[2:]
            if self.nacks is not None:
                self.nacks.missing.discard(seq)
        else:
            return 0  # another codec than the one negotiated first: not relayed
        self.packets += 1
        video = self.video
        throttle = self.throttle
        extensions = packet.extensions
        audio_level = extensions.audio_level
        if not video and audio_level is not None:
            self._speaker.observe(self._participant_id, audio_level[1], now)
        elif throttle.due(now):
            actions |= KEYFRAME
        if not payload:
            # Padding only (bandwidth probing): nothing to relay, but the numbering closes
            # up behind it, or subscribers would ask for packets that never come.
            for output in self.outputs:
                output.rewriter.drop(ssrc, seq)
            return actions
        keyframe: bool | None = None
        if throttle.outstanding and video:
            keyframe = self.keyframe(payload)
            if keyframe:
                throttle.keyframe_seen()
        ts, marker = packet.timestamp, 0x80 if packet.marker else 0
        size = len(payload)
        abs_send_time = extensions.abs_send_time
        shared = self._shared
        shared.clear()
        sends = self.sends
        sends.clear()
        for output in self.outputs:
            if not output.ready:
                continue
            rewriter = output.rewriter
            out = rewriter.rewrite(ssrc, seq, ts)
            if out is None:
                # Not started. (Looked at first: it learns whether parameter sets come
                # in-band.) Only once the subscriber can receive, or the keyframe it starts
                # on is lost and its decoder has to ask for another (a PLI round trip and a
                # new keyframe later); a keyframe is asked for when it connects.
                if video and keyframe is None:
                    keyframe = self.keyframe(payload)
                if not (output.early or output.connected()):
                    continue
                if video and not keyframe:
                    actions |= self.request_keyframe(now, output)
                    continue
                rewriter.start(ssrc, seq, ts)
                out = rewriter.rewrite(ssrc, seq, ts)
                assert out is not None
            ext_ids = output.ext_ids
            elements = shared.get(ext_ids)
            if elements is None:
                abs_id, level_id = ext_ids
                elements = b""
                if abs_id and abs_send_time is not None:
                    elements += abs_send_time_element(abs_id, abs_send_time)
                if level_id and audio_level is not None:
                    elements += audio_level_element(level_id, *audio_level)
                shared[ext_ids] = elements
            out_seq, out_ts = out
            sent = (marker | output.payload_type, out_ts, elements, payload)
            output.history.put(out_seq, sent)
            output.octets += size
            output.out_seq = out_seq
            output.packet = sent
            sends.append(output)
        if sends:
            actions |= SEND
        return actions
