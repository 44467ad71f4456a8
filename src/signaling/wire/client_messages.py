"""Client -> server messages: what a participant's browser (or the Python client, or the
recorder) sends. Strict models: unknown keys are refused, booleans are booleans and integers
integers, every string has a cap. ``type`` has its value as default, so a sender writes
``Join(token=...)``; a reader still needs it (:func:`~signaling.wire.codec.parse_client_message`
refuses a message without one).
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StringConstraints

from signaling.wire.codes import MediaKind, Source

__all__ = [
    "CLIENT_MODELS",
    "CLIENT_TYPES",
    "MAX_CHAT_CHARS",
    "MAX_REF_CHARS",
    "MAX_SDP_CHARS",
    "Chat",
    "ClientMessage",
    "EndMeeting",
    "IceCandidate",
    "Join",
    "Kick",
    "Leave",
    "MediaReady",
    "MuteParticipant",
    "Ping",
    "PublishOffer",
    "RaiseHand",
    "Resume",
    "SetMute",
    "StartRecording",
    "StopRecording",
    "SubscribeAnswer",
]

MAX_CHAT_CHARS = 2000
MAX_REF_CHARS = 64
MAX_SDP_CHARS = 128 * 1024


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    #: Optional correlation id, echoed in the ``error`` that answers this message.
    ref: Annotated[str, StringConstraints(max_length=MAX_REF_CHARS)] | None = None

    def serialize(self) -> str:
        """One text frame, without the optional fields left unset (``ref``, ``sdp_mid``)."""
        return self.model_dump_json(exclude_none=True)


Sdp = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SDP_CHARS)]
ParticipantId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Join(_In):
    type: Literal["join"] = "join"
    #: May be empty here: an empty token is refused as a bad token (``invalid_token``).
    token: Annotated[str, StringConstraints(max_length=4096)]


class Resume(_In):
    type: Literal["resume"] = "resume"
    resume_token: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class Ping(_In):
    type: Literal["ping"] = "ping"


class Leave(_In):
    type: Literal["leave"] = "leave"


class Chat(_In):
    type: Literal["chat"] = "chat"
    text: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_CHAT_CHARS)
    ]


class RaiseHand(_In):
    type: Literal["raise_hand"] = "raise_hand"
    raised: StrictBool


class SetMute(_In):
    """Mute or unmute one's own media."""

    type: Literal["set_mute"] = "set_mute"
    kind: MediaKind
    muted: StrictBool


class MuteParticipant(_In):
    """Moderators only: mute someone else's media (they may unmute themselves)."""

    type: Literal["mute_participant"] = "mute_participant"
    participant_id: ParticipantId
    kind: MediaKind


class Kick(_In):
    """Moderators only."""

    type: Literal["kick"] = "kick"
    participant_id: ParticipantId
    #: Also give the speaker link a new secret so the old link cannot bring them back.
    rotate_links: StrictBool = False


class EndMeeting(_In):
    """Moderators only: end the meeting for everyone."""

    type: Literal["end_meeting"] = "end_meeting"


class StartRecording(_In):
    """Moderators only, in rooms that allow recording: start recording the meeting."""

    type: Literal["start_recording"] = "start_recording"


class StopRecording(_In):
    """Moderators only: stop the meeting's recording."""

    type: Literal["stop_recording"] = "stop_recording"


class PublishOffer(_In):
    type: Literal["publish_offer"] = "publish_offer"
    sdp: Sdp
    #: What each m-line carries, by mid ("0": "microphone", "1": "camera", ...). Without it,
    #: audio is the microphone and video the camera.
    sources: Annotated[
        dict[Annotated[str, StringConstraints(max_length=16)], Source], Field(max_length=8)
    ] = Field(default_factory=dict)


class SubscribeAnswer(_In):
    type: Literal["subscribe_answer"] = "subscribe_answer"
    sdp: Sdp


class IceCandidate(_In):
    type: Literal["ice_candidate"] = "ice_candidate"
    target: Literal["publisher", "subscriber"]
    candidate: Annotated[str, StringConstraints(max_length=1024)]
    sdp_mid: Annotated[str, StringConstraints(max_length=64)] | None = None
    sdp_mline_index: Annotated[StrictInt, Field(ge=0, le=64)] | None = None


class MediaReady(_In):
    """After ``media_reset``: the old peer connections are closed and fresh ones are ready;
    the server sets up fresh media (its ``subscribe_offer`` follows)."""

    type: Literal["media_ready"] = "media_ready"


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
    | IceCandidate
    | MediaReady,
    Field(discriminator="type"),
]
#: Every client message model, in the order of the catalogue in docs/signaling.md.
CLIENT_MODELS: tuple[type[BaseModel], ...] = get_args(get_args(ClientMessage)[0])
#: The ``type`` of every client message.
CLIENT_TYPES = frozenset(m.model_fields["type"].default for m in CLIENT_MODELS)
