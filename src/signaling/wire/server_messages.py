"""Server -> client messages. The server builds them; clients read them with
:func:`~signaling.wire.codec.parse_server_message`, which ignores keys it does not know (a
newer server may send more) but not a missing or mistyped field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

from signaling.models import Role
from signaling.wire.codes import ByeReason, MediaKind, Source

__all__ = [
    "SERVER_MODELS",
    "SERVER_TYPES",
    "ActiveSpeaker",
    "Bye",
    "ChatMessage",
    "Error",
    "Joined",
    "MediaReset",
    "MutedByModerator",
    "ParticipantInfo",
    "ParticipantJoined",
    "ParticipantLeft",
    "ParticipantUpdated",
    "Pong",
    "PublishAnswer",
    "RecordingState",
    "ServerMessage",
    "SubscribeOffer",
    "TrackOut",
    "TrackPublished",
    "TrackUnpublished",
]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)

    def serialize(self) -> str:
        """One text frame, every field included (``null`` for an optional one)."""
        return self.model_dump_json()


class ParticipantInfo(_Out):
    id: str
    nickname: str
    role: Role
    joined_at: datetime
    hand_raised: bool
    muted: dict[MediaKind, bool]


class ChatMessage(_Out):
    type: Literal["chat"] = "chat"
    id: str
    participant_id: str
    nickname: str
    text: str
    sent_at: datetime


class TrackOut(_Out):
    #: Also the msid track id in the subscriber SDP: how a client tells whose track arrived.
    id: str
    participant_id: str
    kind: Literal["audio", "video"]
    source: Source


class PublishAnswer(_Out):
    type: Literal["publish_answer"] = "publish_answer"
    sdp: str


class SubscribeOffer(_Out):
    type: Literal["subscribe_offer"] = "subscribe_offer"
    sdp: str
    #: mid -> id of the track it carries (mids are reused once their track is gone)
    tracks: dict[str, str] = {}


class TrackPublished(_Out):
    type: Literal["track_published"] = "track_published"
    track: TrackOut


class TrackUnpublished(_Out):
    type: Literal["track_unpublished"] = "track_unpublished"
    track_id: str
    participant_id: str


class ActiveSpeaker(_Out):
    type: Literal["active_speaker"] = "active_speaker"
    participant_id: str | None


class RecordingState(_Out):
    """The meeting's recording: sent to everyone when it starts, changes and stops, and
    part of ``joined`` so a late joiner knows they are being recorded."""

    type: Literal["recording"] = "recording"
    recording_id: str
    #: starting | active | ending | complete | failed | aborted
    status: str
    #: Why it failed, when it did.
    error: str | None = None


class Joined(_Out):
    type: Literal["joined"] = "joined"
    meeting_id: str
    room_id: str
    you: ParticipantInfo
    participants: list[ParticipantInfo]
    chat_history: list[ChatMessage]
    tracks: list[TrackOut]
    resume_token: str
    chat_enabled: bool
    screen_share_enabled: bool
    #: The recording under way (starting, active or ending), if any.
    recording: RecordingState | None = None
    #: Who is speaking now (``active_speaker`` messages only say when that changes).
    active_speaker: str | None = None


class ParticipantJoined(_Out):
    type: Literal["participant_joined"] = "participant_joined"
    participant: ParticipantInfo


class ParticipantLeft(_Out):
    type: Literal["participant_left"] = "participant_left"
    participant_id: str
    reason: ByeReason


class ParticipantUpdated(_Out):
    type: Literal["participant_updated"] = "participant_updated"
    participant: ParticipantInfo


class MutedByModerator(_Out):
    type: Literal["muted_by_moderator"] = "muted_by_moderator"
    kind: MediaKind
    by: str


class MediaReset(_Out):
    """Every peer connection of yours is gone (the meeting's media moved, e.g. its media
    process died): close both, make fresh ones, send ``media_ready``, then publish again
    and answer the ``subscribe_offer`` that follows. The meeting and its people stay."""

    type: Literal["media_reset"] = "media_reset"
    #: Why: ``media_lost`` (a string, so that a newer server's reasons still parse).
    reason: str = "media_lost"


class Pong(_Out):
    type: Literal["pong"] = "pong"


class Error(_Out):
    type: Literal["error"] = "error"
    #: One of :class:`~signaling.wire.codes.ErrorCode`, or a session's code (a string, so
    #: that a newer server's codes still parse).
    code: str
    message: str
    ref: str | None = None


class Bye(_Out):
    type: Literal["bye"] = "bye"
    reason: ByeReason


ServerMessage = (
    Joined
    | PublishAnswer
    | SubscribeOffer
    | TrackPublished
    | TrackUnpublished
    | ActiveSpeaker
    | ParticipantJoined
    | ParticipantLeft
    | ParticipantUpdated
    | ChatMessage
    | MutedByModerator
    | MediaReset
    | RecordingState
    | Pong
    | Error
    | Bye
)
#: Every server message model.
SERVER_MODELS: tuple[type[BaseModel], ...] = get_args(ServerMessage)
#: The ``type`` of every server message.
SERVER_TYPES = frozenset(m.model_fields["type"].default for m in SERVER_MODELS)
