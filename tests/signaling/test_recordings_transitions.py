"""The recording state machine (:mod:`signaling.recordings.transitions`), pure: records and
typed reports in, effects and outcomes out, time stepped by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from signaling.models import RecordingRecord, RecordingStatus
from signaling.recordings.contract import Active, Complete, Ending, Failed, Progress
from signaling.recordings.transitions import (
    ALLOWED,
    NOTHING_RECORDED,
    Effect,
    Outcome,
    RunState,
    TransitionError,
    adopt,
    begin_stop,
    describe_exit,
    end,
    outcome_of_sidecar,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
S = RecordingStatus


def record(status: RecordingStatus = S.STARTING, **kw: object) -> RecordingRecord:
    return RecordingRecord(
        id="rec_t",
        room_id="room_t",
        room_name="T",
        meeting_id="mtg_t",
        status=status,
        layout="grid",
        width=1280,
        height=720,
        created_at=T0,
        filename="rec_t.mp4",
        **kw,  # type: ignore[arg-type]
    )


def test_a_recording_from_start_to_complete() -> None:
    rec, run = record(), RunState()
    now = T0 + timedelta(seconds=2)
    assert run.on_report(rec, Active("2026-03-01T09:00:02Z"), now) is Effect.UPDATED
    assert (rec.status, rec.started_at, run.became_active) == (S.ACTIVE, now, True)
    assert run.on_report(rec, Progress(1.23456, 1000), now) is Effect.QUIET
    assert (rec.duration_s, rec.size_bytes) == (1.235, 1000)
    assert run.on_report(rec, Ending(), now) is Effect.UPDATED
    assert rec.status is S.ENDING
    assert run.on_report(rec, Ending(), now) is Effect.NONE  # already so
    outcome = run.on_report(rec, Complete(3.0, 2000, "meeting_ended"), now)
    assert outcome == Outcome(S.COMPLETE, end_reason="meeting_ended")
    assert run.finished and (rec.duration_s, rec.size_bytes) == (3.0, 2000)
    # Reports change a record only through its end (the caller applies it).
    assert rec.status is S.ENDING
    ended_at = now + timedelta(seconds=1)
    assert end(rec, outcome, ended_at) == outcome
    assert (rec.status, rec.ended_at, rec.end_reason, rec.error) == (
        S.COMPLETE,
        ended_at,
        "meeting_ended",
        None,
    )


def test_an_active_report_while_ending_keeps_it_ending() -> None:
    rec, run = record(S.ENDING), RunState(stop_requested=True)
    assert run.on_report(rec, Active(), T0) is Effect.UPDATED
    assert rec.status is S.ENDING and rec.started_at == T0 and run.became_active


def test_reports_on_an_ended_recording_change_nothing() -> None:
    rec, run = record(S.FAILED), RunState()
    for report in (Active(), Progress(1.0, 1), Ending(), Complete(1.0, 1, "stopped")):
        assert run.on_report(rec, report, T0) is Effect.NONE
    assert rec.status is S.FAILED and rec.duration_s is None and not run.finished


def test_final_reports_keep_their_words_within_bounds_or_say_the_default() -> None:
    rec = record(S.ACTIVE)
    assert RunState().on_report(rec, Complete(), T0) == Outcome(S.COMPLETE, end_reason="stopped")
    assert RunState().on_report(rec, Complete(reason="r" * 100), T0) == Outcome(
        S.COMPLETE, end_reason="r" * 64
    )
    assert RunState().on_report(rec, Failed(""), T0) == Outcome(
        S.FAILED, error="the recorder failed"
    )
    failed = RunState().on_report(rec, Failed("e" * 900, 1.5), T0)
    assert failed == Outcome(S.FAILED, error="e" * 500) and rec.duration_s == 1.5


def test_a_failure_after_a_stop_before_the_first_frame_is_an_abort() -> None:
    run = RunState(stop_requested=True)
    outcome = run.on_report(record(), Failed("could not join: no_meeting"), T0)
    assert outcome == Outcome(S.ABORTED, error=NOTHING_RECORDED)
    # Once it has recorded, a failure is a failure.
    run = RunState(stop_requested=True, became_active=True)
    assert run.on_report(record(S.ENDING), Failed("disk full"), T0) == Outcome(
        S.FAILED, error="disk full"
    )


def test_an_exit_without_a_last_word() -> None:
    assert RunState().on_exit(-9) == Outcome(
        S.FAILED,
        error="the recorder stopped unexpectedly (killed by SIGKILL); the file plays up to "
        "its last complete fragment",
    )
    assert RunState(stop_requested=True).on_exit(0) == Outcome(S.ABORTED, error=NOTHING_RECORDED)
    assert describe_exit(1) == "exit status 1"
    assert describe_exit(-200) == "killed by signal 200"


def test_a_complete_end_of_a_recording_that_never_started_is_an_abort() -> None:
    rec = record(S.ENDING, size_bytes=32)
    applied = end(rec, Outcome(S.COMPLETE, end_reason="stopped"), T0)
    assert applied == Outcome(S.ABORTED, error=NOTHING_RECORDED)
    assert (rec.status, rec.end_reason, rec.error, rec.size_bytes) == (
        S.ABORTED,
        None,
        NOTHING_RECORDED,
        None,
    )
    # The same end again (its first save failed on a full disk) is the same end, later.
    later = T0 + timedelta(seconds=5)
    assert end(rec, Outcome(S.COMPLETE, end_reason="stopped"), later) == applied
    assert rec.ended_at == later


def test_stops_and_adoptions_move_to_ending_once() -> None:
    for status in (S.STARTING, S.ACTIVE):
        rec = record(status)
        assert begin_stop(rec) and rec.status is S.ENDING
        assert not begin_stop(rec)
    done = record(S.COMPLETE)
    assert not begin_stop(done) and done.status is S.COMPLETE
    rec = record(S.ACTIVE)
    assert adopt(rec) and rec.status is S.ENDING and not adopt(rec)


def test_the_table_allows_no_way_back() -> None:
    for status in (S.COMPLETE, S.FAILED, S.ABORTED):
        assert ALLOWED[status] == frozenset()
    assert S.STARTING not in ALLOWED[S.ACTIVE] and S.ACTIVE not in ALLOWED[S.ENDING]
    with pytest.raises(TransitionError, match="complete cannot become failed"):
        end(record(S.COMPLETE), Outcome(S.FAILED, error="late"), T0)
    with pytest.raises(TransitionError, match="not an end"):
        end(record(S.ACTIVE), Outcome(S.ENDING), T0)
    with pytest.raises(TransitionError):
        adopt(record(S.FAILED))


def test_the_end_a_sidecar_tells_after_a_restart() -> None:
    assert outcome_of_sidecar(Complete(4.5, None, "meeting_ended"), True) == Outcome(
        S.COMPLETE, end_reason="meeting_ended"
    )
    assert outcome_of_sidecar(Failed("disk full"), True) == Outcome(S.FAILED, error="disk full")
    assert outcome_of_sidecar(None, True) == Outcome(
        S.FAILED,
        error="the server stopped during the recording; the file plays up to its last "
        "complete fragment",
    )
    assert outcome_of_sidecar(None, False) == Outcome(
        S.FAILED, error="the server stopped during the recording"
    )
