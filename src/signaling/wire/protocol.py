"""The signaling wire protocol: JSON messages over the WebSocket at ``/ws``.

Every client message is validated here (size cap, nesting depth, JSON, schema) before
anything else sees it; :func:`parse_client_message` returns a typed message or raises
:class:`ProtocolError` carrying what to do about it (reply with an ``error`` message, or
close with a code). It raises nothing else, whatever the input (the fuzz test in
``tests/signaling/test_protocol_fuzz.py`` holds it to that). The catalogue and the sequences
are documented in ``docs/signaling.md``.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from signaling.models import Role

__all__ = [
    "MAX_DEPTH",
    "MAX_MESSAGE_BYTES",
    "ByeReason",
    "ClientMessage",
    "CloseCode",
    "MediaKind",
    "ProtocolError",
    "parse_client_message",
]

#: Largest client message accepted; bigger frames are closed with 1009 by the transport.
MAX_MESSAGE_BYTES = 256 * 1024
MAX_CHAT_CHARS = 2000
MAX_REF_CHARS = 64
MAX_SDP_CHARS = 128 * 1024
#: Deepest nesting of arrays and objects accepted (no message needs more than 2); checked
#: before parsing, as the JSON parser recurses per level.
MAX_DEPTH = 16


class CloseCode(IntEnum):
    """WebSocket close codes the server uses. A ``bye`` message precedes every close that
    ends a joined session."""

    NORMAL = 1000
    GOING_AWAY = 1001
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    #: No valid ``join`` within the admission window, a bad or expired token, a nickname
    #: with nothing visible, a used or expired resume token.
    UNAUTHORIZED = 4001
    #: The room refuses joins: closed, expired, full, deleted, the meeting ended, or this
    #: participant was kicked (also the close of a session that is kicked).
    REFUSED = 4003


class ByeReason(StrEnum):
    LEFT = "left"
    KICKED = "kicked"
    REPLACED = "replaced"
    ENDED_BY_MODERATOR = "ended_by_moderator"
    ENDED_BY_API = "ended_by_api"
    ROOM_DELETED = "room_deleted"
    SESSION_LENGTH_REACHED = "session_length_reached"
    SERVER_SHUTTING_DOWN = "server_shutting_down"
    TIMEOUT = "timeout"
    #: The participant's media connection failed (no UDP from them for ~30 s).
    MEDIA_FAILED = "media_failed"
    #: History only: the meeting ended because the room stayed empty (nobody to tell).
    EMPTY = "empty"


class MediaKind(StrEnum):
    AUDIO = "audio"
    VIDEO = "video"
    SCREEN = "screen"


class ProtocolError(Exception):
    """A client message that cannot be handled.

    The session answers an ``error`` message with ``code``; then, if ``close_code`` is set
    (the message was not even readable), it closes the socket with it, else it goes on.
    """

    def __init__(
        self, code: str, message: str, close_code: CloseCode | None = None, ref: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.close_code = close_code
        self.ref = ref


# -- client -> server ---------------------------------------------------------------------


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    #: Optional correlation id, echoed in the ``error`` that answers this message.
    ref: Annotated[str, StringConstraints(max_length=MAX_REF_CHARS)] | None = None


Sdp = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SDP_CHARS)]
ParticipantId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Join(_In):
    type: Literal["join"]
    #: May be empty here: an empty token is refused as a bad token (``invalid_token``).
    token: Annotated[str, StringConstraints(max_length=4096)]


class Resume(_In):
    type: Literal["resume"]
    resume_token: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class Ping(_In):
    type: Literal["ping"]


class Leave(_In):
    type: Literal["leave"]


class Chat(_In):
    type: Literal["chat"]
    text: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_CHAT_CHARS)
    ]


class RaiseHand(_In):
    type: Literal["raise_hand"]
    raised: StrictBool


class SetMute(_In):
    """Mute or unmute one's own media."""

    type: Literal["set_mute"]
    kind: MediaKind
    muted: StrictBool


class MuteParticipant(_In):
    """Moderators only: mute someone else's media (they may unmute themselves)."""

    type: Literal["mute_participant"]
    participant_id: ParticipantId
    kind: MediaKind


class Kick(_In):
    """Moderators only."""

    type: Literal["kick"]
    participant_id: ParticipantId
    #: Also give the speaker link a new secret so the old link cannot bring them back.
    rotate_links: StrictBool = False


class EndMeeting(_In):
    """Moderators only: end the meeting for everyone."""

    type: Literal["end_meeting"]


class StartRecording(_In):
    """Moderators only, in rooms that allow recording: start recording the meeting."""

    type: Literal["start_recording"]


class StopRecording(_In):
    """Moderators only: stop the meeting's recording."""

    type: Literal["stop_recording"]


class Source(StrEnum):
    MICROPHONE = "microphone"
    CAMERA = "camera"
    SCREEN = "screen"
    SCREEN_AUDIO = "screen_audio"


class PublishOffer(_In):
    type: Literal["publish_offer"]
    sdp: Sdp
    #: What each m-line carries, by mid ("0": "microphone", "1": "camera", ...). Without it,
    #: audio is the microphone and video the camera.
    sources: Annotated[
        dict[Annotated[str, StringConstraints(max_length=16)], Source], Field(max_length=8)
    ] = Field(default_factory=dict)


class SubscribeAnswer(_In):
    type: Literal["subscribe_answer"]
    sdp: Sdp


class IceCandidate(_In):
    type: Literal["ice_candidate"]
    target: Literal["publisher", "subscriber"]
    candidate: Annotated[str, StringConstraints(max_length=1024)]
    sdp_mid: Annotated[str, StringConstraints(max_length=64)] | None = None
    sdp_mline_index: Annotated[StrictInt, Field(ge=0, le=64)] | None = None


ClientMessage = Annotated[
    Join
    | Resume
    | Ping
    | Leave
    | Chat
    | RaiseHand
    | SetMute
    | MuteParticipant
    | Kick
    | EndMeeting
    | StartRecording
    | StopRecording
    | PublishOffer
    | SubscribeAnswer
    | IceCandidate,
    Field(discriminator="type"),
]
_client_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
_CLIENT_MODELS = (
    Join,
    Resume,
    Ping,
    Leave,
    Chat,
    RaiseHand,
    SetMute,
    MuteParticipant,
    Kick,
    EndMeeting,
    StartRecording,
    StopRecording,
    PublishOffer,
    SubscribeAnswer,
    IceCandidate,
)
CLIENT_TYPES = frozenset(get_args(m.model_fields["type"].annotation)[0] for m in _CLIENT_MODELS)


#: What the depth scan ignores: escapes (a backslash and the next character) and everything
#: but quotes and brackets.
_NOT_STRUCTURE = re.compile(r'\\.?|[^"\\\[\]{}]+', re.DOTALL)


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays and objects nest more than ``limit`` deep in ``text`` (JSON or not;
    brackets inside strings do not count). One pass, no recursion, stopping at the first
    level too many: it runs before the parser, which recurses per level."""
    if text.count("[") + text.count("{") <= limit:
        return False  # not even that many brackets
    depth = 0
    in_string = False
    for char in _NOT_STRUCTURE.sub("", text):
        if char == '"':
            in_string = not in_string
        elif in_string:
            continue
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """The message in ``raw``, validated; :class:`ProtocolError` says why not."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise ProtocolError(
            "too_big",
            f"messages are limited to {MAX_MESSAGE_BYTES} bytes",
            CloseCode.MESSAGE_TOO_BIG,
        )
    if isinstance(raw, bytes):
        raise ProtocolError("binary", "messages are JSON text frames", CloseCode.POLICY_VIOLATION)
    if too_deep(raw):
        raise ProtocolError(
            "invalid_message",
            f"arrays and objects may nest at most {MAX_DEPTH} deep",
            CloseCode.POLICY_VIOLATION,
        )
    try:
        data: Any = json.loads(raw)
    except (ValueError, RecursionError):
        raise ProtocolError("invalid_json", "not valid JSON", CloseCode.POLICY_VIOLATION) from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolError(
            "invalid_message",
            "a message is a JSON object with a string 'type'",
            CloseCode.POLICY_VIOLATION,
        )
    ref = data.get("ref")
    if not isinstance(ref, str) or len(ref) > MAX_REF_CHARS:
        ref = None  # not echoed: an error must not send a client's 256 KiB back

    if data["type"] not in CLIENT_TYPES:
        raise ProtocolError("unknown_type", f"unknown message type {data['type'][:40]!r}", ref=ref)
    try:
        return _client_adapter.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"][1:]) or "message"
        if len(where) > 64:  # an unknown key is the client's: not sent back whole
            where = where[:61] + "..."
        raise ProtocolError("invalid_message", f"{where}: {first['msg']}"[:300], ref=ref) from None


# -- server -> client ---------------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


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


class Pong(_Out):
    type: Literal["pong"] = "pong"


class Error(_Out):
    type: Literal["error"] = "error"
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
    | RecordingState
    | Pong
    | Error
    | Bye
)
