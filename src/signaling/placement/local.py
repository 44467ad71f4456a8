"""The placement of one process: every meeting's media in this process, on this loop, and
commands carried out here. Behind :class:`signaling.placement.seam.Placement`; the only module
of signaling that holds :mod:`sfu` objects."""

from __future__ import annotations

import logging
import os

from sfu.errors import MediaError
from sfu.guard import Drop
from sfu.listener import TrackInfo
from sfu.peer import MediaPeer
from sfu.room import MediaRoom
from sfu.stats import STATS
from signaling.background import Background
from signaling.placement.seam import (
    CommandsHere,
    MediaEvents,
    MediaSettings,
    MediaStats,
    TrackReport,
)

__all__ = ["LocalMedia", "LocalPlacement"]

logger = logging.getLogger(__name__)


def _report(track: TrackInfo) -> TrackReport:
    return TrackReport(track.id, track.participant_id, track.kind, track.source)


class _Events:
    """sfu's listener calls, as seam values; none once ``silenced`` (the media was lost)."""

    def __init__(self, events: MediaEvents) -> None:
        self._events = events
        self.silenced = False

    def subscribe_offer(self, participant_id: str, sdp: str, tracks: dict[str, str]) -> None:
        if not self.silenced:
            self._events.subscribe_offer(participant_id, sdp, tracks)

    def track_published(self, track: TrackInfo) -> None:
        if not self.silenced:
            self._events.track_published(_report(track))

    def track_unpublished(self, track: TrackInfo) -> None:
        if not self.silenced:
            self._events.track_unpublished(_report(track))

    def active_speaker(self, participant_id: str | None) -> None:
        if not self.silenced:
            self._events.active_speaker(participant_id)

    def media_failed(self, participant_id: str) -> None:
        if not self.silenced:
            self._events.media_failed(participant_id)


class LocalMedia:
    """A :class:`signaling.placement.seam.MediaChannel` over an in-process ``MediaRoom``."""

    def __init__(self, placement: LocalPlacement, events: MediaEvents, settings: MediaSettings):
        self._placement = placement
        self._events = events
        self._listener = _Events(events)
        self._lost = False
        #: The in-process media room: for this module, tests and tools only. Signaling
        #: talks to it through the channel's commands.
        self.room = MediaRoom(
            self._listener, screen_share=settings.screen_share, public_ip=settings.public_ip
        )

    def lose(self) -> None:
        """Lose every peer at once, as when a media process dies (for tests and tools: the
        worker placement reports the same when a worker goes). Each published track is
        reported unpublished, then ``media_lost``; nothing else is reported, and later
        commands raise ``MediaError`` ``media_lost``. Connections close in the background,
        without a word to the clients (their peer connections just go quiet)."""
        if self._lost:
            return
        self._lost = True
        tracks = self.room.tracks()
        # The room's own bookkeeping as peers go (forwards out, renegotiations) is not news:
        # a dead process says nothing.
        self._listener.silenced = True
        for participant_id in list(self.room.peers):
            self._placement.background.spawn(self.room.detach_peer(participant_id))
        for track in tracks:
            self._events.track_unpublished(_report(track))
        self._events.media_lost()

    def _check(self) -> None:
        if self._lost:
            raise MediaError("media_lost", "the meeting's media was lost")

    def _peer(self, participant_id: str) -> MediaPeer:
        self._check()
        peer = self.room.peers.get(participant_id)
        if peer is None:
            raise MediaError("not_in_meeting", "you are not in the meeting")
        return peer

    async def add_peer(self, participant_id: str, may_publish: bool) -> None:
        self._check()
        await self.room.add_peer(participant_id, may_publish)
        if self._lost:  # lost while it was set up: it is not in the dead room
            self._placement.background.spawn(self.room.detach_peer(participant_id))
            self._check()

    def remove_peer(self, participant_id: str) -> None:
        if self._lost:
            return
        self._placement.background.spawn(self.room.detach_peer(participant_id))

    async def publish_offer(self, participant_id: str, sdp: str, sources: dict[str, str]) -> str:
        return await self._peer(participant_id).publish_offer(sdp, sources)

    async def subscribe_answer(self, participant_id: str, sdp: str) -> None:
        await self._peer(participant_id).subscribe_answer(sdp)

    async def add_ice_candidate(
        self,
        participant_id: str,
        target: str,
        candidate: str,
        sdp_mid: str | None,
        sdp_mline_index: int | None,
    ) -> None:
        peer = self._peer(participant_id)
        await peer.add_ice_candidate(target, candidate, sdp_mid, sdp_mline_index)

    def offer_again(self, participant_id: str) -> None:
        if self._lost:
            return
        peer = self.room.peers.get(participant_id)
        if peer is not None:
            peer.offer_again()

    def close(self) -> None:
        for participant_id in list(self.room.peers):
            self.remove_peer(participant_id)


class LocalPlacement(CommandsHere):
    """Every room on this process. Media closes run as tasks tracked here (:meth:`drain`)."""

    def __init__(self) -> None:
        self._id = f"local-{os.getpid()}"
        self._background = Background("closing media failed", logger)

    def owner(self, room_id: str) -> str:
        return self._id

    def open_media(self, room_id: str, events: MediaEvents, settings: MediaSettings) -> LocalMedia:
        return LocalMedia(self, events, settings)

    async def stats(self) -> MediaStats:
        return MediaStats(
            received_packets=STATS.received_packets,
            forwarded_packets=STATS.forwarded_packets,
            dropped_packets=STATS.dropped_packets,
            retransmitted_packets=STATS.retransmitted_packets,
            keyframe_requests=STATS.keyframe_requests,
            # Every reason, counted or not: a scraper sees each series from the start.
            dropped_datagrams=tuple((d.value, STATS.dropped_datagrams[d.value]) for d in Drop),
        )

    @property
    def background(self) -> Background:
        """Media work under way here that nobody waits for (connections closing)."""
        return self._background

    async def drain(self) -> None:
        await self._background.wait()
