"""Who is who, from signaling messages."""

from __future__ import annotations

from typing import Any

from recorder.layout import Person
from recorder.roster import Roster, TrackRef


def participant(pid: str, nickname: str, role: str = "speaker", **muted: bool) -> dict[str, Any]:
    return {
        "id": pid,
        "nickname": nickname,
        "role": role,
        "joined_at": "2026-03-01T09:00:00Z",
        "hand_raised": False,
        "muted": {"audio": False, "video": False, "screen": False, **muted},
    }


def track(pid: str, mid: str, kind: str, source: str) -> dict[str, Any]:
    return {"id": f"{pid}:{mid}", "participant_id": pid, "kind": kind, "source": source}


def joined() -> dict[str, Any]:
    return {
        "type": "joined",
        "you": participant("rec", "Recorder"),
        "participants": [participant("a", "Ada"), participant("rec", "Recorder")],
        "tracks": [track("a", "0", "audio", "microphone"), track("a", "1", "video", "camera")],
    }


def test_the_snapshot_and_later_messages_in_join_order_without_the_recorder() -> None:
    roster = Roster.from_joined(joined())
    assert roster.people() == [Person("a")]
    roster.handle({"type": "participant_joined", "participant": participant("b", "Bob")})
    roster.handle({"type": "participant_joined", "participant": participant("r2", "R", "recorder")})
    assert [p.id for p in roster.people()] == ["a", "b"]
    assert roster.nickname("b") == "Bob" and roster.nickname("zz") == "?"
    assert roster.source_of("a:1", "video") == "camera"
    assert roster.source_of("b:9", "audio") == "microphone"  # not published yet


def test_screen_share_mute_and_speaker() -> None:
    roster = Roster.from_joined(joined())
    roster.handle({"type": "track_published", "track": track("a", "2", "video", "screen")})
    assert roster.people() == [Person("a", screen=True)]
    roster.handle(
        {"type": "participant_updated", "participant": participant("a", "Ada", video=True)}
    )
    assert roster.muted("a", "video") and not roster.muted("a", "audio")
    roster.handle({"type": "active_speaker", "participant_id": "a"})
    assert roster.active_speaker == "a"
    roster.handle({"type": "active_speaker", "participant_id": None})
    assert roster.active_speaker is None


def test_gone_tracks_are_returned_once() -> None:
    roster = Roster.from_joined(joined())
    gone = roster.handle({"type": "track_unpublished", "track_id": "a:1", "participant_id": "a"})
    assert gone == [TrackRef("a:1", "a", "video", "camera")]
    assert roster.handle({"type": "track_unpublished", "track_id": "a:1"}) == []
    roster.handle({"type": "active_speaker", "participant_id": "a"})
    gone = roster.handle({"type": "participant_left", "participant_id": "a", "reason": "left"})
    assert [t.id for t in gone] == ["a:0"]
    assert roster.people() == [] and roster.active_speaker is None


def test_bye_is_remembered_and_long_nicknames_are_cut() -> None:
    roster = Roster.from_joined(joined())
    roster.handle({"type": "participant_joined", "participant": participant("l", "x" * 500)})
    assert len(roster.nickname("l")) == 40
    roster.handle({"type": "bye", "reason": "ended_by_api"})
    assert roster.bye == "ended_by_api"


def test_whoever_speaks_when_the_recorder_joins_is_the_speaker_at_once() -> None:
    assert Roster.from_joined({**joined(), "active_speaker": "a"}).active_speaker == "a"
    assert Roster.from_joined(joined()).active_speaker is None  # an older server: nobody yet
