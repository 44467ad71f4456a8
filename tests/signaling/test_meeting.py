"""The meeting core, pure: joins, chat, moderation and timers, with time stepped by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from signaling.meetings.core import Close, Ended, Kicked, Meeting, MeetingError, MeetingRules, Send
from signaling.models import Role
from signaling.wire import (
    ByeReason,
    Chat,
    EndMeeting,
    Kick,
    MediaKind,
    MuteParticipant,
    ParticipantJoined,
    ParticipantLeft,
    RaiseHand,
    SetMute,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def meeting(**rules: object) -> Meeting:
    m = Meeting("m1", "room", MeetingRules(**rules), T0)  # type: ignore[arg-type]
    m.join("mod", "Grace", Role.MODERATOR, "t-mod", T0)
    m.join("spk", "Ada", Role.SPEAKER, "t-spk", T0)
    return m


def test_join_is_announced_to_the_others_only() -> None:
    m = meeting()
    out = m.join("late", "Linus", Role.SPEAKER, "t", T0 + S)
    assert len(out) == 1 and isinstance(out[0], Send)
    assert isinstance(out[0].message, ParticipantJoined)
    assert out[0].exclude == "late" and out[0].to is None
    assert [p.id for p in m.snapshot()] == ["mod", "spk", "late"]


def test_same_participant_joining_again_is_a_reconnect_not_a_newcomer() -> None:
    m = meeting()
    assert m.join("spk", "Ada", Role.SPEAKER, "t-spk", T0 + S) == []
    assert len(m.participants) == 2


def test_room_full_refuses_without_half_joining() -> None:
    m = meeting(max_participants=2)
    with pytest.raises(MeetingError) as info:
        m.join("third", "C", Role.SPEAKER, "t", T0)
    assert info.value.code == "room_full" and info.value.refusal
    assert "third" not in m.participants


def test_chat_is_broadcast_and_the_last_100_are_kept() -> None:
    m = meeting()
    for i in range(105):
        out = m.handle("spk", Chat(type="chat", text=f"msg {i}"), T0 + i * S)
    assert isinstance(out[0], Send) and out[0].to is None
    assert len(m.chat) == 100
    assert m.chat[0].text == "msg 5" and m.chat[-1].text == "msg 104"
    assert m.chat[-1].nickname == "Ada"


def test_chat_disabled_is_refused() -> None:
    m = meeting(chat_enabled=False)
    with pytest.raises(MeetingError, match="chat is turned off"):
        m.handle("spk", Chat(type="chat", text="hi"), T0)
    assert not m.chat


def test_hand_and_own_mute_update_everyone() -> None:
    m = meeting()
    m.handle("spk", RaiseHand(type="raise_hand", raised=True), T0)
    m.handle("spk", SetMute(type="set_mute", kind=MediaKind.AUDIO, muted=True), T0)
    info = {p.id: p for p in m.snapshot()}["spk"]
    assert info.hand_raised and info.muted[MediaKind.AUDIO] and not info.muted[MediaKind.VIDEO]


@pytest.mark.parametrize(
    "action",
    [
        MuteParticipant(type="mute_participant", participant_id="mod", kind=MediaKind.AUDIO),
        Kick(type="kick", participant_id="mod"),
        EndMeeting(type="end_meeting"),
    ],
)
def test_speakers_cannot_moderate(action: object) -> None:
    m = meeting()
    with pytest.raises(MeetingError) as info:
        m.handle("spk", action, T0)  # type: ignore[arg-type]
    assert info.value.code == "forbidden"
    assert set(m.participants) == {"mod", "spk"} and m.ended is None
    assert not m.participants["mod"].muted[MediaKind.AUDIO]


def test_moderator_mutes_someone_who_is_told() -> None:
    m = meeting()
    out = m.handle(
        "mod",
        MuteParticipant(type="mute_participant", participant_id="spk", kind=MediaKind.VIDEO),
        T0,
    )
    assert m.participants["spk"].muted[MediaKind.VIDEO]
    told = [o for o in out if isinstance(o, Send) and o.to == "spk"]
    assert told and told[0].message.type == "muted_by_moderator"


def test_kick_closes_revokes_and_keeps_them_out() -> None:
    m = meeting()
    out = m.handle("mod", Kick(type="kick", participant_id="spk", rotate_links=True), T0)
    assert Close("spk", ByeReason.KICKED) in out
    assert Kicked("spk", Role.SPEAKER, "t-spk", True) in out
    left = [o.message for o in out if isinstance(o, Send)]
    assert isinstance(left[0], ParticipantLeft) and left[0].reason is ByeReason.KICKED
    with pytest.raises(MeetingError) as info:
        m.join("spk", "Ada", Role.SPEAKER, "t-spk", T0 + S)
    assert info.value.code == "kicked"


def test_end_for_all_closes_everyone_once() -> None:
    m = meeting()
    out = m.handle("mod", EndMeeting(type="end_meeting"), T0)
    assert out == [
        Close("mod", ByeReason.ENDED_BY_MODERATOR),
        Close("spk", ByeReason.ENDED_BY_MODERATOR),
        Ended(ByeReason.ENDED_BY_MODERATOR),
    ]
    assert m.end(ByeReason.ENDED_BY_API, T0) == []
    with pytest.raises(MeetingError):
        m.join("new", "N", Role.SPEAKER, "t", T0)


def test_empty_timeout_ends_the_meeting_unless_someone_returns() -> None:
    m = meeting(empty_timeout=timedelta(seconds=20))
    assert m.next_deadline() is None
    m.leave("mod", ByeReason.LEFT, T0 + 10 * S)
    m.leave("spk", ByeReason.LEFT, T0 + 20 * S)
    assert m.next_deadline() == T0 + 40 * S
    assert m.handle_timer(T0 + 39 * S) == []
    m.join("spk", "Ada", Role.SPEAKER, "t", T0 + 39 * S)  # back in time
    assert m.next_deadline() is None
    m.leave("spk", ByeReason.LEFT, T0 + 50 * S)
    assert m.handle_timer(T0 + 70 * S) == [Ended(ByeReason.EMPTY)]


def test_nobody_ever_joining_ends_after_the_empty_timeout() -> None:
    m = Meeting("m", "r", MeetingRules(), T0)
    assert m.next_deadline() == T0 + 20 * S


def test_session_length_ends_for_everyone() -> None:
    m = meeting(session_length=timedelta(minutes=30))
    assert m.next_deadline() == T0 + timedelta(minutes=30)
    out = m.handle_timer(T0 + timedelta(minutes=30))
    assert Close("spk", ByeReason.SESSION_LENGTH_REACHED) in out
    assert out[-1] == Ended(ByeReason.SESSION_LENGTH_REACHED)


def test_dropped_connection_keeps_the_place_for_the_resume_window() -> None:
    m = meeting(resume_window=timedelta(seconds=20))
    m.disconnected("spk", T0)
    assert m.next_deadline() == T0 + 20 * S
    assert m.handle_timer(T0 + 19 * S) == []
    assert m.join("spk", "Ada", Role.SPEAKER, "t-spk", T0 + 19 * S) == []  # resumed quietly
    assert m.next_deadline() is None
    m.disconnected("spk", T0 + 30 * S)
    out = m.handle_timer(T0 + 50 * S)
    left = [o.message for o in out if isinstance(o, Send)]
    assert len(left) == 1 and isinstance(left[0], ParticipantLeft)
    assert left[0].reason is ByeReason.TIMEOUT and "spk" not in m.participants
    assert m.handle_timer(T0 + 51 * S) == []  # exactly one leave
