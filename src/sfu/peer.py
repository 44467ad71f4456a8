"""One participant's two peer connections: the publisher connection it sends on, the
subscriber connection it receives on, and the negotiation of both.

Offers are checked (:mod:`sfu.sdp`) before aiortc sees them. Each published m-line becomes a
:class:`~sfu.track.PublishedTrack`; each track of someone else a
:class:`~sfu.track.Forward` on an m-line of the subscriber connection, reused once its track
is gone. The subscriber connection is offered again when its m-lines change, one offer in
flight at a time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from aiortc import (
    MediaStreamTrack,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.codecs import is_rtx
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.sdp import candidate_from_sdp

from sfu import internals
from sfu.egress import Egress
from sfu.errors import MediaError
from sfu.forwarding import StreamRewriter
from sfu.listener import TrackInfo
from sfu.sdp import (
    MAX_PUBLISHED_TRACKS,
    advertise_public_ip,
    check_offer,
    has_candidates,
    source_for,
)
from sfu.track import Forward, PublishedTrack, RelayTrack

if TYPE_CHECKING:
    from sfu.room import MediaRoom

internals.install_guard()

__all__ = ["CLOSE_WAIT", "MAX_PENDING_CANDIDATES", "MediaPeer", "close_peer_connection"]

logger = logging.getLogger(__name__)

#: Seconds to wait for a closed peer connection's tasks to finish.
CLOSE_WAIT = 5.0
#: Trickled candidates held per connection until it can take them (it has the remote
#: description: the publisher once the client's offer is in, the subscriber once answered).
MAX_PENDING_CANDIDATES = 32


class MediaPeer:
    """One participant's two peer connections."""

    def __init__(
        self, room: MediaRoom, participant_id: str, may_publish: bool, receives: bool = True
    ) -> None:
        self.room = room
        self.id = participant_id
        self.may_publish = may_publish
        #: False: a publish-only peer (its participant receives on another worker's room).
        self.receives = receives
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
                if forward.started():
                    forward.connected_now()  # it started early: what it held goes now
                else:
                    forward.early = False
                    forward.track.request_keyframe(now, forward)
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
        if not has_candidates(answer_sdp):
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
        negotiated = internals.codecs(transceiver)
        codecs = [c for c in negotiated if not is_rtx(c)]
        if not codecs:
            return
        source = source_for(track.kind, self._sources.get(mid))
        if source in ("screen", "screen_audio") and not self.room.screen_share_allowed():
            logger.info("%s: screen share refused by the room", self.id)
            return
        info = TrackInfo(f"{self.id}:{mid}", self.id, track.kind, source)
        rtx = next(
            (
                c.payloadType
                for c in negotiated
                if is_rtx(c) and c.parameters.get("apt") == codecs[0].payloadType
            ),
            None,
        )
        published = PublishedTrack(info, self, transceiver.receiver, codecs[0], rtx)
        published.take_rtp()
        self.published[mid] = published
        self.room.track_added(published)

    # -- subscribing -----------------------------------------------------------------------

    def add_forward(self, track: PublishedTrack) -> None:
        if self._closed or not self.receives or track.info.id in self.incoming:
            return
        if track.info.participant_id == self.id:
            return  # their own track, relayed from where they publish
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
            rewriter = StreamRewriter(internals.sender_ssrc(transceiver.sender), 1, 0, step)
        self._changes += 1
        internals.set_stream_id(transceiver.sender, track.info.participant_id)
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
        internals.take_sender_rtcp(sender, forward.on_rtcp)  # its RTCP comes to us
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
        if not has_candidates(sdp):
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
                # Video starts on a keyframe asked for now, not once the connection is up
                # (a round trip to the publisher later): what comes before that is held.
                forward.early = forward.track.is_video and not connected
                forward.track.request_keyframe(now, forward)
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
    pending = internals.connect_tasks(pc)
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
    tasks = [
        task
        for task in map(internals.stop_consent, internals.ice_transports(pc))
        if task is not None
    ]
    if tasks:
        await asyncio.wait(tasks, timeout=CLOSE_WAIT)
