"""Errors raised by the signaling package: one root, :class:`SignalingError`. The tree::

    SignalingError                      (this module)
    ├── MeetboxError                    errors a request can end in, rendered as problems:
    │   ├── BadRequest            400
    │   │   └── InvalidCursor
    │   ├── Unauthorized          401   (no, wrong or revoked API key)
    │   ├── TokenError            401   (participant token: malformed, bad signature, expired)
    │   ├── Forbidden             403
    │   │   ├── RoomClosed
    │   │   └── WrongLinkRole
    │   ├── NotFound              404
    │   │   └── InvalidLink
    │   ├── Conflict              409
    │   │   ├── MeetingInProgress
    │   │   ├── NoMeeting               (the room exists, but no meeting is in progress)
    │   │   ├── NoLogo                  (the theme exists, but has no logo)
    │   │   ├── UnknownTheme            (a room names a theme that does not exist)
    │   │   └── InstantRoom             (``auto_delete_at`` on an instant room)
    │   ├── Gone                  410
    │   │   ├── RoomExpired
    │   │   └── LinkRotated
    │   ├── PayloadTooLarge       413
    │   ├── UnsupportedMediaType  415   (a logo that is no PNG, JPEG, GIF or WebP)
    │   ├── Invalid               422   (a field failed validation)
    │   ├── TooManyRequests       429   (login attempts from one address)
    │   ├── ServiceUnavailable    503
    │   │   └── ShuttingDown            (with ``Retry-After``)
    │   └── InsufficientStorage   507   (the disk is full: nothing could be saved)
    ├── StoreException                  :mod:`signaling.store.errors`: the database
    │   ├── StoreError                  cannot be opened (``problem`` says why)
    │   └── StoreFull                   a write failed for a full disk (the edge answers 507)
    ├── WireError                       :mod:`signaling.wire.errors`: a message
    │   ├── ProtocolError               from a client that cannot be handled (close code)
    │   └── ServerMessageError          from the server that a client cannot read
    │       └── UnknownServerMessage
    ├── MeetingError                    :mod:`signaling.meetings.core`: an action or join the
    │                                   meeting refuses (``code``; ``refusal`` closes 4003)
    ├── Refused                         :mod:`signaling.meetings.live`: a join or resume not
    │                                   taken (``close_code`` 4001/4003/1001)
    └── InvalidSignature                :mod:`signaling.webhooks.signing`: a webhook request
                                        that is not ours (also a ``ValueError``)

Every :class:`MeetboxError` carries the HTTP status and the RFC 9457 problem ``type`` slug it
maps to, so the HTTP layer renders them without a lookup table; the others carry the
WebSocket close code or the field their handler needs. This module imports nothing of
signaling, so every sub-package (the wire package in a recorder, too) can use the root.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "BadRequest",
    "Conflict",
    "Forbidden",
    "Gone",
    "InstantRoom",
    "InsufficientStorage",
    "Invalid",
    "InvalidCursor",
    "InvalidLink",
    "LinkRotated",
    "MeetboxError",
    "MeetingInProgress",
    "NoLogo",
    "NoMeeting",
    "NotFound",
    "PayloadTooLarge",
    "RoomClosed",
    "RoomExpired",
    "ServiceUnavailable",
    "ShuttingDown",
    "SignalingError",
    "TokenError",
    "TooManyRequests",
    "Unauthorized",
    "UnknownTheme",
    "UnsupportedMediaType",
    "WrongLinkRole",
]


class SignalingError(Exception):
    """Root of every error the signaling package raises."""


class MeetboxError(SignalingError):
    """Root of the errors a request can end in."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"
    #: Response headers that go with the problem document.
    headers: ClassVar[dict[str, str]] = {}

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        #: Extra members for the problem document (RFC 9457 extension members).
        self.extra = extra


class BadRequest(MeetboxError):
    status = 400
    slug = "bad-request"
    title = "Bad request"


class InvalidCursor(BadRequest):
    """A cursor of the right shape that this server did not hand out."""

    slug = "invalid-cursor"
    title = "Unknown cursor"


class Unauthorized(MeetboxError):
    status = 401
    slug = "unauthorized"
    title = "Unauthorized"


class TokenError(MeetboxError):
    status = 401
    slug = "invalid-token"
    title = "Invalid participant token"


class Forbidden(MeetboxError):
    status = 403
    slug = "forbidden"
    title = "Forbidden"


class RoomClosed(Forbidden):
    slug = "room-closed"
    title = "Room closed"


class WrongLinkRole(Forbidden):
    slug = "wrong-link-role"
    title = "This link does not open the meeting"


class NotFound(MeetboxError):
    status = 404
    slug = "not-found"
    title = "Not found"


class InvalidLink(NotFound):
    slug = "invalid-link"
    title = "Unknown link"


class Conflict(MeetboxError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class MeetingInProgress(Conflict):
    slug = "meeting-in-progress"
    title = "A meeting is in progress"


class NoMeeting(Conflict):
    slug = "no-meeting"
    title = "No meeting in progress"


class NoLogo(Conflict):
    slug = "no-logo"
    title = "No logo"


class UnknownTheme(Conflict):
    slug = "unknown-theme"
    title = "No such theme"


class InstantRoom(Conflict):
    slug = "instant-room"
    title = "Not for instant rooms"


class Gone(MeetboxError):
    status = 410
    slug = "gone"
    title = "Gone"


class RoomExpired(Gone):
    slug = "room-expired"
    title = "Room expired"


class LinkRotated(Gone):
    slug = "link-rotated"
    title = "Link replaced"


class PayloadTooLarge(MeetboxError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class UnsupportedMediaType(MeetboxError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class Invalid(MeetboxError):
    status = 422
    slug = "validation-error"
    title = "Validation failed"


class ServiceUnavailable(MeetboxError):
    status = 503
    slug = "service-unavailable"
    title = "Service unavailable"


class ShuttingDown(ServiceUnavailable):
    """From the first SIGTERM on: the server takes nothing new. ``Retry-After`` says when a
    restarted server (or another behind the same name) may take it."""

    slug = "server-shutting-down"
    title = "Server shutting down"
    headers: ClassVar[dict[str, str]] = {"Retry-After": "10"}

    def __init__(self, detail: str = "the server is shutting down; try again shortly") -> None:
        super().__init__(detail)


class InsufficientStorage(MeetboxError):
    status = 507
    slug = "insufficient-storage"
    title = "Insufficient storage"


class TooManyRequests(MeetboxError):
    status = 429
    slug = "too-many-requests"
    title = "Too many requests"
