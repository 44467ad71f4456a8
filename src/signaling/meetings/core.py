"""One meeting in one room: who is in and since when (their stays), their resume tokens,
chat, hands, mute state, moderation, the recording under way, the published tracks and the
active speaker as the media reports them, the ``joined`` snapshot, and when it ends.

Sans-I/O: methods take ``now`` and return :mod:`signaling.meetings.outputs` values (messages
to send, sessions to close, arrivals and leaves to record, the meeting's end) for the asyncio
adapter (:mod:`signaling.meetings.service`) to carry out. Nothing here touches a socket, the
store, the media or a clock. Permissions follow the role: only moderators mute others, kick
and end the meeting.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from signaling.errors import SignalingError
from signaling.meetings import resume
from signaling.meetings.outputs import (
    Admission,
    Arrived,
    Close,
    Ended,
    Kicked,
    Left,
    Output,
    Send,
)
from signaling.meetings.resume import SpentTokens
from signaling.models import AttendanceRecord, Role, RoomRecord
from signaling.tokens import new_secret
from signaling.wire import (
    ActiveSpeaker,
    ByeReason,
    Chat,
    ChatMessage,
    EndMeeting,
    Joined,
    Kick,
    MediaKind,
    MutedByModerator,
    MuteParticipant,
    ParticipantInfo,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    RaiseHand,
    RecordingState,
    SetMute,
    TrackOut,
    TrackPublished,
    TrackUnpublished,
)

__all__ = [
    "CHAT_HISTORY",
    "Admission",
    "Arrived",
    "Close",
    "Ended",
    "Kicked",
    "Left",
    "Meeting",
    "MeetingError",
    "MeetingRules",
    "Output",
    "Send",
]

#: Chat messages kept and replayed to late joiners.
CHAT_HISTORY = 100
DEFAULT_EMPTY_TIMEOUT = timedelta(seconds=20)
DEFAULT_RESUME_WINDOW = timedelta(seconds=20)

MeetingAction = Chat | RaiseHand | SetMute | MuteParticipant | Kick | EndMeeting


class MeetingError(SignalingError):
    """An action the meeting refuses. ``code`` goes into the ``error`` reply; ``refusal``
    marks a join refusal, answered by closing with 4003."""

    def __init__(self, code: str, message: str, *, refusal: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.refusal = refusal


@dataclass(frozen=True, slots=True)
class MeetingRules:
    chat_enabled: bool = True
    screen_share_enabled: bool = True
    max_participants: int | None = None
    session_length: timedelta | None = None
    empty_timeout: timedelta = DEFAULT_EMPTY_TIMEOUT
    #: A participant whose connection dropped stays in the meeting this long, so a resume
    #: brings them back without anyone seeing them leave.
    resume_window: timedelta = DEFAULT_RESUME_WINDOW

    @classmethod
    def of_room(
        cls, room: RoomRecord, empty_timeout: timedelta, resume_window: timedelta
    ) -> MeetingRules:
        """The rules of a meeting in ``room``, as its configuration says."""
        config = room.config
        return cls(
            chat_enabled=bool(config.get("chat", {}).get("enabled", True)),
            screen_share_enabled=bool(config.get("screen_share", {}).get("enabled", True)),
            max_participants=room.max_participants,
            session_length=(
                timedelta(minutes=room.session_length_minutes)
                if room.session_length_minutes
                else None
            ),
            empty_timeout=empty_timeout,
            resume_window=resume_window,
        )


@dataclass(slots=True)
class Participant:
    id: str
    nickname: str
    role: Role
    token_id: str
    joined_at: datetime
    #: A recorder: in the meeting to receive media, but nobody sees it, it takes no place
    #: and it does not keep the meeting going.
    hidden: bool = False
    hand_raised: bool = False
    muted: dict[MediaKind, bool] = field(
        default_factory=lambda: {kind: False for kind in MediaKind}
    )

    def info(self) -> ParticipantInfo:
        return ParticipantInfo(
            id=self.id,
            nickname=self.nickname,
            role=self.role,
            joined_at=self.joined_at,
            hand_raised=self.hand_raised,
            muted=dict(self.muted),
        )


class Meeting:
    def __init__(
        self,
        meeting_id: str,
        room_id: str,
        rules: MeetingRules,
        now: datetime,
        *,
        spent: SpentTokens | None = None,
    ) -> None:
        self.id = meeting_id
        self.room_id = room_id
        self.rules = rules
        self.started_at = now
        self.participants: dict[str, Participant] = {}
        self.chat: deque[ChatMessage] = deque(maxlen=CHAT_HISTORY)
        #: Participant ids kicked from this meeting: refused if they try again.
        self.kicked: set[str] = set()
        self.ended: ByeReason | None = None
        #: Participants whose connection dropped, and when their resume window closes.
        self.away: dict[str, datetime] = {}
        #: The open stay of each visible participant admitted (what ``participant.left``
        #: reports when they go).
        self.stays: dict[str, AttendanceRecord] = {}
        #: resume token -> participant id: the latest token of each participant works, once.
        self.resume_tokens: dict[str, str] = {}
        #: Where spent resume tokens are remembered (shared by the meetings of a process).
        self.spent = spent if spent is not None else SpentTokens()
        #: The recording under way (starting, active or ending), told to late joiners.
        self.recording: RecordingState | None = None
        #: Published tracks by id, as the media reported them.
        self.tracks: dict[str, TrackOut] = {}
        #: Who the media last reported as the active speaker.
        self.active_speaker: str | None = None
        self._empty_since: datetime | None = now

    # -- membership ------------------------------------------------------------------------

    def join(
        self,
        participant_id: str,
        nickname: str,
        role: Role,
        token_id: str,
        now: datetime,
        *,
        hidden: bool = False,
    ) -> list[Output]:
        """Admit a participant. A participant id already inside is a reconnect: nothing is
        announced and the counts stay the same. A ``hidden`` one is never announced."""
        if self.ended is not None:
            raise MeetingError("meeting_ended", "the meeting has ended", refusal=True)
        if participant_id in self.kicked:
            raise MeetingError("kicked", "you were removed from this meeting", refusal=True)
        if participant_id in self.participants:
            self.away.pop(participant_id, None)
            return []
        participant = Participant(participant_id, nickname, role, token_id, now, hidden=hidden)
        if hidden:
            self.participants[participant_id] = participant
            return []
        limit = self.rules.max_participants
        if limit is not None and len(self.visible()) >= limit:
            raise MeetingError("room_full", f"the room is full ({limit} people)", refusal=True)
        self.participants[participant_id] = participant
        self._empty_since = None
        return [Send(ParticipantJoined(participant=participant.info()), exclude=participant_id)]

    def admit(
        self,
        participant_id: str,
        nickname: str,
        role: Role,
        token_id: str,
        now: datetime,
        *,
        hidden: bool = False,
    ) -> Admission:
        """:meth:`join`, plus what the participant's new session needs: their stay opened
        (if they are new and visible), a fresh resume token (the previous ones stop working)
        and the ``joined`` snapshot. :class:`MeetingError` if refused."""
        reconnect = participant_id in self.participants
        announced = self.join(participant_id, nickname, role, token_id, now, hidden=hidden)
        outputs: list[Output] = []
        if not reconnect and not hidden:
            stay = AttendanceRecord(participant_id, nickname, role, now)
            self.stays[participant_id] = stay
            outputs.append(Arrived(stay))
        self._spend(participant_id, resume.RESUME_USED)
        token = new_secret(18)
        self.resume_tokens[token] = participant_id
        me = self.participants[participant_id]
        joined = Joined(
            meeting_id=self.id,
            room_id=self.room_id,
            you=me.info(),
            participants=[p for p in self.snapshot() if p.id != me.id],
            chat_history=list(self.chat),
            tracks=list(self.tracks.values()),
            resume_token=token,
            chat_enabled=self.rules.chat_enabled,
            screen_share_enabled=self.rules.screen_share_enabled,
            recording=self.recording,
            active_speaker=self.active_speaker,
        )
        return Admission(joined, reconnect, outputs + announced)

    def holder(self, resume_token: str) -> Participant | None:
        """Whose (still working) resume token this is."""
        pid = self.resume_tokens.get(resume_token)
        return self.participants.get(pid) if pid is not None else None

    def leave(self, participant_id: str, reason: ByeReason, now: datetime) -> list[Output]:
        """``participant_id`` is gone (left, kicked, lost). Idempotent."""
        self.away.pop(participant_id, None)
        gone = self.participants.pop(participant_id, None)
        if gone is None:
            return []
        if self.empty and self._empty_since is None:
            self._empty_since = now
        if self.active_speaker == participant_id:
            self.active_speaker = None  # the media forgets them without a word
        stay = self.stays.pop(participant_id, None)
        closed = (
            None
            if stay is None
            else dataclasses.replace(stay, left_at=now, leave_reason=reason.value)
        )
        self._spend(participant_id, resume.left(reason))
        left = ParticipantLeft(participant_id=participant_id, reason=reason)
        # A hidden participant's leave is news to nobody but itself.
        return [
            Left(participant_id, reason, closed),
            Send(left, to=participant_id) if gone.hidden else Send(left),
        ]

    def disconnected(self, participant_id: str, now: datetime) -> list[Output]:
        """The connection dropped without a ``leave``: keep the place for the resume window."""
        if participant_id in self.participants and participant_id not in self.away:
            self.away[participant_id] = now + self.rules.resume_window
        return []

    def end(self, reason: ByeReason, now: datetime) -> list[Output]:
        """End for everyone: each participant is closed with ``reason``."""
        if self.ended is not None:
            return []
        self.ended = reason
        outputs: list[Output] = [Close(pid, reason) for pid in self.participants]
        self.participants.clear()
        self.away.clear()
        self.stays.clear()  # closed in history by the end itself
        self._spend(None, resume.MEETING_ENDED)
        self.recording = None
        self._empty_since = now
        outputs.append(Ended(reason))
        return outputs

    @property
    def empty(self) -> bool:
        """Nobody but hidden participants (a recorder alone does not keep a meeting going)."""
        return not self.visible()

    def visible(self) -> list[Participant]:
        return [p for p in self.participants.values() if not p.hidden]

    def snapshot(self) -> list[ParticipantInfo]:
        return [p.info() for p in self.visible()]

    # -- actions ---------------------------------------------------------------------------

    def handle(self, participant_id: str, action: MeetingAction, now: datetime) -> list[Output]:
        """Carry out ``action`` from ``participant_id``; :class:`MeetingError` if refused."""
        actor = self.participants.get(participant_id)
        if actor is None or self.ended is not None:
            raise MeetingError("not_in_meeting", "you are not in the meeting")
        if actor.hidden:
            raise MeetingError("forbidden", "a recorder only receives media")
        if isinstance(action, Chat):
            return self._chat(actor, action.text, now)
        if isinstance(action, RaiseHand):
            actor.hand_raised = action.raised
            return [Send(ParticipantUpdated(participant=actor.info()))]
        if isinstance(action, SetMute):
            actor.muted[action.kind] = action.muted
            return [Send(ParticipantUpdated(participant=actor.info()))]
        self._require_moderator(actor, action.type)
        if isinstance(action, EndMeeting):
            return self.end(ByeReason.ENDED_BY_MODERATOR, now)
        target = self.target(action.participant_id)
        if isinstance(action, MuteParticipant):
            return self.mute(target.id, action.kind, by=actor.id)
        return self.kick(target.id, rotate_links=action.rotate_links, now=now)

    def target(self, participant_id: str) -> Participant:
        """A participant others may act on (hidden ones are not there for them)."""
        target = self.participants.get(participant_id)
        if target is None or target.hidden:
            raise MeetingError("unknown_participant", "no such participant in the meeting")
        return target

    def mute(self, participant_id: str, kind: MediaKind, by: str) -> list[Output]:
        """Mute someone's ``kind`` (a moderator, or the API when ``by`` is ``"api"``)."""
        target = self.target(participant_id)
        target.muted[kind] = True
        return [
            Send(MutedByModerator(kind=kind, by=by), to=target.id),
            Send(ParticipantUpdated(participant=target.info())),
        ]

    def kick(self, participant_id: str, *, rotate_links: bool, now: datetime) -> list[Output]:
        target = self.target(participant_id)
        self.kicked.add(target.id)
        return [
            Close(target.id, ByeReason.KICKED),
            Kicked(target.id, target.role, target.token_id, rotate_links),
            *self.leave(target.id, ByeReason.KICKED, now),
        ]

    def _chat(self, actor: Participant, text: str, now: datetime) -> list[Output]:
        if not self.rules.chat_enabled:
            raise MeetingError("chat_disabled", "chat is turned off in this room")
        message = ChatMessage(
            id=secrets.token_hex(6),
            participant_id=actor.id,
            nickname=actor.nickname,
            text=text,
            sent_at=now,
        )
        self.chat.append(message)
        return [Send(message)]

    @staticmethod
    def _require_moderator(actor: Participant, what: str) -> None:
        if actor.role is not Role.MODERATOR:
            raise MeetingError("forbidden", f"only moderators may {what.replace('_', ' ')}")

    # -- what the media and the recorder report --------------------------------------------

    def track_published(self, track: TrackOut) -> list[Output]:
        self.tracks[track.id] = track
        return [Send(TrackPublished(track=track))]

    def track_unpublished(self, track_id: str, participant_id: str) -> list[Output]:
        self.tracks.pop(track_id, None)
        return [Send(TrackUnpublished(track_id=track_id, participant_id=participant_id))]

    def speaker_changed(self, participant_id: str | None) -> list[Output]:
        self.active_speaker = participant_id
        return [Send(ActiveSpeaker(participant_id=participant_id))]

    def set_recording(self, state: RecordingState) -> list[Output]:
        """How the meeting's recording stands, for everyone in it (and late joiners while it
        is under way). The end of an older recording is not news any more."""
        under_way = state.status in ("starting", "active", "ending")
        current = self.recording
        if current is not None and current.recording_id != state.recording_id and not under_way:
            return []
        self.recording = state if under_way else None
        return [Send(state)]

    def _spend(self, participant_id: str | None, why: resume.Spent) -> None:
        """The resume tokens of ``participant_id`` (everyone's, if ``None``) stop working."""
        spent = [t for t, pid in self.resume_tokens.items() if participant_id in (None, pid)]
        for token in spent:
            del self.resume_tokens[token]
            self.spent.spend(token, why)

    # -- timers ----------------------------------------------------------------------------

    def next_deadline(self) -> datetime | None:
        """When :meth:`handle_timer` must next be called, or ``None``."""
        if self.ended is not None:
            return None
        deadlines = list(self.away.values())
        if self._empty_since is not None:
            deadlines.append(self._empty_since + self.rules.empty_timeout)
        if self.rules.session_length is not None:
            deadlines.append(self.started_at + self.rules.session_length)
        return min(deadlines) if deadlines else None

    def handle_timer(self, now: datetime) -> list[Output]:
        if self.ended is not None:
            return []
        outputs: list[Output] = []
        for pid, deadline in list(self.away.items()):
            if now >= deadline:
                outputs += self.leave(pid, ByeReason.TIMEOUT, now)
        length = self.rules.session_length
        if length is not None and now >= self.started_at + length:
            return outputs + self.end(ByeReason.SESSION_LENGTH_REACHED, now)
        if self._empty_since is not None and now >= self._empty_since + self.rules.empty_timeout:
            return outputs + self.end(ByeReason.EMPTY, now)
        return outputs
