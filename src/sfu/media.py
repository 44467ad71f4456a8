"""aiortc adapter: publisher and subscriber peer connections per participant, and the relay
of encoded RTP between them.

Nothing here decodes or encodes. Incoming RTP is taken from each publisher receiver before
aiortc's jitter buffer (``RTCRtpReceiver._handle_rtp_packet`` is replaced per receiver), and
sent to each subscriber through its :class:`~sfu.egress.Egress` (SRTP with its DTLS session,
then its ICE socket), with the subscriber's SSRC, payload type, sequence numbers, timestamps
and header extension ids. The subscriber senders carry a :class:`RelayTrack` that never
yields a frame, so aiortc's encoder never runs. RTCP from subscribers (PLI/FIR, NACK) is
handled here instead of by aiortc.

This module knows nothing of HTTP, the store or roles beyond ``may_publish``; it reports to a
:class:`MediaListener`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceCandidate,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpCodecParameters,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.codecs import is_rtx
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcicetransport import RTCIceTransport
from aiortc.rtcrtpreceiver import NackGenerator
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
from aiortc.sdp import SessionDescription, candidate_from_sdp

from sfu.background import log_failure
from sfu.egress import Egress
from sfu.forwarding import KeyframeThrottle, PacketHistory, SentPacket, StreamRewriter
from sfu.guard import install as _guard_media_sockets
from sfu.keyframes import H264_IDR, H264_SPS, h264_start, vp8_keyframe
from sfu.rtpwrite import abs_send_time_element, audio_level_element, element
from sfu.speaker import ActiveSpeaker
from sfu.stats import STATS

_guard_media_sockets()

__all__ = [
    "MAX_PENDING_CANDIDATES",
    "MAX_PUBLISHED_TRACKS",
    "MediaError",
    "MediaListener",
    "MediaPeer",
    "MediaRoom",
    "RelayTrack",
    "TrackInfo",
]

logger = logging.getLogger(__name__)

#: Tracks one participant may publish at once (microphone, camera, screen, screen audio).
MAX_PUBLISHED_TRACKS = 4
SOURCES = ("microphone", "camera", "screen", "screen_audio")
#: Seconds to wait for a closed peer connection's tasks to finish.
CLOSE_WAIT = 5.0
#: Trickled candidates held per connection until it can take them (it has the remote
#: description: the publisher once the client's offer is in, the subscriber once answered).
MAX_PENDING_CANDIDATES = 32
URI_MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
URI_ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
URI_AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"


class MediaError(Exception):
    """An offer or answer the SFU cannot take; ``code`` goes into the ``error`` reply."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class TrackInfo:
    """A published track as others see it. ``id`` is also the msid track id in the
    subscriber's SDP, so a client can tell whose track arrived."""

    id: str
    participant_id: str
    kind: str
    source: str


class MediaListener(Protocol):
    def subscribe_offer(self, participant_id: str, sdp: str, tracks: dict[str, str]) -> None:
        """An offer for the participant's subscriber connection; ``tracks`` maps each mid
        that carries a track to the track's id (a mid is reused once its track is gone)."""

    def track_published(self, track: TrackInfo) -> None: ...

    def track_unpublished(self, track: TrackInfo) -> None: ...

    def active_speaker(self, participant_id: str | None) -> None: ...

    def media_failed(self, participant_id: str) -> None:
        """A peer connection of ``participant_id`` failed (ICE consent lost: the client's
        UDP went silent for ~30 s, or connectivity checks never succeeded). Called once."""


class RelayTrack(MediaStreamTrack):
    """The track a subscriber sender carries: it never produces a frame, so the sender's
    encoding loop waits forever and costs nothing; packets are sent around it."""

    def __init__(self, kind: str, track_id: str) -> None:
        super().__init__()
        self.kind = kind
        self._id = track_id
        self._never: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    async def recv(self) -> Any:
        return await self._never

    def stop(self) -> None:
        super().stop()
        if not self._never.done():
            self._never.cancel()


def advertise_public_ip(sdp: str, public_ip: str | None) -> str:
    """Our SDP with host candidates (and ``c=`` lines) showing ``public_ip``: for a server
    behind a 1:1 NAT or a cloud firewall that forwards the RTC ports unchanged."""
    if not public_ip:
        return sdp
    family = "IP6" if ":" in public_ip else "IP4"
    lines = []
    for line in sdp.split("\r\n"):
        if line.startswith("a=candidate:"):
            fields = line.split(" ")
            if len(fields) >= 8 and fields[6] == "typ" and fields[7] == "host":
                fields[4] = public_ip
                line = " ".join(fields)
        elif line.startswith("c=IN "):
            line = f"c=IN {family} {public_ip}"
        lines.append(line)
    return "\r\n".join(lines)


def _has_candidates(sdp: str) -> bool:
    return "\r\na=candidate:" in sdp


def check_offer(text: str) -> None:
    """Refuse an SDP offer aiortc would take silently but cannot use: no media, too many
    media sections, no DTLS fingerprint or ICE credentials."""
    try:
        description = SessionDescription.parse(text)
    except Exception:
        raise MediaError("invalid_sdp", "the offer is not valid SDP") from None
    media = [m for m in description.media if m.kind in ("audio", "video")]
    if not media:
        raise MediaError("invalid_sdp", "the offer has no audio or video section")
    if len(description.media) > MAX_PUBLISHED_TRACKS + 1:
        raise MediaError(
            "too_many_tracks", f"at most {MAX_PUBLISHED_TRACKS} tracks may be published"
        )
    for section in media:
        if section.dtls is None or not section.dtls.fingerprints:
            raise MediaError("invalid_sdp", "the offer has no DTLS fingerprint")
        if section.ice is None or not section.ice.usernameFragment or not section.ice.password:
            raise MediaError("invalid_sdp", "the offer has no ICE credentials")
        formats = [*section.fmt, *(c.payloadType for c in section.rtp.codecs)]
        if any(not isinstance(pt, int) or not 0 <= pt <= 127 for pt in formats):
            raise MediaError("invalid_sdp", "payload types must be between 0 and 127")


@dataclass(eq=False, slots=True)
class Forward:
    """One published track flowing to one subscriber."""

    track: PublishedTrack
    subscriber: MediaPeer
    transceiver: RTCRtpTransceiver
    sender: RTCRtpSender
    rewriter: StreamRewriter
    #: What was sent, by outgoing sequence number: (header byte 1, timestamp, elements,
    #: payload), enough to send it again; the payload is shared with the other subscribers.
    history: PacketHistory[SentPacket] = field(default_factory=PacketHistory)
    payload_type: int = 0
    #: The ``mid`` header extension element for this subscriber's m-line.
    mid_element: bytes = b""
    #: Extension ids the subscriber agreed to: (abs-send-time, audio-level); 0 = not used.
    ext_ids: tuple[int, int] = (0, 0)
    ready: bool = False
    sent: int = 0
    octets: int = 0

    def negotiated(self) -> None:
        """Called once the subscriber answered: learn what was agreed."""
        codecs = [c for c in self.transceiver._codecs if not is_rtx(c)]
        if not codecs or codecs[0].payloadType is None:
            return
        self.payload_type = codecs[0].payloadType
        ids = {ext.uri: ext.id for ext in self.transceiver._headerExtensions}
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
        if egress is None or egress.dtls is not dtls or dtls._state is not DtlsState.CONNECTED:
            egress = self.subscriber.open_egress(dtls)
            if egress is None:
                return  # not connected (yet, or any more)
        if egress.send_rtp(
            second, seq, ts, self.rewriter.ssrc, self.mid_element, elements, payload
        ):
            self.sent += 1
            STATS.forwarded_packets += 1
        else:
            STATS.dropped_packets += 1


@dataclass(eq=False, slots=True)
class PublishedTrack:
    info: TrackInfo
    owner: MediaPeer
    receiver: RTCRtpReceiver
    codec: RTCRtpCodecParameters
    #: The RTX payload type that repairs ``codec``, if the publisher negotiated one.
    rtx_payload_type: int | None = None
    throttle: KeyframeThrottle = field(default_factory=KeyframeThrottle)
    forwards: list[Forward] = field(default_factory=list)
    media_ssrc: int | None = None
    packets: int = 0
    #: Video only: which sequence numbers are missing, to NACK upstream (bounded by aiortc).
    nacks: NackGenerator | None = None
    #: H.264: the publisher sends SPS/PPS in-band (then new subscribers start on them).
    h264_sps_inband: bool = False

    @property
    def is_video(self) -> bool:
        return self.info.kind == "video"

    def keyframe(self, payload: bytes) -> bool:
        mime = self.codec.mimeType.lower()
        if mime == "video/vp8":
            return vp8_keyframe(payload)
        if mime == "video/h264":
            # Start where the parameter sets are, once the publisher is seen to send them
            # in-band: an IDR without them cannot be decoded, and the decoder would ask again.
            start = h264_start(payload)
            if start == H264_SPS:
                self.h264_sps_inband = True
                return True
            return start == H264_IDR and not self.h264_sps_inband
        return True  # unknown video codec: do not gate

    def request_keyframe(self, now: float) -> None:
        if self.is_video and self.media_ssrc is not None and self.throttle.request(now):
            self._send_pli()

    def _send_pli(self) -> None:
        assert self.media_ssrc is not None
        STATS.keyframe_requests += 1
        task = asyncio.ensure_future(self.receiver._send_rtcp_pli(self.media_ssrc))
        task.add_done_callback(log_failure)

    async def on_rtp(self, packet: RtpPacket, arrival_time_ms: int = 0) -> None:
        """Replaces ``RTCRtpReceiver._handle_rtp_packet``: relay, never decode."""
        payload = packet.payload
        if packet.payload_type == self.codec.payloadType:
            ssrc, seq = packet.ssrc, packet.sequence_number
            self.media_ssrc = ssrc
            if self.nacks is not None and self.nacks.add(packet):
                await self.receiver._send_rtcp_nack(ssrc, sorted(self.nacks.missing))
        elif (
            packet.payload_type == self.rtx_payload_type
            and self.media_ssrc is not None
            and len(payload) > 2
        ):
            # A retransmission we asked for (RFC 4588): the original sequence number leads.
            ssrc, seq, payload = self.media_ssrc, (payload[0] << 8) | payload[1], payload[2:]
            if self.nacks is not None:
                self.nacks.missing.discard(seq)
        else:
            return  # another codec than the one negotiated first: not relayed
        self.packets += 1
        STATS.received_packets += 1
        now = time.monotonic()
        if not self.is_video and packet.extensions.audio_level is not None:
            self.owner.room.speaker.observe(self.owner.id, packet.extensions.audio_level[1], now)
        elif self.throttle.due(now):
            self._send_pli()
        if not payload:
            # Padding only (bandwidth probing): nothing to relay, but the numbering closes
            # up behind it, or subscribers would ask for packets that never come.
            for fwd in self.forwards:
                fwd.rewriter.drop(ssrc, seq)
            return
        keyframe: bool | None = None
        if self.throttle.outstanding and self.is_video:
            keyframe = self.keyframe(payload)
            if keyframe:
                self.throttle.keyframe_seen()
        ts, marker = packet.timestamp, 0x80 if packet.marker else 0
        size = len(payload)
        abs_send_time = packet.extensions.abs_send_time
        audio_level = packet.extensions.audio_level
        shared: dict[tuple[int, int], bytes] = {}
        for fwd in self.forwards:
            if not fwd.ready:
                continue
            out = fwd.rewriter.rewrite(ssrc, seq, ts)
            if out is None:
                # Not started. (Looked at first: it learns whether parameter sets come
                # in-band.) Only once the subscriber can receive, or the keyframe it starts
                # on is lost and its decoder has to ask for another (a PLI round trip and a
                # new keyframe later); a keyframe is asked for when it connects.
                if self.is_video and keyframe is None:
                    keyframe = self.keyframe(payload)
                if fwd.sender.transport._state is not DtlsState.CONNECTED:
                    continue
                if self.is_video and not keyframe:
                    self.request_keyframe(now)
                    continue
                fwd.rewriter.start(ssrc, seq, ts)
                out = fwd.rewriter.rewrite(ssrc, seq, ts)
                assert out is not None
            elements = shared.get(fwd.ext_ids)
            if elements is None:
                abs_id, level_id = fwd.ext_ids
                elements = b""
                if abs_id and abs_send_time is not None:
                    elements += abs_send_time_element(abs_id, abs_send_time)
                if level_id and audio_level is not None:
                    elements += audio_level_element(level_id, *audio_level)
                shared[fwd.ext_ids] = elements
            second = marker | fwd.payload_type
            out_seq, out_ts = out
            fwd.history.put(out_seq, (second, out_ts, elements, payload))
            fwd.octets += size
            fwd.transmit(second, out_seq, out_ts, elements, payload)

    def on_sender_report(self, report: RtcpSrPacket) -> None:
        """The publisher's RTCP SR maps its RTP clock to wall-clock time; each subscriber
        sender reports the same moment in its own timestamps, so browsers can line up audio
        and video. aiortc's sender loop sends these fields; it never fills them itself here,
        as no frame goes through it."""
        if report.ssrc != self.media_ssrc:
            return
        info = report.sender_info
        for fwd in self.forwards:
            out_ts = fwd.rewriter.timestamp(report.ssrc, info.rtp_timestamp)
            if out_ts is None:
                continue
            fields = {
                "ntp_timestamp": info.ntp_timestamp,
                "rtp_timestamp": out_ts,
                "packet_count": fwd.sent,
                "octet_count": fwd.octets,
            }
            for name, value in fields.items():  # RTCRtpSender's private SR fields
                setattr(fwd.sender, f"_RTCRtpSender__{name}", value)

    def remove_forward(self, forward: Forward) -> None:
        if forward in self.forwards:
            self.forwards.remove(forward)


def _watch_sender_reports(
    handle: Callable[[AnyRtcpPacket], Coroutine[Any, Any, None]], track: PublishedTrack
) -> Callable[[AnyRtcpPacket], Coroutine[Any, Any, None]]:
    async def handle_and_watch(packet: AnyRtcpPacket) -> None:
        await handle(packet)
        if isinstance(packet, RtcpSrPacket):
            track.on_sender_report(packet)

    handle_and_watch.__wrapped__ = handle  # type: ignore[attr-defined]
    return handle_and_watch


async def _drop_rtp(packet: RtpPacket, arrival_time_ms: int = 0) -> None:
    """What an unpublished track's receiver does with late packets: nothing."""


class MediaPeer:
    """One participant's two peer connections."""

    def __init__(self, room: MediaRoom, participant_id: str, may_publish: bool) -> None:
        self.room = room
        self.id = participant_id
        self.may_publish = may_publish
        config = room.rtc_configuration
        self.publisher = RTCPeerConnection(config)
        self.subscriber = RTCPeerConnection(config)
        self.published: dict[str, PublishedTrack] = {}
        #: track id -> forward of someone else's track to this participant
        self.incoming: dict[str, Forward] = {}
        #: subscriber m-lines whose track is gone, to reuse, with their stream state
        self._spare: dict[RTCRtpTransceiver, StreamRewriter] = {}
        #: publisher mids aiortc already announced a track for
        self._seen_mids: set[str] = set()
        self._sources: dict[str, str] = {}
        self._negotiating = False
        #: Changes to the subscriber's m-lines so far, and how many the last offer carried:
        #: a change during a negotiation makes one more offer after the answer, and no
        #: change none.
        self._changes = 0
        self._offered = -1
        #: The offer waiting for its answer, as sent (SDP, mid -> track id).
        self._outstanding: tuple[str, dict[str, str]] | None = None
        #: ``ice_candidate``s that came before their connection could take them.
        self._early: dict[str, list[RTCIceCandidate | None]] = {
            "publisher": [],
            "subscriber": [],
        }
        self._closed = False
        #: The fast way out to this participant's subscriber connection, once connected.
        self.egress: Egress | None = None
        self._failed = False
        self.publisher.on("track", self._on_track)
        for pc in (self.publisher, self.subscriber):
            pc.on("connectionstatechange", self._connection_changed)

    def _connection_changed(self) -> None:
        """A connection we did not close failed or closed: ICE consent was lost (the
        client's UDP went silent), or the client closed it. Either way this participant has
        no media any more."""
        if self._closed or self._failed:
            return
        if self.subscriber.connectionState == "connected":
            now = time.monotonic()
            for forward in self.incoming.values():
                forward.track.request_keyframe(now)
        states = (self.publisher.connectionState, self.subscriber.connectionState)
        if "failed" in states or "closed" in states:
            self._failed = True
            logger.info("%s: media connection %s", self.id, "/".join(states))
            self.room.listener.media_failed(self.id)

    # -- publishing ------------------------------------------------------------------------

    async def publish_offer(self, sdp: str, sources: dict[str, str]) -> str:
        """The client's publisher offer; returns the answer."""
        if not self.may_publish:
            raise MediaError("forbidden", "your role may not publish")
        check_offer(sdp)
        self._sources.update(sources)  # a later offer may name only its new m-lines
        try:
            await self.publisher.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
            answer = await self.publisher.createAnswer()
            await self.publisher.setLocalDescription(answer)
        except MediaError:
            raise
        except Exception as exc:  # aiortc raises many types on bad SDP
            raise MediaError("invalid_sdp", f"the offer could not be used: {exc}"[:300]) from None
        mids = {t.mid for t in self.publisher.getTransceivers()}
        self._sources = {m: v for m, v in self._sources.items() if m in mids}  # bounded
        await self._add_early_candidates("publisher")
        self._sync_published()
        answer_sdp = self.publisher.localDescription.sdp
        if not _has_candidates(answer_sdp):
            raise MediaError("no_media_ports", "the server has no free media port; try later")
        return advertise_public_ip(answer_sdp, self.room.public_ip)

    def _sync_published(self) -> None:
        """After a publisher offer: a track whose m-line no longer sends (the client set it
        inactive, or stopped it) is unpublished; one that sends again is published again
        (aiortc fires ``track`` only the first time)."""
        for transceiver in self.publisher.getTransceivers():
            mid = transceiver.mid
            sending = transceiver.currentDirection in ("recvonly", "sendrecv")
            if mid in self.published and not sending:
                self.room.track_removed(self.published.pop(mid))
            elif mid is not None and mid not in self.published and sending:
                track = transceiver.receiver.track
                if track is not None and mid in self._seen_mids:
                    self._on_track(track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        transceiver = next(
            (t for t in self.publisher.getTransceivers() if t.receiver.track is track), None
        )
        if transceiver is None or self._closed:
            return
        mid = transceiver.mid or str(len(self.published))
        self._seen_mids.add(mid)
        if len(self.published) >= MAX_PUBLISHED_TRACKS:
            logger.info("%s: track refused: %d already published", self.id, MAX_PUBLISHED_TRACKS)
            return
        codecs = [c for c in transceiver._codecs if not is_rtx(c)]
        if not codecs:
            return
        source = self._sources.get(mid) or ("microphone" if track.kind == "audio" else "camera")
        if source not in SOURCES:
            source = "camera" if track.kind == "video" else "microphone"
        if source in ("screen", "screen_audio") and not self.room.screen_share_allowed():
            logger.info("%s: screen share refused by the room", self.id)
            return
        info = TrackInfo(f"{self.id}:{mid}", self.id, track.kind, source)
        rtx = next(
            (
                c.payloadType
                for c in transceiver._codecs
                if is_rtx(c) and c.parameters.get("apt") == codecs[0].payloadType
            ),
            None,
        )
        published = PublishedTrack(
            info,
            self,
            transceiver.receiver,
            codecs[0],
            rtx_payload_type=rtx,
            nacks=NackGenerator() if track.kind == "video" else None,
        )
        transceiver.receiver._handle_rtp_packet = published.on_rtp  # type: ignore[method-assign]
        handler = transceiver.receiver._handle_rtcp_packet
        handler = getattr(handler, "__wrapped__", handler)  # published again: rewrap
        transceiver.receiver._handle_rtcp_packet = _watch_sender_reports(  # type: ignore[method-assign,assignment]
            handler, published
        )
        self.published[mid] = published
        self.room.track_added(published)

    # -- subscribing -----------------------------------------------------------------------

    def add_forward(self, track: PublishedTrack) -> None:
        if self._closed or track.info.id in self.incoming:
            return
        relay = RelayTrack(track.info.kind, track.info.id)
        step = 3000 if track.is_video else 960
        # An m-line whose track is gone (and negotiated inactive) is reused: the subscriber's
        # SDP and transceivers stay as many as tracks at once, however many come and go.
        transceiver = next(
            (
                t
                for t in self._spare
                if t.kind == track.info.kind and t.currentDirection == "inactive"
            ),
            None,
        )
        if transceiver is not None:
            # Same SSRC: the sequence numbers and timestamps carry on from the last track.
            rewriter = self._spare.pop(transceiver)
            transceiver.sender.replaceTrack(relay)
            transceiver.direction = "sendonly"
        else:
            transceiver = self.subscriber.addTransceiver(relay, direction="sendonly")
            rewriter = StreamRewriter(transceiver.sender._ssrc, 1, 0, step)
        self._changes += 1
        transceiver.sender._stream_id = track.info.participant_id
        codec = track.codec
        transceiver.setCodecPreferences(
            [
                RTCRtpCodecCapability(
                    mimeType=codec.mimeType,
                    clockRate=codec.clockRate,
                    channels=codec.channels,
                    parameters=dict(codec.parameters),
                )
            ]
        )
        sender = transceiver.sender
        forward = Forward(track, self, transceiver, sender, rewriter)
        # Instance override of an aiortc internal: RTCP for this sender comes to us.
        sender._handle_rtcp_packet = self._rtcp_handler(forward)  # type: ignore[method-assign,assignment]
        self.incoming[track.info.id] = forward
        track.forwards.append(forward)

    def remove_forward(self, track_id: str) -> None:
        forward = self.incoming.pop(track_id, None)
        if forward is not None:
            forward.ready = False
            forward.track.remove_forward(forward)
            forward.transceiver.direction = "inactive"
            self._spare[forward.transceiver] = forward.rewriter
            self._changes += 1

    def _rtcp_handler(
        self, forward: Forward
    ) -> Callable[[AnyRtcpPacket], Coroutine[Any, Any, None]]:
        async def handle(packet: AnyRtcpPacket) -> None:
            if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
                for seq in packet.lost:
                    sent = forward.history.get(seq)
                    if sent is not None:
                        second, ts, elements, payload = sent
                        STATS.retransmitted_packets += 1
                        forward.transmit(second, seq, ts, elements, payload)
            elif isinstance(packet, RtcpPsfbPacket) and packet.fmt in (
                RTCP_PSFB_PLI,
                RTCP_PSFB_FIR,
            ):
                forward.track.request_keyframe(time.monotonic())

        return handle

    async def negotiate(self) -> None:
        """Offer the subscriber connection again if its m-lines changed since the last offer.
        One offer is in flight at a time: changes meanwhile go into a single next offer, once
        the client answered. A failure is logged (the session goes on)."""
        if self._closed or self._negotiating or self._offered == self._changes:
            return
        if not self.subscriber.getTransceivers():
            return  # nothing to receive yet
        self._negotiating = True
        changes = self._changes
        try:
            offer = await self.subscriber.createOffer()
            await self.subscriber.setLocalDescription(offer)
        except Exception as exc:
            self._negotiating = False
            if not self._closed:
                logger.warning(
                    "%s: subscriber renegotiation failed: %s: %s",
                    self.id,
                    type(exc).__name__,
                    str(exc)[:200],
                )
            return
        self._offered = changes
        sdp = self.subscriber.localDescription.sdp
        if not _has_candidates(sdp):
            logger.warning("%s: no free media port for the subscriber connection", self.id)
        tracks = {
            f.transceiver.mid: track_id
            for track_id, f in self.incoming.items()
            if f.transceiver.mid is not None
        }
        self._outstanding = (advertise_public_ip(sdp, self.room.public_ip), tracks)
        self.room.listener.subscribe_offer(self.id, *self._outstanding)

    def offer_again(self) -> None:
        """Send the offer still waiting for an answer once more: the client came back on a
        new socket (a resume) and may never have seen it."""
        if self._outstanding is not None and not self._closed:
            self.room.listener.subscribe_offer(self.id, *self._outstanding)

    async def subscribe_answer(self, sdp: str) -> None:
        if not self._negotiating:
            raise MediaError("unexpected_answer", "no subscriber offer is waiting for an answer")
        try:
            await self.subscriber.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
        except Exception as exc:
            raise MediaError("invalid_sdp", f"the answer could not be used: {exc}"[:300]) from None
        now = time.monotonic()
        connected = self.subscriber.connectionState == "connected"
        for forward in self.incoming.values():
            if not forward.ready and forward.transceiver.direction == "sendonly":
                forward.negotiated()
                if connected:  # else: when it connects (_connection_changed)
                    forward.track.request_keyframe(now)
        self._negotiating = False
        self._outstanding = None
        await self._add_early_candidates("subscriber")
        await self.negotiate()  # whatever changed while this offer was out

    async def add_ice_candidate(
        self, target: str, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        """A trickled candidate from the client for its ``publisher`` or ``subscriber``
        connection; an empty candidate marks the end of the client's candidates. One that
        comes before its connection has the remote description is held (up to
        :data:`MAX_PENDING_CANDIDATES`) and added once it has."""
        pc = self.publisher if target == "publisher" else self.subscriber
        text = candidate.removeprefix("candidate:").strip()
        ice: RTCIceCandidate | None = None
        if text:
            try:
                ice = candidate_from_sdp(text)
            except Exception as exc:
                raise MediaError(
                    "invalid_candidate", f"the candidate could not be read: {exc}"[:200]
                ) from None
            ice.sdpMid = sdp_mid
            ice.sdpMLineIndex = sdp_mline_index
            if sdp_mid is None and sdp_mline_index is None:
                raise MediaError("invalid_candidate", "give sdp_mid or sdp_mline_index")
        if pc.remoteDescription is None:
            early = self._early[target]
            if len(early) >= MAX_PENDING_CANDIDATES:
                raise MediaError(
                    "too_many_candidates",
                    f"at most {MAX_PENDING_CANDIDATES} candidates are held for a connection "
                    "that has no remote description yet",
                )
            early.append(ice)
            return
        try:
            await pc.addIceCandidate(ice)
        except Exception as exc:
            raise MediaError(
                "invalid_candidate", f"the candidate could not be used: {exc}"[:200]
            ) from None

    async def _add_early_candidates(self, target: str) -> None:
        """Add the candidates held for ``target`` now that its connection can take them."""
        pc = self.publisher if target == "publisher" else self.subscriber
        early, self._early[target] = self._early[target], []
        for ice in early:
            try:
                await pc.addIceCandidate(ice)
            except Exception as exc:
                logger.info("%s: a held %s candidate could not be used: %s", self.id, target, exc)

    def open_egress(self, dtls: RTCDtlsTransport) -> Egress | None:
        """(Re)open the egress to this subscriber over ``dtls``; None while it cannot be used."""
        if self.egress is not None:
            self.egress.close()
            self.egress = None
        if not self._closed:
            self.egress = Egress.open(dtls)
        return self.egress

    async def close(self) -> None:
        self._closed = True
        if self.egress is not None:
            self.egress.close()
            self.egress = None
        for track_id in list(self.incoming):
            self.remove_forward(track_id)
        self._spare.clear()
        for pc in (self.publisher, self.subscriber):
            await close_peer_connection(pc)


async def close_peer_connection(pc: RTCPeerConnection) -> None:
    """Close ``pc`` and wait for its connection task: aiortc's ``close()`` stops the
    transports but leaves ``__connect`` to notice on its own, which would outlive the peer."""
    await pc.close()
    pending = [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "") == "RTCPeerConnection.__connect"
        and getattr(task.get_coro(), "cr_frame", None) is not None
        and task.get_coro().cr_frame.f_locals.get("self") is pc  # type: ignore[union-attr]
    ]
    if pending:
        await asyncio.wait(pending, timeout=CLOSE_WAIT)
    await _stop_late_consent(pc)


async def _stop_late_consent(pc: RTCPeerConnection) -> None:
    """Stop ICE consent checks that started after ``pc`` was closed.

    aioice's ``Connection.connect`` starts its consent task once it reads the finished check
    list; when ``close()`` runs between the checks finishing and ``connect`` resuming, the task
    starts after ``close()`` looked for it, and loops for ever over the (cleared) nominated
    pairs: one task leaked per such race. Call once the connection task has ended.
    """
    ice_transports: set[RTCIceTransport] = pc._RTCPeerConnection__iceTransports  # type: ignore[attr-defined]
    tasks = []
    for ice in ice_transports:
        task = ice._connection._query_consent_task
        if task is not None and not task.done():
            task.cancel()
            tasks.append(task)
    if tasks:
        await asyncio.wait(tasks, timeout=CLOSE_WAIT)


class MediaRoom:
    """The media side of one meeting."""

    def __init__(
        self,
        listener: MediaListener,
        *,
        ice_servers: list[RTCIceServer] | None = None,
        screen_share: bool = True,
        public_ip: str | None = None,
    ) -> None:
        self.listener = listener
        self.public_ip = public_ip
        # MAX_BUNDLE: every transceiver on one transport from the start. Under aiortc's
        # default (BALANCED), a second transceiver of a kind created before the first
        # negotiation is left on a transport that never connects.
        self.rtc_configuration = RTCConfiguration(
            iceServers=ice_servers or [], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE
        )
        self.peers: dict[str, MediaPeer] = {}
        self.speaker = ActiveSpeaker()
        self._screen_share = screen_share
        self._speaker_task: asyncio.Task[None] | None = None

    def screen_share_allowed(self) -> bool:
        return self._screen_share

    def tracks(self) -> list[TrackInfo]:
        return [t.info for p in self.peers.values() for t in p.published.values()]

    async def add_peer(self, participant_id: str, may_publish: bool) -> MediaPeer:
        if participant_id in self.peers:
            await self.detach_peer(participant_id)
        peer = MediaPeer(self, participant_id, may_publish)
        self.peers[participant_id] = peer
        for other in self.peers.values():
            if other is not peer:
                for track in other.published.values():
                    peer.add_forward(track)
        await peer.negotiate()
        if self._speaker_task is None:
            self._speaker_task = asyncio.create_task(self._watch_speakers())
        return peer

    async def remove_peer(self, participant_id: str) -> None:
        await self.detach_peer(participant_id)

    def detach_peer(self, participant_id: str) -> Coroutine[Any, Any, None]:
        """Take the participant's peer out of the room now: its tracks are unpublished (the
        listener told) and its speaker state forgotten before this returns. Returns the
        coroutine that closes its connections (up to :data:`CLOSE_WAIT`), for the caller to
        run where no lock is held."""
        peer = self.peers.pop(participant_id, None)
        if peer is not None:
            self.speaker.forget(peer.id)
            for track in list(peer.published.values()):
                self.track_removed(track)
        speakers = None
        if not self.peers and self._speaker_task is not None:
            speakers, self._speaker_task = self._speaker_task, None
            speakers.cancel()
        return self._finish_detach(peer, speakers)

    @staticmethod
    async def _finish_detach(peer: MediaPeer | None, speakers: asyncio.Task[None] | None) -> None:
        if peer is not None:
            await peer.close()
        if speakers is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await speakers

    async def close(self) -> None:
        for pid in list(self.peers):
            await self.remove_peer(pid)

    def track_added(self, track: PublishedTrack) -> None:
        self.listener.track_published(track.info)
        for peer in self.peers.values():
            if peer is not track.owner:
                peer.add_forward(track)
                task = asyncio.ensure_future(peer.negotiate())  # logs its own failures
                task.add_done_callback(log_failure)

    def track_removed(self, track: PublishedTrack) -> None:
        """``track`` is no longer published: its subscribers' m-lines go inactive (to be
        reused), and they are told."""
        track.receiver._handle_rtp_packet = _drop_rtp  # type: ignore[method-assign]
        for other in self.peers.values():
            if other.incoming.get(track.info.id) is not None:
                other.remove_forward(track.info.id)
                task = asyncio.ensure_future(other.negotiate())  # logs its own failures
                task.add_done_callback(log_failure)
        self.listener.track_unpublished(track.info)

    async def _watch_speakers(self) -> None:
        while True:
            await asyncio.sleep(0.2)  # a sampling period, not a wait for an event
            change = self.speaker.update(time.monotonic())
            if change is not False:
                self.listener.active_speaker(change if isinstance(change, str) else None)
