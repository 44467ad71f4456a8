"""The media side of one meeting: its peers, who receives whose tracks, and the active
speaker. This is what the rest of the server uses of the SFU (with
:class:`~sfu.peer.MediaPeer`, :class:`~sfu.listener.TrackInfo`,
:class:`~sfu.listener.MediaListener` and :class:`~sfu.errors.MediaError`).

Nothing in the SFU decodes or encodes. It knows nothing of HTTP, the store or roles beyond
``may_publish``; it reports to a :class:`~sfu.listener.MediaListener`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Coroutine
from typing import Any, Protocol

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer

from sfu.background import log_failure
from sfu.listener import MediaListener, TrackInfo
from sfu.peer import MediaPeer
from sfu.speaker import ActiveSpeaker
from sfu.track import PublishedTrack

__all__ = ["MediaRoom", "TrackPipe"]


class TrackPipe(Protocol):
    """Where a room's published tracks also go (:class:`sfu.piping.PipeOut`)."""

    def attach(self, track: PublishedTrack, number: int) -> None: ...

    def detach(self, number: int) -> None: ...

    def close(self) -> None: ...


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
        #: Where every published track also goes (pipes to other workers: sfu.piping).
        self.pipes: list[TrackPipe] = []
        #: Tracks published on another worker and relayed here, by id.
        self.relayed: dict[str, PublishedTrack] = {}
        #: A number for each track published here (what a pipe calls it), by id.
        self.numbers: dict[str, int] = {}
        self._numbering = itertools.count(1)
        self._screen_share = screen_share
        self._speaker_task: asyncio.Task[None] | None = None

    def screen_share_allowed(self) -> bool:
        return self._screen_share

    def tracks(self) -> list[TrackInfo]:
        return [t.info for p in self.peers.values() for t in p.published.values()]

    async def add_peer(
        self, participant_id: str, may_publish: bool, receives: bool = True
    ) -> MediaPeer:
        """``receives=False``: a publish-only peer (its participant receives elsewhere)."""
        if participant_id in self.peers:
            await self.detach_peer(participant_id)
        peer = MediaPeer(self, participant_id, may_publish, receives)
        self.peers[participant_id] = peer
        for other in self.peers.values():
            if other is not peer:
                for track in other.published.values():
                    peer.add_forward(track)
        for track in self.relayed.values():
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
        coroutine that closes its connections (up to :data:`~sfu.peer.CLOSE_WAIT`), for the
        caller to run where no lock is held."""
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
        self.close_pipes()

    def close_pipes(self) -> None:
        for pipe in self.pipes:
            pipe.close()
        self.pipes.clear()
        for track_id in list(self.relayed):
            self.remove_relayed(track_id)

    def published(self) -> list[PublishedTrack]:
        """The tracks published here (not those relayed from another worker)."""
        return [t for p in self.peers.values() for t in p.published.values()]

    def add_relayed(self, track: PublishedTrack) -> None:
        """A track published on another worker is relayed to this room's peers."""
        if track.info.id not in self.relayed:
            self.relayed[track.info.id] = track
            self.track_added(track)

    def remove_relayed(self, track_id: str) -> None:
        track = self.relayed.pop(track_id, None)
        if track is not None:
            self.track_removed(track)

    def track_added(self, track: PublishedTrack) -> None:
        if track.owner is not None:
            number = self.numbers[track.info.id] = next(self._numbering)
            for pipe in self.pipes:
                pipe.attach(track, number)
        self.listener.track_published(track.info)
        for peer in self.peers.values():
            if peer is not track.owner:
                peer.add_forward(track)
                task = asyncio.ensure_future(peer.negotiate())  # logs its own failures
                task.add_done_callback(log_failure)

    def track_removed(self, track: PublishedTrack) -> None:
        """``track`` is no longer published: its subscribers' m-lines go inactive (to be
        reused), and they are told."""
        track.close()
        number = self.numbers.pop(track.info.id, None)
        if number is not None:
            for pipe in self.pipes:
                pipe.detach(number)
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
