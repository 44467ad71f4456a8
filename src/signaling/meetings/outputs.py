"""What :class:`signaling.meetings.core.Meeting` asks its adapter to do.

Wire messages (:class:`Send`) and closes go to sessions; the domain outputs
(:class:`Arrived`, :class:`Left`, :class:`Kicked`, :class:`Ended`) are what history, the room
and the media must learn, in the order they are listed: a :class:`Left` comes before the
``participant_left`` it causes, so whoever hears of the leave finds it recorded and the media
gone.
"""

from __future__ import annotations

from dataclasses import dataclass

from signaling.models import AttendanceRecord, Role
from signaling.wire import ByeReason, Joined, ServerMessage

__all__ = ["Admission", "Arrived", "Close", "Ended", "Kicked", "Left", "Output", "Send"]


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``message`` to ``to`` (a participant id), or to everyone but ``exclude``."""

    message: ServerMessage
    to: str | None = None
    exclude: str | None = None


@dataclass(frozen=True, slots=True)
class Close:
    """End ``participant_id``'s session: send ``bye`` with ``reason`` and close."""

    participant_id: str
    reason: ByeReason


@dataclass(frozen=True, slots=True)
class Kicked:
    """A moderator kicked ``participant_id``; revoke ``token_id``; with ``rotate_links``, give
    the link of their ``role`` a new secret."""

    participant_id: str
    role: Role
    token_id: str
    rotate_links: bool


@dataclass(frozen=True, slots=True)
class Arrived:
    """A visible participant came into the meeting: record their stay (``participant.joined``)."""

    stay: AttendanceRecord


@dataclass(frozen=True, slots=True)
class Left:
    """``participant_id`` is out of the meeting: free their media, and record ``stay`` (closed,
    with ``left_at`` and ``leave_reason``) unless it is ``None`` (a hidden participant)."""

    participant_id: str
    reason: ByeReason
    stay: AttendanceRecord | None


@dataclass(frozen=True, slots=True)
class Ended:
    """The meeting is over (everyone has been sent a :class:`Close` first): record the end,
    close the media, forget the meeting."""

    reason: ByeReason


Output = Send | Close | Kicked | Arrived | Left | Ended


@dataclass(frozen=True, slots=True)
class Admission:
    """The outcome of :meth:`signaling.meetings.core.Meeting.admit`."""

    #: The ``joined`` message for the participant's new session, sent before ``outputs``.
    joined: Joined
    #: Whether they were already in (a reconnect or a resume): nothing is announced.
    reconnect: bool
    #: Their arrival (recorded before anything is sent), then the announcement to the others.
    outputs: list[Output]
