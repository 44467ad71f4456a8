"""A meeting going on in this process, as the adapter holds it: the pure core, the sessions
of the people in it, and its media channel; and how the adapter tells a refused join."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from signaling.errors import SignalingError
from signaling.meetings import resume
from signaling.meetings.core import Meeting
from signaling.meetings.outputs import Output, Send
from signaling.placement.seam import MediaChannel, MediaSettings, TrackReport
from signaling.wire import (
    ByeReason,
    CloseCode,
    RecordingState,
    ServerMessage,
    Source,
    SubscribeOffer,
    TrackOut,
)

__all__ = ["LiveMeeting", "MediaEventsToCore", "Refused", "Session", "shutting_down", "track_out"]


class Session(Protocol):
    """One connected client, as the meeting service sees it."""

    def send(self, message: ServerMessage) -> None:
        """Queue ``message``; never blocks."""

    def close(self, reason: ByeReason | None, code: CloseCode) -> None:
        """Send ``bye`` with ``reason`` (if any) after what is queued, then close."""


class Refused(SignalingError):
    """A join the meeting will not take: ``code`` goes in the close (4001 or 4003)."""

    def __init__(self, close_code: CloseCode, reason: str, message: str) -> None:
        super().__init__(message)
        self.close_code = close_code
        self.reason = reason
        self.message = message

    @classmethod
    def spent(cls, why: resume.Spent) -> Refused:
        return cls(why.close_code, why.code, why.message)


def shutting_down() -> Refused:
    """The refusal of every join and resume from the first SIGTERM on."""
    return Refused(
        CloseCode.GOING_AWAY,
        ByeReason.SERVER_SHUTTING_DOWN.value,
        "the server is shutting down; join again in a moment",
    )


def track_out(track: TrackReport) -> TrackOut:
    return TrackOut(
        id=track.id,
        participant_id=track.participant_id,
        kind="audio" if track.kind == "audio" else "video",
        source=Source(track.source),
    )


class MediaEventsToCore:
    """What one media channel of the meeting reports, handed to its core; the outputs go
    to sessions. Once ``retired`` (its channel was lost and replaced) it passes nothing on:
    a late report of a dead channel is not news."""

    def __init__(
        self,
        live: LiveMeeting,
        media_failed: Callable[[str, str], None],
        media_lost: Callable[[LiveMeeting], None] = lambda live: None,
    ) -> None:
        self._live = live
        self._media_failed = media_failed
        self._media_lost = media_lost
        self.retired = False

    def subscribe_offer(self, participant_id: str, sdp: str, tracks: dict[str, str]) -> None:
        session = self._live.sessions.get(participant_id)
        if session is not None and not self.retired:
            session.send(SubscribeOffer(sdp=sdp, tracks=tracks))

    def track_published(self, track: TrackReport) -> None:
        if not self.retired:
            self._live.deliver(self._live.core.track_published(track_out(track)))

    def track_unpublished(self, track: TrackReport) -> None:
        if not self.retired:
            self._live.deliver(self._live.core.track_unpublished(track.id, track.participant_id))

    def active_speaker(self, participant_id: str | None) -> None:
        if not self.retired:
            self._live.deliver(self._live.core.speaker_changed(participant_id))

    def media_failed(self, participant_id: str) -> None:
        if not self.retired:
            self._media_failed(self._live.core.room_id, participant_id)

    def media_lost(self) -> None:
        if self.retired:
            return
        # From now on the channel is dead: media messages get error media_reset until the
        # meeting has fresh media (the service swaps it under the room's lock).
        self.retired = True
        self._live.media_gone = True
        self._media_lost(self._live)


@dataclass
class LiveMeeting:
    """A meeting going on here: its core, the sessions of the people in it, its media."""

    core: Meeting
    media: MediaChannel = field(init=False)
    #: What the media was opened with (fresh media after a loss gets the same).
    media_settings: MediaSettings = field(default_factory=MediaSettings)
    sessions: dict[str, Session] = field(default_factory=dict)
    #: Between a ``media_lost`` and the fresh channel in ``media``: the channel is dead.
    media_gone: bool = False
    #: Participants told (or, when back from a drop, to be told) ``media_reset`` whose
    #: ``media_ready`` has not come: their media messages are for dead peer connections.
    resetting: set[str] = field(default_factory=set)
    #: Whether the room was told it is empty since it was last in use.
    room_told_empty: bool = False
    #: Whether the meeting's start was reported (after its first visible participant).
    start_reported: bool = False

    @property
    def recording(self) -> RecordingState | None:
        return self.core.recording

    def deliver(self, outputs: list[Output]) -> None:
        """Send the :class:`Send` outputs (what the media's reports produce: nothing else)."""
        for out in outputs:
            if isinstance(out, Send):
                self.send(out)

    def send(self, out: Send) -> None:
        if out.to is not None:
            target = self.sessions.get(out.to)
            if target is not None:
                target.send(out.message)
            return
        for pid, session in self.sessions.items():
            if pid != out.exclude:
                session.send(out.message)
