"""Client messages: everything is validated before the session sees it."""

from __future__ import annotations

import json

import pytest

from signaling.wire import (
    MAX_DEPTH,
    MAX_MESSAGE_BYTES,
    Chat,
    CloseCode,
    IceCandidate,
    Join,
    ProtocolError,
    parse_client_message,
    too_deep,
)


def test_valid_messages_parse_to_their_types() -> None:
    assert isinstance(parse_client_message('{"type": "join", "token": "abc"}'), Join)
    chat = parse_client_message('{"type": "chat", "text": "  hello  ", "ref": "r1"}')
    assert isinstance(chat, Chat) and chat.text == "hello" and chat.ref == "r1"
    ice = parse_client_message(
        json.dumps(
            {"type": "ice_candidate", "target": "publisher", "candidate": "candidate:1 1 udp"}
        )
    )
    assert isinstance(ice, IceCandidate)


@pytest.mark.parametrize(
    ("raw", "close"),
    [
        ("x" * (MAX_MESSAGE_BYTES + 1), CloseCode.MESSAGE_TOO_BIG),
        ("{not json", CloseCode.POLICY_VIOLATION),
        ("[1, 2]", CloseCode.POLICY_VIOLATION),
        ('{"type": 5}', CloseCode.POLICY_VIOLATION),
        (b'{"type": "ping"}', CloseCode.POLICY_VIOLATION),
    ],
)
def test_unreadable_messages_close_the_socket(raw: str | bytes, close: CloseCode) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_message(raw)
    assert info.value.close_code is close


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"type": "dance"}, "unknown_type"),
        ({"type": "chat"}, "invalid_message"),
        ({"type": "chat", "text": 42}, "invalid_message"),
        ({"type": "chat", "text": "x" * 2001}, "invalid_message"),
        ({"type": "chat", "text": "   "}, "invalid_message"),
        ({"type": "kick", "participant_id": "p", "extra": 1}, "invalid_message"),
        ({"type": "set_mute", "kind": "smell", "muted": True}, "invalid_message"),
        ({"type": "publish_offer", "sdp": "v=0\n" * 40000}, "invalid_message"),
    ],
)
def test_invalid_messages_get_an_error_reply_with_the_ref(
    message: dict[str, object], code: str
) -> None:
    raw = json.dumps({**message, "ref": "abc"})
    if len(raw) > MAX_MESSAGE_BYTES:
        pytest.skip("over the frame cap: covered above")
    with pytest.raises(ProtocolError) as info:
        parse_client_message(raw)
    assert info.value.close_code is None
    assert info.value.code == code and info.value.ref == "abc"


@pytest.mark.parametrize(
    "message",
    [
        {"type": "raise_hand", "raised": "yes"},
        {"type": "raise_hand", "raised": 1},
        {"type": "set_mute", "kind": "audio", "muted": "true"},
        {"type": "set_mute", "kind": "audio", "muted": 0},
        {"type": "kick", "participant_id": "p", "rotate_links": "false"},
        {"type": "ice_candidate", "target": "publisher", "candidate": "", "sdp_mline_index": "0"},
        {"type": "ice_candidate", "target": "publisher", "candidate": "", "sdp_mline_index": True},
        {"type": "ice_candidate", "target": "publisher", "candidate": "", "sdp_mline_index": 0.0},
    ],
)
def test_booleans_are_booleans_and_integers_integers(message: dict[str, object]) -> None:
    """``raised: "yes"`` raised the hand, ``muted: "true"`` muted: pydantic's lax mode."""
    with pytest.raises(ProtocolError) as info:
        parse_client_message(json.dumps(message))
    assert info.value.code == "invalid_message" and info.value.close_code is None


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 1000 + "]" * 1000,
        "[" * 100_000,
        '{"type": "ping", "ref": ' * 5000,
        json.dumps({"type": "chat", "text": "x"}).replace('"x"', "[" * (MAX_DEPTH + 1) + "]" * 17),
    ],
)
def test_nesting_past_the_cap_is_refused_before_parsing(raw: str) -> None:
    """1,000 ``[`` raised RecursionError out of the parser (and the ASGI app)."""
    with pytest.raises(ProtocolError) as info:
        parse_client_message(raw)
    assert info.value.code == "invalid_message"
    assert info.value.close_code is CloseCode.POLICY_VIOLATION


def test_brackets_in_strings_do_not_count_towards_the_depth() -> None:
    text = '[{"\\"[[' + "[" * 100 + '"}]'
    assert not too_deep(text)
    chat = parse_client_message(json.dumps({"type": "chat", "text": "[" * 1000 + "\\"}))
    assert isinstance(chat, Chat)
    nested: object = []
    for _ in range(MAX_DEPTH - 1):
        nested = [nested]
    assert not too_deep(json.dumps(nested)) and too_deep(json.dumps([nested]))
