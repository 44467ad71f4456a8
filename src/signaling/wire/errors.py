"""Errors of the wire package. The tree::

    WireError
    ├── ProtocolError         a client message the server cannot handle: answer an ``error``
    │                         with ``code``, then close with ``close_code`` if it is set
    └── ServerMessageError    a server message this client cannot read
        └── UnknownServerMessage   its ``type`` is not one this version knows (a newer
                                   server): clients skip it

Parsing raises these and nothing else (pydantic's ``ValidationError`` does not escape).
"""

from __future__ import annotations

from signaling.errors import SignalingError
from signaling.wire.codes import CloseCode

__all__ = ["ProtocolError", "ServerMessageError", "UnknownServerMessage", "WireError"]


class WireError(SignalingError):
    """Root of the errors raised reading or writing signaling messages."""


class ProtocolError(WireError):
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


class ServerMessageError(WireError):
    """A server message that does not fit this version's models (not JSON, not an object,
    a missing or mistyped field). ``message_type`` is its ``type``, when it had a string one."""

    def __init__(self, message: str, message_type: str | None = None) -> None:
        super().__init__(message)
        self.message_type = message_type


class UnknownServerMessage(ServerMessageError):
    """A server message whose ``type`` this version does not know: a newer server's."""
