"""A meeting's media over one or more media workers: the :class:`~signaling.placement.seam.
MediaChannel` of :class:`~signaling.placement.workers.WorkerPlacement`.

A meeting starts on one worker, its *primary*, where every track is published. Once the
primary serves :attr:`WorkerPlacement.spread_after` of its participants, each new participant
goes to the least-loaded worker; when that is another one, the meeting grows a *part* there:
a room fed by a pipe from the primary (:mod:`sfu.piping`: every track once per pipe, plain
RTP on loopback, no decoding), which serves its subscribers as if the tracks were published
there. So a webinar of one speaker and hundreds of viewers uses every core.

A participant on a part who publishes does so on the primary (a publish-only peer there:
their two connections end on two workers, which a client never notices); their own tracks
are not relayed back to them.

The meeting hears only the primary's track and speaker reports (a part relays the same
tracks), and each participant's offers and failures from where their peer is. If any worker
of the meeting dies, the whole meeting's media is lost (``media_lost``) and set up again:
its parts are closed with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from sfu.errors import MediaError
from signaling.placement.seam import MediaEvents, MediaSettings, TrackReport

if TYPE_CHECKING:
    from signaling.placement.remote import RemoteMedia, WorkerSlot
    from signaling.placement.workers import WorkerPlacement

__all__ = ["SpreadMedia"]

logger = logging.getLogger(__name__)


class _PrimaryEvents:
    def __init__(self, spread: SpreadMedia) -> None:
        self._spread = spread

    def subscribe_offer(self, participant_id: str, sdp: str, tracks: dict[str, str]) -> None:
        self._spread.offer_from(self._spread.primary, participant_id, sdp, tracks)

    def track_published(self, track: TrackReport) -> None:
        self._spread.events.track_published(track)
        self._spread.relay(track)

    def track_unpublished(self, track: TrackReport) -> None:
        self._spread.events.track_unpublished(track)
        self._spread.unrelay(track)

    def active_speaker(self, participant_id: str | None) -> None:
        self._spread.events.active_speaker(participant_id)

    def media_failed(self, participant_id: str) -> None:
        self._spread.failed_on(self._spread.primary, participant_id)

    def media_lost(self) -> None:
        self._spread.lose()


class _PartEvents:
    """A part relays the primary's tracks: only its participants' offers and failures count."""

    def __init__(self, spread: SpreadMedia) -> None:
        self._spread = spread
        self.part: RemoteMedia | None = None

    def subscribe_offer(self, participant_id: str, sdp: str, tracks: dict[str, str]) -> None:
        if self.part is not None:
            self._spread.offer_from(self.part, participant_id, sdp, tracks)

    def track_published(self, track: TrackReport) -> None:
        pass

    def track_unpublished(self, track: TrackReport) -> None:
        pass

    def active_speaker(self, participant_id: str | None) -> None:
        pass

    def media_failed(self, participant_id: str) -> None:
        if self.part is not None:
            self._spread.failed_on(self.part, participant_id)

    def media_lost(self) -> None:
        self._spread.lose()


class SpreadMedia:
    """One meeting's media on its primary worker and its parts on others."""

    def __init__(
        self,
        placement: WorkerPlacement,
        worker: WorkerSlot,
        events: MediaEvents,
        settings: MediaSettings,
    ) -> None:
        self._placement = placement
        self.events = events
        self.settings = settings
        self.primary = placement.new_channel(worker, _PrimaryEvents(self), settings)
        worker.open(self.primary)
        #: worker id -> the meeting's part there
        self.parts: dict[str, RemoteMedia] = {}
        #: worker id -> the number of the pipe from the primary to that part
        self._pipes: dict[str, int] = {}
        #: participant id -> the channel their peer is on
        self._where: dict[str, RemoteMedia] = {}
        #: Participants on a part who publish (through a publish-only peer on the primary).
        self._publishing: set[str] = set()
        self._growing = asyncio.Lock()
        self.lost = False
        self.closed = False

    # -- where a participant goes ----------------------------------------------------------

    def channel_of(self, participant_id: str) -> RemoteMedia:
        return self._where.get(participant_id, self.primary)

    async def _place(self) -> RemoteMedia:
        primary = self.primary
        if self.lost or len(primary.peers) < self._placement.spread_after:
            return primary
        worker = self._placement.choose()
        if worker is primary.worker or not worker.up:
            return primary
        async with self._growing:
            part = self.parts.get(worker.id)
            if part is None and not (self.lost or self.closed):
                try:
                    part = await self._grow(worker)
                except MediaError as exc:
                    logger.warning("a part on worker %s could not be set up: %s", worker.id, exc)
                    return primary
        return part if part is not None and not part.lost else primary

    async def _grow(self, worker: WorkerSlot) -> RemoteMedia:
        """A part of the meeting on ``worker``, fed by a new pipe from the primary."""
        primary = self.primary
        pipe = self._placement.new_pipe()
        opened = await primary.worker.request("pipe_open", ch=primary.channel, pipe=pipe)
        events = _PartEvents(self)
        part = self._placement.new_channel(worker, events, self.settings)
        events.part = part
        worker.channels[part.channel] = part
        settings = self.settings
        try:
            replica = await worker.request(
                "open_replica", ch=part.channel, screen_share=settings.screen_share,
                public_ip=settings.public_ip, **{"from": int(opened["port"])},
            )  # fmt: skip
        except MediaError:
            worker.channels.pop(part.channel, None)
            self._send(primary.worker, {"op": "pipe_close", "pipe": pipe})
            raise
        # Registered before the pipe connects: a track published from now on is relayed to
        # it by the primary's report (the worker takes a track it has once).
        self.parts[worker.id] = part
        self._pipes[worker.id] = pipe
        tracks = await primary.worker.request("pipe_connect", pipe=pipe, port=int(replica["port"]))
        for entry in tracks:
            track_id = str(entry["track"][0])
            if track_id in primary.tracks:  # not unpublished meanwhile
                self._send(worker, {"op": "relay_track", "ch": part.channel, **entry})
        logger.info(
            "a meeting on worker %s grew a part on worker %s (pipe %d)",
            primary.worker.id,
            worker.id,
            pipe,
        )
        return part

    # -- the primary's tracks, relayed to the parts -----------------------------------------

    def relay(self, track: TrackReport) -> None:
        info = self.primary.relay_info.get(track.id)
        if info is None:
            return
        entry = {"track": [track.id, track.participant_id, track.kind, track.source], **info}
        for part in self.parts.values():
            self._send(part.worker, {"op": "relay_track", "ch": part.channel, **entry})

    def unrelay(self, track: TrackReport) -> None:
        info = self.primary.relay_info.get(track.id)
        if info is None:
            return
        for part in self.parts.values():
            self._send(
                part.worker,
                {"op": "relay_track_gone", "ch": part.channel, "number": info["number"]},
            )

    @staticmethod
    def _send(worker: WorkerSlot, message: dict[str, Any]) -> None:
        with contextlib.suppress(MediaError):  # a dead worker: its loss is reported anyway
            worker.send(message)

    # -- reports ---------------------------------------------------------------------------

    def offer_from(
        self, channel: RemoteMedia, participant_id: str, sdp: str, tracks: dict[str, str]
    ) -> None:
        if self.channel_of(participant_id) is channel:
            self.events.subscribe_offer(participant_id, sdp, tracks)

    def failed_on(self, channel: RemoteMedia, participant_id: str) -> None:
        mine = self.channel_of(participant_id) is channel
        if mine or (channel is self.primary and participant_id in self._publishing):
            self.events.media_failed(participant_id)

    def lose(self) -> None:
        """A worker of the meeting died: all of its media goes, then the meeting hears."""
        if self.lost or self.closed:
            return
        self.lost = True
        for channel in (self.primary, *self.parts.values()):
            if not channel.lost:
                channel.close()  # the primary's reports its tracks gone
        self._where.clear()
        self._publishing.clear()
        self.events.media_lost()

    # -- the seam's commands ---------------------------------------------------------------

    async def add_peer(self, participant_id: str, may_publish: bool) -> None:
        channel = await self._place()
        self._take_out(participant_id)
        self._where[participant_id] = channel
        await channel.add_peer(participant_id, may_publish)

    def _take_out(self, participant_id: str) -> None:
        where = self._where.pop(participant_id, None)
        if where is not None:
            where.remove_peer(participant_id)
        if participant_id in self._publishing and where is not self.primary:
            self.primary.remove_peer(participant_id)
        self._publishing.discard(participant_id)

    def remove_peer(self, participant_id: str) -> None:
        if participant_id not in self._where:
            self.primary.remove_peer(participant_id)  # keeps the seam's error for a stranger
        self._take_out(participant_id)

    async def publish_offer(self, participant_id: str, sdp: str, sources: dict[str, str]) -> str:
        """Everyone publishes on the primary (whose pipes take the tracks to the parts): a
        participant who receives on a part gets a publish-only peer there first."""
        primary = self.primary
        if (
            self.channel_of(participant_id) is not primary
            and participant_id not in self._publishing
        ):
            self._publishing.add(participant_id)
            await primary.add_peer(participant_id, True, receives=False)
        return await primary.publish_offer(participant_id, sdp, sources)

    async def subscribe_answer(self, participant_id: str, sdp: str) -> None:
        await self.channel_of(participant_id).subscribe_answer(participant_id, sdp)

    async def add_ice_candidate(
        self,
        participant_id: str,
        target: str,
        candidate: str,
        sdp_mid: str | None,
        sdp_mline_index: int | None,
    ) -> None:
        channel = self.primary if target == "publisher" else self.channel_of(participant_id)
        await channel.add_ice_candidate(participant_id, target, candidate, sdp_mid, sdp_mline_index)

    def offer_again(self, participant_id: str) -> None:
        self.channel_of(participant_id).offer_again(participant_id)

    def close(self) -> None:
        self.closed = True
        for part in self.parts.values():
            part.close()
        self.primary.close()  # its worker closes the pipes with the room
        self._where.clear()
        self._publishing.clear()
