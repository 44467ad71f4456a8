"""The access rules (:mod:`signaling.recordings.access`) applied with the store: the viewer
a link's or a share's secret makes, the room's ``config.recording.access`` looked up, media
access parameters issued and checked against the share or link they are bound to. It is
the :class:`~signaling.api.recordings_view.MediaLinks` the HTTP view of a recording uses.
"""

from __future__ import annotations

from typing import Protocol

from signaling.clock import Clock
from signaling.errors import Forbidden, NotFound
from signaling.models import RecordingRecord, Role
from signaling.recordings.access import (
    DEFAULT_ACCESS,
    MediaAccess,
    Viewer,
    may_manage,
    role_may_see,
    sees_without_room,
)
from signaling.rooms.service import RoomService
from signaling.store import RecordingStore, RoomStore
from signaling.tokens import sha256_hex

__all__ = ["Gate"]


class RecordingsStore(RecordingStore, RoomStore, Protocol):
    """What the recordings need of the store: their own records, and the rooms they are of."""


class Gate:
    def __init__(
        self, store: RecordingsStore, rooms: RoomService, clock: Clock, key: bytes, public_url: str
    ) -> None:
        self._store = store
        self._rooms = rooms
        self._clock = clock
        self._media = MediaAccess(key)
        self._public_url = public_url

    @property
    def public_url(self) -> str:
        """Where the API is served, without a trailing slash."""
        return self._public_url

    def media_access(
        self,
        recording_id: str,
        *,
        share_hash: str | None = None,
        link: tuple[Role, str] | None = None,
    ) -> str:
        """A parameter that lets a player without headers fetch one recording's media for a
        while (``<video src>`` cannot send a header). Bound to what it was handed out for: a
        share (``share_hash``: it stops working when that share is revoked or replaced) or a
        room link (its role and secret hash: it stops working when the link is rotated, or
        when the room's ``recording.access`` no longer lets that role see recordings)."""
        return self._media.issue(recording_id, self._clock.now(), share_hash=share_hash, link=link)

    async def check_media_access(self, recording_id: str, access: str) -> bool:
        grant = self._media.read(access, self._clock.now())
        if grant is None:
            return False
        rec = await self._store.get_recording(recording_id)
        if rec is None:
            return False
        role = grant.role
        if role is None:
            if rec.share_hash is None:
                return False
            bound = rec.share_hash
        else:
            room = await self._store.get_room(rec.room_id)
            link = room.links.get(role) if room is not None else None
            if link is None:
                return False
            if not await self.may_see(Viewer(room_id=rec.room_id, role=role), rec.room_id, rec.id):
                return False  # the room's recording access was tightened since
            bound = link.secret_hash
        return self._media.verify(recording_id, grant, bound)

    async def viewer_for_link(self, secret: str) -> Viewer:
        """The viewer a room link's secret makes (refused like ``/join`` refuses it)."""
        role, room = await self._rooms.preview(secret)
        return Viewer(room_id=room.id, role=role, link_hash=sha256_hex(secret))

    async def viewer_for_share(self, recording_id: str, secret: str) -> Viewer:
        rec = await self._store.find_shared_recording(sha256_hex(secret))
        if rec is None or rec.id != recording_id:
            raise NotFound("this share link is not valid (any more)")
        return Viewer(shared_recording=rec.id)

    async def may_see(self, viewer: Viewer, room_id: str, recording_id: str | None) -> bool:
        decided = sees_without_room(viewer, room_id, recording_id)
        if decided is not None:
            return decided
        try:
            room = await self._rooms.get(room_id)
        except NotFound:
            return False
        access = room.config.get("recording", {}).get("access", DEFAULT_ACCESS)
        return role_may_see(viewer.role, access)

    async def require_see(self, viewer: Viewer, rec: RecordingRecord) -> None:
        if not await self.may_see(viewer, rec.room_id, rec.id):
            if viewer.room_id is not None and viewer.room_id != rec.room_id:
                raise NotFound(f"no recording with id {rec.id!r}")
            raise Forbidden("this link does not give access to the room's recordings")

    @staticmethod
    def require_manage(viewer: Viewer, room_id: str) -> None:
        if not may_manage(viewer, room_id):
            raise Forbidden("only the room's moderators may do this")
