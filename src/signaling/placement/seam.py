"""The interface between signaling and media, and between any node and a live meeting.

Signaling never holds a media object: it opens a :class:`MediaChannel` for a meeting and sends
it commands (add or remove a peer, offers and answers, close); the media reports back through
:class:`MediaEvents` (tracks, active speaker, subscribe offers, media failed). Every value on
the seam is a string, a number or a small frozen dataclass, so the other side may be another
process. Commands on a live meeting (kick, mute, end, recording start/stop) go through
:meth:`Placement.command` to wherever the meeting is hosted.

Media commands are fire-and-forget where the caller must not wait: :meth:`MediaChannel.remove_peer`
and :meth:`MediaChannel.close` take the peers out at once (their tracks are reported
unpublished before they return) and finish closing connections in the background, so no
lock is ever held across a media close (up to ``sfu.peer.CLOSE_WAIT``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from signaling.wire import ByeReason, MediaKind

__all__ = [
    "CommandsHere",
    "EndMeeting",
    "KickParticipant",
    "LiveCommand",
    "MediaChannel",
    "MediaEvents",
    "MediaSettings",
    "MediaStats",
    "MuteParticipant",
    "Placement",
    "StartRecording",
    "StopRecording",
    "TrackReport",
    "WorkerStats",
]

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class TrackReport:
    """A published track, as the media reports it."""

    id: str
    participant_id: str
    #: ``audio`` or ``video``.
    kind: str
    #: ``camera``, ``microphone`` or ``screen``.
    source: str


@dataclass(frozen=True, slots=True)
class MediaSettings:
    """How a meeting's media is set up."""

    screen_share: bool = True
    #: Advertised in media candidates instead of the host's own addresses.
    public_ip: str | None = None


@dataclass(frozen=True, slots=True)
class WorkerStats:
    """One media worker process, for ``/metrics`` (``--workers N``)."""

    worker: str
    up: bool
    #: 0 while it is not up.
    pid: int
    #: Times it died and was started again.
    restarts: int
    meetings: int
    peers: int
    cpu_seconds: float
    rss_bytes: int
    #: Since the server started (earlier processes of this worker included).
    forwarded_packets: int


@dataclass(frozen=True, slots=True)
class MediaStats:
    """Counters of the media process(es), for ``/metrics``: totals over every worker."""

    received_packets: int = 0
    forwarded_packets: int = 0
    dropped_packets: int = 0
    retransmitted_packets: int = 0
    keyframe_requests: int = 0
    #: Packets sent into pipes between workers (rooms spread over workers).
    piped_packets: int = 0
    #: Datagrams dropped before DTLS/SRTP, by reason (``sfu.guard.Drop`` values).
    dropped_datagrams: tuple[tuple[str, int], ...] = ()
    #: Each media worker, with ``--workers N``; empty when the media runs in this process.
    workers: tuple[WorkerStats, ...] = ()


class MediaEvents(Protocol):
    """What the media of one meeting reports. Called on the event loop; must not block."""

    def subscribe_offer(self, participant_id: str, sdp: str, tracks: dict[str, str]) -> None:
        """Send this offer of the participant's subscribe connection to them."""

    def track_published(self, track: TrackReport) -> None: ...

    def track_unpublished(self, track: TrackReport) -> None: ...

    def active_speaker(self, participant_id: str | None) -> None: ...

    def media_failed(self, participant_id: str) -> None:
        """The participant's media connection failed (or was lost): they must leave."""

    def media_lost(self) -> None:
        """Every peer of this channel is gone, e.g. its media process died; the channel is
        dead and will not report again. Every track it had published was reported
        :meth:`track_unpublished` before this call."""


class MediaChannel(Protocol):
    """Commands to the media of one meeting. A command about a participant without a peer
    raises ``sfu.errors.MediaError`` (code ``not_in_meeting``); a refused offer or answer
    raises it with the reason. Once the channel reported :meth:`MediaEvents.media_lost`, its
    commands raise ``MediaError`` (code ``media_lost``), or do nothing (``remove_peer``,
    ``offer_again``, ``close``)."""

    async def add_peer(self, participant_id: str, may_publish: bool) -> None:
        """Fresh media for the participant (replacing any they had); the subscribe offer
        comes through :meth:`MediaEvents.subscribe_offer`."""

    def remove_peer(self, participant_id: str) -> None:
        """Take the participant's peer out now; its connections close in the background."""

    async def publish_offer(self, participant_id: str, sdp: str, sources: dict[str, str]) -> str:
        """Answer the participant's publish offer (``sources``: mid -> source)."""

    async def subscribe_answer(self, participant_id: str, sdp: str) -> None: ...

    async def add_ice_candidate(
        self,
        participant_id: str,
        target: str,
        candidate: str,
        sdp_mid: str | None,
        sdp_mline_index: int | None,
    ) -> None: ...

    def offer_again(self, participant_id: str) -> None:
        """Send the pending subscribe offer again (it went to a socket that dropped)."""

    def close(self) -> None:
        """Take every peer out now; connections close in the background."""


# -- commands on a live meeting ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LiveCommand(Generic[R]):
    """A command for the meeting of ``room_id``, run where that meeting is hosted."""

    room_id: str


@dataclass(frozen=True, slots=True)
class KickParticipant(LiveCommand[None]):
    participant_id: str
    rotate_links: bool = False


@dataclass(frozen=True, slots=True)
class MuteParticipant(LiveCommand[None]):
    participant_id: str
    kind: MediaKind


@dataclass(frozen=True, slots=True)
class EndMeeting(LiveCommand[bool]):
    """Answers whether there was a meeting to end."""

    reason: ByeReason


@dataclass(frozen=True, slots=True)
class StartRecording(LiveCommand[Any]):
    """Answers the recording record. ``spec`` and ``viewer`` are the recording service's."""

    spec: Any = None
    viewer: Any = None


@dataclass(frozen=True, slots=True)
class StopRecording(LiveCommand[Any]):
    """Stop the recording of ``room_id``'s meeting (or, with ``recording_id``, that one)."""

    recording_id: str | None = None
    viewer: Any = None


class CommandHandler(Protocol):
    async def __call__(self, command: LiveCommand[Any]) -> Any: ...


class CommandsHere:
    """:meth:`Placement.serve` and :meth:`Placement.command` for a placement whose meeting
    cores are in this process: a command is carried out by the handler served here."""

    _handler: CommandHandler | None = None

    def serve(self, handler: CommandHandler) -> None:
        self._handler = handler

    async def command(self, command: LiveCommand[R]) -> R:
        if self._handler is None:
            raise RuntimeError("no command handler: serve() was not called")
        result: R = await self._handler(command)
        return result


class Placement(Protocol):
    """Where rooms' meetings and media live."""

    def owner(self, room_id: str) -> str:
        """The id of the media process that owns (or would own) ``room_id``'s meeting."""

    def open_media(
        self, room_id: str, events: MediaEvents, settings: MediaSettings
    ) -> MediaChannel:
        """Set up the media of a meeting starting in ``room_id``."""

    def serve(self, handler: CommandHandler) -> None:
        """Where commands for the meetings hosted here are carried out."""

    async def command(self, command: LiveCommand[R]) -> R:
        """Carry ``command`` to the meeting's host and return its answer (or raise its
        error, e.g. :class:`signaling.errors.NoMeeting`)."""

    async def stats(self) -> MediaStats: ...

    async def drain(self) -> None:
        """Wait for media work still under way (background closes)."""
