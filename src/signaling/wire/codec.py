"""Reading and writing messages: the frame size cap, the nesting guard, JSON, the models.

:func:`parse_client_message` is the server's reader: it validates every client message
(size, nesting depth, JSON, schema) before anything else sees it and returns a typed message
or raises :class:`~signaling.wire.errors.ProtocolError` carrying what to do about it (reply
with an ``error`` message, or close with a code). It raises nothing else, whatever the input
(``tests/signaling/test_protocol_fuzz.py`` holds it to that).

:func:`parse_server_message` is the clients' reader (the Python client, the recorder, the
bench); it raises :class:`~signaling.wire.errors.ServerMessageError`, or its subclass
:class:`~signaling.wire.errors.UnknownServerMessage` for a ``type`` this version does not
know. Writing is each message's ``serialize()``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from signaling.wire.client_messages import CLIENT_TYPES, MAX_REF_CHARS, ClientMessage
from signaling.wire.codes import CloseCode, ErrorCode
from signaling.wire.errors import ProtocolError, ServerMessageError, UnknownServerMessage
from signaling.wire.server_messages import SERVER_TYPES, ServerMessage

__all__ = [
    "MAX_DEPTH",
    "MAX_MESSAGE_BYTES",
    "client_message",
    "decode_server_frame",
    "parse_client_message",
    "parse_server_message",
    "parse_server_object",
    "too_deep",
]

#: Largest client message accepted; bigger frames are closed with 1009 by the transport.
MAX_MESSAGE_BYTES = 256 * 1024
#: Deepest nesting of arrays and objects accepted (no message needs more than 4); checked
#: before parsing, as the JSON parser recurses per level.
MAX_DEPTH = 16

_client_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
_server_adapter: TypeAdapter[ServerMessage] = TypeAdapter(
    Annotated[ServerMessage, Field(discriminator="type")]
)

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
            ErrorCode.TOO_BIG,
            f"messages are limited to {MAX_MESSAGE_BYTES} bytes",
            CloseCode.MESSAGE_TOO_BIG,
        )
    if isinstance(raw, bytes):
        raise ProtocolError(
            ErrorCode.BINARY, "messages are JSON text frames", CloseCode.POLICY_VIOLATION
        )
    if too_deep(raw):
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE,
            f"arrays and objects may nest at most {MAX_DEPTH} deep",
            CloseCode.POLICY_VIOLATION,
        )
    try:
        data: Any = json.loads(raw)
    except (ValueError, RecursionError):
        raise ProtocolError(
            ErrorCode.INVALID_JSON, "not valid JSON", CloseCode.POLICY_VIOLATION
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE,
            "a message is a JSON object with a string 'type'",
            CloseCode.POLICY_VIOLATION,
        )
    ref = data.get("ref")
    if not isinstance(ref, str) or len(ref) > MAX_REF_CHARS:
        ref = None  # not echoed: an error must not send a client's 256 KiB back

    if data["type"] not in CLIENT_TYPES:
        raise ProtocolError(
            ErrorCode.UNKNOWN_TYPE, f"unknown message type {data['type'][:40]!r}", ref=ref
        )
    try:
        return _client_adapter.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"][1:]) or "message"
        if len(where) > 64:  # an unknown key is the client's: not sent back whole
            where = where[:61] + "..."
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE, f"{where}: {first['msg']}"[:300], ref=ref
        ) from None


def client_message(**fields: Any) -> ClientMessage:
    """The client message ``fields`` make, ``type`` included (``client_message(type="ping")``),
    for a sender that picks the type at run time; pydantic's ``ValidationError`` (a
    ``ValueError``) says why not. Building the model itself (``Ping()``) reads better."""
    return _client_adapter.validate_python(fields)


def decode_server_frame(raw: str | bytes) -> dict[str, Any]:
    """The JSON object in one frame from the server (no schema yet); the nesting guard runs
    first, as for client messages. Raises :class:`ServerMessageError`."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if too_deep(text):
        raise ServerMessageError(f"arrays and objects nest more than {MAX_DEPTH} deep")
    try:
        data: Any = json.loads(text)
    except (ValueError, RecursionError):
        raise ServerMessageError("not valid JSON") from None
    if not isinstance(data, dict):
        raise ServerMessageError("a message is a JSON object")
    return data


def parse_server_object(data: Mapping[str, Any]) -> ServerMessage:
    """The server message in an already decoded JSON object (see :func:`decode_server_frame`).
    Keys this version does not know are ignored; a ``type`` it does not know raises
    :class:`UnknownServerMessage`, a missing or mistyped field :class:`ServerMessageError`."""
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ServerMessageError("a message has a string 'type'")
    if kind not in SERVER_TYPES:
        raise UnknownServerMessage(f"unknown message type {kind[:40]!r}", kind)
    try:
        return _server_adapter.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"][1:]) or "message"
        raise ServerMessageError(f"{kind} {where}: {first['msg']}"[:300], kind) from None


def parse_server_message(raw: str | bytes) -> ServerMessage:
    """The server message in one frame; :class:`ServerMessageError` says why not."""
    return parse_server_object(decode_server_frame(raw))
