"""The protocol's vocabulary: WebSocket close codes, ``bye`` reasons, ``error`` codes, media
kinds and track sources. Shared by both directions; values are what goes on the wire.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = ["ByeReason", "CloseCode", "ErrorCode", "MediaKind", "Source"]


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
    #: The meeting's media was lost and could not be set up again (no media process left).
    MEDIA_UNAVAILABLE = "media_unavailable"
    #: History only: the meeting ended because the room stayed empty (nobody to tell).
    EMPTY = "empty"


class ErrorCode(StrEnum):
    """``error`` codes of the protocol layer itself, and those a publisher's offer is
    refused with. The session answers more (``invalid_token``, ``room_full``, ...: the
    table in docs/signaling.md); :class:`~signaling.wire.server_messages.Error` keeps its
    ``code`` a plain string so that a newer server's codes still parse."""

    #: A frame over :data:`~signaling.wire.codec.MAX_MESSAGE_BYTES` (then close 1009).
    TOO_BIG = "too_big"
    #: A binary frame (then close 1008).
    BINARY = "binary"
    #: Not JSON (then close 1008).
    INVALID_JSON = "invalid_json"
    #: Not an object with a string ``type``, nested too deep (then close 1008), or fields
    #: that do not fit the message's type (the session goes on).
    INVALID_MESSAGE = "invalid_message"
    #: A ``type`` the server does not know (the session goes on).
    UNKNOWN_TYPE = "unknown_type"
    #: An offer or answer the media server cannot use.
    INVALID_SDP = "invalid_sdp"
    #: The participant's role may not do this (a recorder publishing, a speaker kicking).
    FORBIDDEN = "forbidden"
    #: A media message for peer connections a ``media_reset`` has replaced (it was sent
    #: before the client handled the reset); the client ignores it.
    MEDIA_RESET = "media_reset"


class MediaKind(StrEnum):
    AUDIO = "audio"
    VIDEO = "video"
    SCREEN = "screen"


class Source(StrEnum):
    """What a published track carries."""

    MICROPHONE = "microphone"
    CAMERA = "camera"
    SCREEN = "screen"
    SCREEN_AUDIO = "screen_audio"
