"""Who may see, download, share and manage which recordings: pure rules, the store read by
the caller (:class:`signaling.recordings.service.RecordingService`).

- An administrator (API key or console) may do everything.
- The holder of one of a room's links sees its recordings as the room's
  ``config.recording.access`` says (``admin``: only the recordings link; ``moderator``, the
  default: moderators too; ``moderator_speaker``: speakers too); only moderators manage
  them (start, stop, delete, share).
- The holder of a share link sees that one recording.

Players cannot send headers (``<video src>``), so they get a media access parameter
(:class:`MediaAccess`), bound to the share or the link it was handed out for.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from signaling.models import Role

__all__ = [
    "ADMIN",
    "DEFAULT_ACCESS",
    "MEDIA_ACCESS_TTL",
    "MediaAccess",
    "MediaGrant",
    "Viewer",
    "may_manage",
    "role_may_see",
    "sees_without_room",
]

#: How long a media access parameter (for players without headers) stays good.
MEDIA_ACCESS_TTL = timedelta(hours=6)
#: A room's ``config.recording.access`` when it says nothing.
DEFAULT_ACCESS = "moderator"


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking about recordings: an administrator (API key or console), the holder of
    one of a room's links, or of one recording's share link."""

    room_id: str | None = None
    role: Role | None = None
    #: Set for a share-link holder: the one recording they may watch.
    shared_recording: str | None = None
    #: For a room link's holder: the hash of that link's secret (media URLs handed to them
    #: stop working when the link is rotated).
    link_hash: str | None = None

    @property
    def admin(self) -> bool:
        return self.room_id is None and self.shared_recording is None


ADMIN = Viewer()


def sees_without_room(viewer: Viewer, room_id: str, recording_id: str | None) -> bool | None:
    """Whether ``viewer`` may see the recordings of ``room_id`` (``recording_id``, or the
    list when ``None``), when that does not depend on the room's setting; ``None`` when it
    does (see :func:`role_may_see`)."""
    if viewer.admin:
        return True
    if viewer.shared_recording is not None:
        return recording_id == viewer.shared_recording
    if viewer.room_id != room_id:
        return False
    if viewer.role is Role.RECORDINGS:
        return True
    return None


def role_may_see(role: Role | None, access: str) -> bool:
    """Whether a room link of ``role`` sees the room's recordings under its ``access``."""
    if role is Role.MODERATOR:
        return access != "admin"
    return role is Role.SPEAKER and access == "moderator_speaker"


def may_manage(viewer: Viewer, room_id: str) -> bool:
    """Start, stop, delete, share: administrators, and the room's moderators."""
    return viewer.admin or (viewer.room_id == room_id and viewer.role is Role.MODERATOR)


@dataclass(frozen=True, slots=True)
class MediaGrant:
    """What a well-formed, unexpired media access parameter claims (not yet verified)."""

    expires: int
    #: ``s`` (a share) or ``l-<role>`` (a room link of that role).
    kind: str
    mac: str

    @property
    def role(self) -> Role | None:
        """The link's role; ``None`` for a share."""
        return Role(self.kind[2:]) if self.kind.startswith("l-") else None


class MediaAccess:
    """Media access parameters: ``<expires>.<kind>.<mac>``, an HMAC over the recording and
    what it is bound to (the share's hash, or the link's secret hash), so it stops working
    when that share is revoked or replaced, or that link rotated."""

    def __init__(self, key: bytes, ttl: timedelta = MEDIA_ACCESS_TTL) -> None:
        self._key = key
        self.ttl = ttl

    def issue(
        self,
        recording_id: str,
        now: datetime,
        *,
        share_hash: str | None = None,
        link: tuple[Role, str] | None = None,
    ) -> str:
        expires = int((now + self.ttl).timestamp())
        if share_hash is not None:
            kind, bound = "s", share_hash
        elif link is not None:
            kind, bound = f"l-{link[0].value}", link[1]
        else:
            raise ValueError("media access is bound to a share or a link")
        return f"{expires}.{kind}.{self._mac(recording_id, expires, kind, bound)}"

    @staticmethod
    def read(access: str, now: datetime) -> MediaGrant | None:
        """The grant ``access`` claims, or ``None`` if it is malformed or expired."""
        expires, kind, mac = [*access.split(".", 2), "", ""][:3]
        if not expires.isdigit() or int(expires) < now.timestamp():
            return None
        if kind != "s" and not kind.startswith("l-"):
            return None
        if kind != "s":
            try:
                Role(kind[2:])
            except ValueError:
                return None
        return MediaGrant(int(expires), kind, mac)

    def verify(self, recording_id: str, grant: MediaGrant, bound: str) -> bool:
        """Whether ``grant`` was issued for ``recording_id`` bound to ``bound``."""
        expected = self._mac(recording_id, grant.expires, grant.kind, bound)
        return hmac.compare_digest(grant.mac, expected)

    def _mac(self, recording_id: str, expires: int, kind: str, bound: str) -> str:
        message = f"media:{recording_id}:{expires}:{kind}:{bound}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]
