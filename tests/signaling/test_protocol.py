"""Client messages: everything is validated before the session sees it."""

from __future__ import annotations

import json

import pytest

from signaling.protocol import (
    MAX_MESSAGE_BYTES,
    Chat,
    CloseCode,
    IceCandidate,
    Join,
    ProtocolError,
    parse_client_message,
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
