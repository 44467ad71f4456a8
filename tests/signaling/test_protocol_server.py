"""Server messages as clients read them, and client messages as clients write them: every
model round-trips through ``serialize()`` and its parser; captured frames parse; a newer
server's extra keys are ignored and its unknown types raise ``UnknownServerMessage``; broken
frames (truncated, mistyped, too deep) raise ``ServerMessageError`` and nothing else."""

from __future__ import annotations

import importlib
import json
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

import signaling.wire
from signaling.models import Role
from signaling.wire import (
    CLIENT_MODELS,
    CLIENT_TYPES,
    MAX_DEPTH,
    SERVER_MODELS,
    SERVER_TYPES,
    ActiveSpeaker,
    Bye,
    ByeReason,
    Chat,
    ChatMessage,
    ClientMessage,
    EndMeeting,
    Error,
    ErrorCode,
    IceCandidate,
    Join,
    Joined,
    Kick,
    Leave,
    MediaKind,
    MediaReady,
    MediaReset,
    MutedByModerator,
    MuteParticipant,
    ParticipantInfo,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    Ping,
    Pong,
    PublishAnswer,
    PublishOffer,
    RaiseHand,
    RecordingState,
    Resume,
    ServerMessage,
    ServerMessageError,
    SetMute,
    Source,
    StartRecording,
    StopRecording,
    SubscribeAnswer,
    SubscribeOffer,
    TrackOut,
    TrackPublished,
    TrackUnpublished,
    UnknownServerMessage,
    WireError,
    client_message,
    parse_client_message,
    parse_server_message,
)

AT = datetime(2026, 3, 1, 9, 0, 12, 345000, tzinfo=UTC)
ADA = ParticipantInfo(
    id="p-ada",
    nickname="Ada",
    role=Role.MODERATOR,
    joined_at=AT,
    hand_raised=False,
    muted={MediaKind.AUDIO: False, MediaKind.VIDEO: True, MediaKind.SCREEN: False},
)
BOB = ADA.model_copy(update={"id": "p-bob", "nickname": "Bob", "role": Role.SPEAKER})
CAMERA = TrackOut(id="p-ada:1", participant_id="p-ada", kind="video", source=Source.CAMERA)
SDP = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
HELLO = ChatMessage(id="c1", participant_id="p-bob", nickname="Bob", text="hi", sent_at=AT)
RECORDING = RecordingState(recording_id="r1", status="active")

#: One of each server message, optional fields both set and left out.
SERVER_EXAMPLES: list[ServerMessage] = [
    Joined(
        meeting_id="m1",
        room_id="room1",
        you=ADA,
        participants=[ADA, BOB],
        chat_history=[HELLO],
        tracks=[CAMERA],
        resume_token="rt",
        chat_enabled=True,
        screen_share_enabled=False,
        recording=RECORDING,
        active_speaker="p-bob",
    ),
    Joined(
        meeting_id="m1",
        room_id="room1",
        you=BOB,
        participants=[],
        chat_history=[],
        tracks=[],
        resume_token="rt",
        chat_enabled=False,
        screen_share_enabled=True,
    ),
    PublishAnswer(sdp=SDP),
    SubscribeOffer(sdp=SDP, tracks={"0": "p-ada:0", "1": "p-ada:1"}),
    SubscribeOffer(sdp=SDP),
    TrackPublished(track=CAMERA),
    TrackUnpublished(track_id="p-ada:1", participant_id="p-ada"),
    ActiveSpeaker(participant_id="p-ada"),
    ActiveSpeaker(participant_id=None),
    ParticipantJoined(participant=BOB),
    *(ParticipantLeft(participant_id="p-bob", reason=reason) for reason in ByeReason),
    ParticipantUpdated(participant=BOB.model_copy(update={"hand_raised": True})),
    HELLO,
    MutedByModerator(kind=MediaKind.AUDIO, by="p-ada"),
    MediaReset(reason="media_lost"),
    RECORDING,
    RecordingState(recording_id="r1", status="failed", error="disk full"),
    Pong(),
    Error(code=ErrorCode.INVALID_SDP, message="the offer is not valid SDP", ref="p1"),
    Error(code="room_full", message="the room is full (2 people)"),
    *(Bye(reason=reason) for reason in ByeReason),
]

#: One of each client message, optional fields both set and left out.
CLIENT_EXAMPLES: list[ClientMessage] = [
    Join(token="eyJ.token"),
    Join(token="", ref="j1"),
    Resume(resume_token="rt"),
    Ping(),
    Leave(ref="bye"),
    Chat(text="hello"),
    RaiseHand(raised=True),
    SetMute(kind=MediaKind.SCREEN, muted=False),
    MuteParticipant(participant_id="p-bob", kind=MediaKind.AUDIO),
    Kick(participant_id="p-bob"),
    Kick(participant_id="p-bob", rotate_links=True),
    EndMeeting(),
    StartRecording(),
    StopRecording(ref="s"),
    PublishOffer(sdp=SDP),
    PublishOffer(sdp=SDP, sources={"0": Source.MICROPHONE, "2": Source.SCREEN_AUDIO}),
    SubscribeAnswer(sdp=SDP),
    IceCandidate(target="publisher", candidate="candidate:1 1 udp 1 192.0.2.7 5000 typ host"),
    IceCandidate(target="subscriber", candidate="", sdp_mid="0", sdp_mline_index=0),
    MediaReady(),
]


def name(message: BaseModel) -> str:
    return str(getattr(message, "type", type(message).__name__))


def test_the_examples_cover_every_message() -> None:
    assert {type(m) for m in SERVER_EXAMPLES} == set(SERVER_MODELS)
    assert {m.type for m in SERVER_EXAMPLES} == SERVER_TYPES
    assert {type(m) for m in CLIENT_EXAMPLES} == set(CLIENT_MODELS)
    assert {m.type for m in CLIENT_EXAMPLES} == CLIENT_TYPES


@pytest.mark.parametrize("message", SERVER_EXAMPLES, ids=name)
def test_every_server_message_round_trips(message: ServerMessage) -> None:
    frame = message.serialize()
    assert frame == message.model_dump_json()  # what the server's writer sends
    parsed = parse_server_message(frame)
    assert type(parsed) is type(message) and parsed == message
    assert parse_server_message(frame.encode()) == message
    assert parsed.serialize() == frame


@pytest.mark.parametrize("message", CLIENT_EXAMPLES, ids=name)
def test_every_client_message_round_trips(message: ClientMessage) -> None:
    frame = message.serialize()
    assert "null" not in frame  # optional fields left out, not sent as null
    parsed = parse_client_message(frame)
    assert type(parsed) is type(message) and parsed == message
    assert client_message(**json.loads(frame)) == message


def test_a_captured_joined_frame_parses() -> None:
    """As the server sent it (``Joined.model_dump_json()``), to a late joiner."""
    frame = (
        '{"type":"joined","meeting_id":"m1","room_id":"room1","you":{"id":"p-bob",'
        '"nickname":"Bob","role":"speaker","joined_at":"2026-03-01T09:00:12.345000Z",'
        '"hand_raised":false,"muted":{"audio":false,"video":false,"screen":false}},'
        '"participants":[],"chat_history":[{"type":"chat","id":"c1","participant_id":"p-ada",'
        '"nickname":"Ada","text":"hi","sent_at":"2026-03-01T09:00:12.345000Z"}],"tracks":'
        '[{"id":"p-ada:1","participant_id":"p-ada","kind":"video","source":"camera"}],'
        '"resume_token":"rt","chat_enabled":true,"screen_share_enabled":true,"recording":'
        '{"type":"recording","recording_id":"r1","status":"active","error":null},'
        '"active_speaker":null}'
    )
    joined = parse_server_message(frame)
    assert isinstance(joined, Joined)
    assert joined.you.role is Role.SPEAKER and joined.you.joined_at == AT
    assert joined.you.muted == {
        MediaKind.AUDIO: False,
        MediaKind.VIDEO: False,
        MediaKind.SCREEN: False,
    }
    assert joined.tracks[0].source is Source.CAMERA and joined.recording == RECORDING
    assert joined.serialize() == frame


def test_a_newer_servers_extra_keys_are_ignored() -> None:
    frame = json.dumps({"type": "bye", "reason": "left", "farewell": "see you", "ts": [1, 2]})
    assert parse_server_message(frame) == Bye(reason=ByeReason.LEFT)
    data = json.loads(TrackPublished(track=CAMERA).serialize())
    data["track"]["simulcast"] = {"layers": 3}
    assert parse_server_message(json.dumps(data)) == TrackPublished(track=CAMERA)


def test_a_newer_servers_unknown_type_is_its_own_error() -> None:
    with pytest.raises(UnknownServerMessage) as info:
        parse_server_message('{"type": "reaction", "emoji": "tada"}')
    assert info.value.message_type == "reaction"
    assert isinstance(info.value, ServerMessageError) and isinstance(info.value, WireError)
    with pytest.raises(UnknownServerMessage):
        parse_server_message('{"type": "join", "token": "x"}')  # a client message


@pytest.mark.parametrize(
    ("frame", "message_type"),
    [
        ('{"type": "bye"}', "bye"),
        ('{"type": "bye", "reason": "vanished"}', "bye"),
        ('{"type": "publish_answer", "sdp": 42}', "publish_answer"),
        ('{"type": "active_speaker"}', "active_speaker"),
        ('{"type": "muted_by_moderator", "kind": "smell", "by": "p"}', "muted_by_moderator"),
        ('{"type": 7}', None),
        ('{"sdp": "v=0"}', None),
        ("[1, 2]", None),
        ('"pong"', None),
        ("{not json", None),
        (b"\xff\xfe", None),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), None),
        ('{"type": "pong", "x": ' + "[" * 5000, None),
    ],
)
def test_broken_frames_raise_server_message_error(
    frame: str | bytes, message_type: str | None
) -> None:
    with pytest.raises(ServerMessageError) as info:
        parse_server_message(frame)
    assert type(info.value) is ServerMessageError
    assert info.value.message_type == message_type


@pytest.mark.parametrize("message", SERVER_EXAMPLES[:4], ids=name)
def test_every_truncation_raises_server_message_error(message: ServerMessage) -> None:
    frame = message.serialize()
    for end in range(len(frame)):
        with pytest.raises(ServerMessageError):
            parse_server_message(frame[:end])


def test_client_message_refuses_what_the_server_would() -> None:
    assert client_message(type="ping") == Ping()
    for fields in (
        {"type": "dance"},
        {"type": "chat", "text": "   "},
        {"type": "raise_hand", "raised": "yes"},
        {"type": "kick", "participant_id": "p", "extra": 1},
    ):
        with pytest.raises(ValueError):
            client_message(**fields)


@pytest.mark.parametrize(
    "module", ["client_messages", "codec", "codes", "errors", "server_messages"]
)
def test_the_package_exports_every_public_name_of_its_modules(module: str) -> None:
    names = importlib.import_module(f"signaling.wire.{module}").__all__
    assert set(names) <= set(signaling.wire.__all__)
    for exported in signaling.wire.__all__:
        assert hasattr(signaling.wire, exported)
