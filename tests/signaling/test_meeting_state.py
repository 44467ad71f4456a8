"""The meeting core owns the meeting: stays, resume tokens, recording state, tracks and the
active speaker, and the ``joined`` snapshot built from them. Driven with a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from signaling.meetings import resume
from signaling.meetings.core import Arrived, Left, Meeting, MeetingRules, Send
from signaling.meetings.resume import SpentTokens
from signaling.models import Role
from signaling.wire import (
    ByeReason,
    ParticipantJoined,
    ParticipantLeft,
    RecordingState,
    Source,
    TrackOut,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def track(tid: str, pid: str) -> TrackOut:
    return TrackOut(id=tid, participant_id=pid, kind="video", source=Source.CAMERA)


def recording(rid: str, status: str) -> RecordingState:
    return RecordingState(recording_id=rid, status=status)


def test_admission_opens_a_stay_and_snapshots_the_meeting() -> None:
    m = Meeting("m1", "room", MeetingRules(), T0)
    m.admit("mod", "Grace", Role.MODERATOR, "t-mod", T0)
    m.track_published(track("tr1", "mod"))
    m.speaker_changed("mod")
    m.set_recording(recording("rec_1", "active"))
    admission = m.admit("spk", "Ada", Role.SPEAKER, "t-spk", T0 + S)
    arrived, announced = admission.outputs
    assert isinstance(arrived, Arrived) and arrived.stay.joined_at == T0 + S
    assert isinstance(announced, Send) and isinstance(announced.message, ParticipantJoined)
    joined = admission.joined
    assert [p.id for p in joined.participants] == ["mod"] and joined.you.id == "spk"
    assert [t.id for t in joined.tracks] == ["tr1"]
    assert joined.active_speaker == "mod"
    assert joined.recording is not None and joined.recording.recording_id == "rec_1"
    assert m.holder(joined.resume_token) is m.participants["spk"]


def test_each_joined_replaces_the_resume_token_and_the_old_one_says_why() -> None:
    spent = SpentTokens()
    m = Meeting("m1", "room", MeetingRules(), T0, spent=spent)
    first = m.admit("spk", "Ada", Role.SPEAKER, "t", T0).joined.resume_token
    again = m.admit("spk", "Ada", Role.SPEAKER, "t", T0 + S)
    assert again.reconnect and again.outputs == []  # nothing announced, no second stay
    assert m.holder(first) is None and spent.why(first) is resume.RESUME_USED
    second = again.joined.resume_token
    m.leave("spk", ByeReason.KICKED, T0 + 2 * S)
    assert spent.why(second) is resume.KICKED
    assert spent.why("never-issued") is resume.UNKNOWN_RESUME


def test_a_leave_is_recorded_before_it_is_announced_with_the_closed_stay() -> None:
    m = Meeting("m1", "room", MeetingRules(), T0)
    m.admit("spk", "Ada", Role.SPEAKER, "t", T0)
    m.admit("rec", "Recorder", Role.RECORDINGS, "t-rec", T0, hidden=True)
    m.speaker_changed("spk")
    left, told = m.leave("spk", ByeReason.LEFT, T0 + 5 * S)
    assert isinstance(left, Left) and left.stay is not None
    assert (left.stay.left_at, left.stay.leave_reason) == (T0 + 5 * S, "left")
    assert isinstance(told, Send) and isinstance(told.message, ParticipantLeft)
    assert m.active_speaker is None and m.stays == {}
    hidden_left, _ = m.leave("rec", ByeReason.LEFT, T0 + 6 * S)
    assert isinstance(hidden_left, Left) and hidden_left.stay is None  # media freed, no stay


def test_the_end_spends_every_token_and_forgets_the_recording() -> None:
    spent = SpentTokens()
    m = Meeting("m1", "room", MeetingRules(), T0, spent=spent)
    token = m.admit("spk", "Ada", Role.SPEAKER, "t", T0).joined.resume_token
    m.set_recording(recording("rec_1", "active"))
    m.end(ByeReason.ENDED_BY_API, T0 + S)
    assert spent.why(token) is resume.MEETING_ENDED
    assert m.recording is None and m.resume_tokens == {}


def test_an_older_recordings_end_is_not_news() -> None:
    m = Meeting("m1", "room", MeetingRules(), T0)
    assert m.set_recording(recording("rec_2", "starting"))
    assert m.set_recording(recording("rec_1", "complete")) == []
    assert m.recording is not None and m.recording.recording_id == "rec_2"
    assert m.set_recording(recording("rec_2", "complete"))
    assert m.recording is None


def test_unpublished_tracks_leave_the_snapshot() -> None:
    m = Meeting("m1", "room", MeetingRules(), T0)
    m.track_published(track("tr1", "a"))
    m.track_published(track("tr2", "a"))
    m.track_unpublished("tr1", "a")
    assert list(m.tracks) == ["tr2"]


def test_spent_tokens_are_bounded() -> None:
    spent = SpentTokens(limit=3)
    for i in range(10):
        spent.spend(f"t{i}", resume.RESUME_USED)
    assert len(spent) == 3 and spent.why("t0") is resume.UNKNOWN_RESUME
    assert spent.why("t9") is resume.RESUME_USED
