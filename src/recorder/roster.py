"""Who is in the meeting and which track is whose, from the signaling messages the recorder
receives (the ``joined`` snapshot, then ``participant_*``, ``track_*``, ``active_speaker``
and ``bye``). No I/O: the adapter feeds it messages and asks questions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from recorder.layout import Person

__all__ = ["Member", "Roster", "TrackRef"]

#: Roles never shown on the recording (the recorder's own, once the server has it).
HIDDEN_ROLES = frozenset({"recorder"})
#: Longest nickname drawn on a tile.
MAX_NICKNAME = 40


@dataclass(slots=True)
class Member:
    id: str
    nickname: str
    role: str
    #: ``{"audio": bool, "video": bool, "screen": bool}`` as the server last said.
    muted: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TrackRef:
    id: str
    participant_id: str
    #: ``audio`` or ``video``
    kind: str
    #: ``microphone``, ``camera``, ``screen`` or ``screen_audio``
    source: str


def _member(data: Mapping[str, Any]) -> Member:
    muted = data.get("muted") or {}
    return Member(
        id=str(data["id"]),
        nickname=str(data.get("nickname") or "?")[:MAX_NICKNAME],
        role=str(data.get("role") or ""),
        muted={str(k): bool(v) for k, v in muted.items()},
    )


def _track(data: Mapping[str, Any]) -> TrackRef:
    return TrackRef(
        id=str(data["id"]),
        participant_id=str(data["participant_id"]),
        kind=str(data.get("kind") or ""),
        source=str(data.get("source") or ""),
    )


class Roster:
    """The meeting as the recorder sees it."""

    def __init__(self, self_id: str) -> None:
        self.self_id = self_id
        #: participant id -> member, in join order
        self.members: dict[str, Member] = {}
        self.tracks: dict[str, TrackRef] = {}
        self.active_speaker: str | None = None
        #: The ``bye`` reason, once the server has said goodbye.
        self.bye: str | None = None

    @classmethod
    def from_joined(cls, joined: Mapping[str, Any]) -> Roster:
        roster = cls(str(joined["you"]["id"]))
        for participant in joined.get("participants", []):
            roster._add(_member(participant))
        for track in joined.get("tracks", []):
            roster.tracks[str(track["id"])] = _track(track)
        speaker = joined.get("active_speaker")
        roster.active_speaker = str(speaker) if speaker is not None else None
        return roster

    def _add(self, member: Member) -> None:
        if member.id != self.self_id and member.role not in HIDDEN_ROLES:
            self.members[member.id] = member

    def handle(self, message: Mapping[str, Any]) -> list[TrackRef]:
        """Take in one server message; returns the tracks that are gone for good
        (unpublished, or their participant left), so their media can be dropped."""
        kind = message.get("type")
        gone: list[str] = []
        if kind == "participant_joined":
            self._add(_member(message["participant"]))
        elif kind == "participant_updated":
            member = _member(message["participant"])
            if member.id in self.members:
                self.members[member.id] = member
        elif kind == "participant_left":
            pid = str(message["participant_id"])
            self.members.pop(pid, None)
            gone = [tid for tid, t in self.tracks.items() if t.participant_id == pid]
            if self.active_speaker == pid:
                self.active_speaker = None
        elif kind == "track_published":
            track = _track(message["track"])
            self.tracks[track.id] = track
        elif kind == "track_unpublished":
            gone = [str(message["track_id"])]
        elif kind == "active_speaker":
            speaker = message.get("participant_id")
            self.active_speaker = str(speaker) if speaker is not None else None
        elif kind == "bye":
            self.bye = str(message.get("reason") or "")
        return [t for t in (self.tracks.pop(tid, None) for tid in gone) if t is not None]

    def source_of(self, track_id: str, kind: str) -> str:
        """The source a track carries (before its ``track_published`` arrives: the
        microphone or camera)."""
        track = self.tracks.get(track_id)
        if track is not None:
            return track.source
        return "microphone" if kind == "audio" else "camera"

    def shown(self, participant_id: str) -> bool:
        return participant_id in self.members

    def muted(self, participant_id: str, kind: str) -> bool:
        member = self.members.get(participant_id)
        return member is not None and member.muted.get(kind, False)

    def people(self) -> list[Person]:
        """Who to lay out, in join order."""
        sharing = {
            t.participant_id
            for t in self.tracks.values()
            if t.source == "screen" and not self.muted(t.participant_id, "screen")
        }
        return [Person(pid, screen=pid in sharing) for pid in self.members]

    def nickname(self, participant_id: str) -> str:
        member = self.members.get(participant_id)
        return member.nickname if member is not None else "?"
