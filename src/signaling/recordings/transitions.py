"""The recording state machine, pure: which status follows which, and what a recorder's
report, its exit, a stop or a restart does to the record. Time is an argument; the caller
(:class:`signaling.recordings.service.RecordingService`) saves, notifies and touches files.

::

    starting ──active──▶ active ──stop / ending──▶ ending
        │                  │                         │
        └──────────────────┴──── complete / failed / aborted (final) ◀┘

A recording is ``aborted`` when it was stopped before its first frame (nothing recorded),
whichever way its end is learned: the recorder's ``failed`` or exit after a stop, or a
``complete`` for a recording that never started (:func:`end`).

Errors: :class:`TransitionError` (a :class:`~signaling.errors.SignalingError` and a
``ValueError``): a move the table does not allow, a bug.
"""

from __future__ import annotations

import contextlib
import signal
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from signaling.errors import SignalingError
from signaling.models import RecordingRecord, RecordingStatus
from signaling.recordings.contract import (
    Active,
    Complete,
    Ending,
    Event,
    Failed,
    FinalEvent,
    Progress,
)

__all__ = [
    "ALLOWED",
    "NOTHING_RECORDED",
    "Effect",
    "Outcome",
    "RunState",
    "TransitionError",
    "adopt",
    "begin_stop",
    "describe_exit",
    "end",
    "outcome_of_sidecar",
]

#: The error of an aborted recording.
NOTHING_RECORDED = "stopped before anything was recorded"
#: Longest end reason and error kept from a recorder's report.
MAX_REASON = 64
MAX_ERROR = 500

_FINAL = frozenset({RecordingStatus.COMPLETE, RecordingStatus.FAILED, RecordingStatus.ABORTED})
#: status -> the statuses it may move to.
ALLOWED: dict[RecordingStatus, frozenset[RecordingStatus]] = {
    RecordingStatus.STARTING: _FINAL | {RecordingStatus.ACTIVE, RecordingStatus.ENDING},
    RecordingStatus.ACTIVE: _FINAL | {RecordingStatus.ENDING},
    RecordingStatus.ENDING: _FINAL,
    RecordingStatus.COMPLETE: frozenset(),
    RecordingStatus.FAILED: frozenset(),
    RecordingStatus.ABORTED: frozenset(),
}


class TransitionError(SignalingError, ValueError):
    """A status change the state machine does not allow."""


def _move(rec: RecordingRecord, status: RecordingStatus) -> None:
    if status is not rec.status and status not in ALLOWED[rec.status]:
        raise TransitionError(f"recording {rec.id}: {rec.status} cannot become {status}")
    rec.status = status


class Effect(Enum):
    """What a report asks of the caller, short of ending the recording."""

    #: Nothing changed.
    NONE = "none"
    #: Save the record, no event (progress: duration and size).
    QUIET = "quiet"
    #: Save with a ``recording.updated`` event, and tell the meeting.
    UPDATED = "updated"


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a recording ends."""

    #: ``complete``, ``failed`` or ``aborted``.
    status: RecordingStatus
    #: Why a complete one ended (``stopped``, ``meeting_ended``, ``max_duration``).
    end_reason: str | None = None
    #: What went wrong, for people.
    error: str | None = None


def _outcome_of_final(final: FinalEvent) -> Outcome:
    if isinstance(final, Complete):
        return Outcome(
            RecordingStatus.COMPLETE, end_reason=(final.reason or "stopped")[:MAX_REASON]
        )
    return Outcome(RecordingStatus.FAILED, error=(final.error or "the recorder failed")[:MAX_ERROR])


def describe_exit(code: int) -> str:
    """A process's exit status for people (negative: killed by that signal)."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit status {code}"


@dataclass(slots=True)
class RunState:
    """What the server knows of one recorder run, beside its record."""

    #: The server asked it to stop (or it is a previous server's, finishing).
    stop_requested: bool = False
    #: Its first frame is in the file.
    became_active: bool = False
    #: Its final report is in.
    finished: bool = False

    def _final(self, report: FinalEvent) -> Outcome:
        self.finished = True
        if isinstance(report, Failed) and self.stop_requested and not self.became_active:
            return Outcome(RecordingStatus.ABORTED, error=NOTHING_RECORDED)
        return _outcome_of_final(report)

    def on_report(self, rec: RecordingRecord, report: Event, now: datetime) -> Effect | Outcome:
        """Apply ``report`` to ``rec`` (under way); an :class:`Outcome` means: end it so."""
        if not rec.status.live:
            return Effect.NONE
        if isinstance(report, Progress | Complete | Failed):
            if report.duration_s is not None:
                rec.duration_s = round(report.duration_s, 3)
            if report.size_bytes is not None:
                rec.size_bytes = report.size_bytes
        if isinstance(report, Active):
            self.became_active = True
            rec.started_at = now
            if rec.status is RecordingStatus.STARTING:
                _move(rec, RecordingStatus.ACTIVE)
            return Effect.UPDATED
        if isinstance(report, Progress):
            return Effect.QUIET
        if isinstance(report, Ending):
            if rec.status is RecordingStatus.ENDING:
                return Effect.NONE
            _move(rec, RecordingStatus.ENDING)
            return Effect.UPDATED
        if isinstance(report, Complete | Failed):
            return self._final(report)
        return Effect.NONE

    def on_exit(self, code: int) -> Outcome:
        """How the recording ends when its recorder exited without a final report."""
        if self.stop_requested and not self.became_active:
            return Outcome(RecordingStatus.ABORTED, error=NOTHING_RECORDED)
        return Outcome(
            RecordingStatus.FAILED,
            error=f"the recorder stopped unexpectedly ({describe_exit(code)}); the file plays "
            "up to its last complete fragment",
        )


def begin_stop(rec: RecordingRecord) -> bool:
    """A stop was asked for: ``starting`` and ``active`` become ``ending`` (True if so)."""
    if rec.status in (RecordingStatus.STARTING, RecordingStatus.ACTIVE):
        _move(rec, RecordingStatus.ENDING)
        return True
    return False


def adopt(rec: RecordingRecord) -> bool:
    """A previous server's recorder is still finishing it: it is ``ending`` (True if that
    is a change)."""
    if rec.status is RecordingStatus.ENDING:
        return False
    _move(rec, RecordingStatus.ENDING)
    return True


def outcome_of_sidecar(final: FinalEvent | None, file_exists: bool) -> Outcome:
    """How a recording a previous server left under way ended, by its sidecar's final event
    (``None``: none, its recorder did not finish)."""
    if final is not None:
        return _outcome_of_final(final)
    error = "the server stopped during the recording"
    if file_exists:
        error += "; the file plays up to its last complete fragment"
    return Outcome(RecordingStatus.FAILED, error=error)


def end(rec: RecordingRecord, outcome: Outcome, now: datetime) -> Outcome:
    """End ``rec`` as ``outcome`` says, at ``now``; returns the outcome applied: a
    ``complete`` of a recording that never started (stopped while its recorder joined) is
    ``aborted``, and keeps no size (the caller removes the file, which holds no frame)."""
    if outcome.status is RecordingStatus.COMPLETE and rec.started_at is None:
        outcome = Outcome(RecordingStatus.ABORTED, error=NOTHING_RECORDED)
    if outcome.status not in _FINAL:
        raise TransitionError(f"recording {rec.id}: {outcome.status} is not an end")
    _move(rec, outcome.status)
    rec.ended_at = now
    rec.end_reason = outcome.end_reason
    rec.error = outcome.error
    if outcome.status is RecordingStatus.ABORTED:
        rec.size_bytes = None
    return outcome
