"""The room service: rooms, their links, joining, and the lifecycle hooks meetings call."""

from __future__ import annotations

import dataclasses
import hmac
import logging
import re
import secrets
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from signaling.api.schemas import RoomConfig, RoomCreate, RoomUpdate
from signaling.clock import Clock
from signaling.errors import (
    Conflict,
    InstantRoom,
    Invalid,
    InvalidLink,
    LinkRotated,
    MeetingInProgress,
    NotFound,
    RoomClosed,
    RoomExpired,
    WrongLinkRole,
)
from signaling.models import LinkRecord, Role, RoomKind, RoomRecord, RoomStatus
from signaling.pagination import decode_cursor
from signaling.rooms import lifecycle
from signaling.rooms.links import new_link
from signaling.rooms.policies import DeleteOutcome, DeletePolicyMeeting, DeletePolicyRecordings
from signaling.store import Page, RoomFilter, RoomStore
from signaling.tokens import ParticipantClaims, issue_participant_token, new_secret, sha256_hex
from signaling.webhooks.events import room_event

__all__ = [
    "AUTO_DELETE_MAX_AHEAD",
    "AUTO_DELETE_MIN_AHEAD",
    "DeleteOutcome",
    "JoinGrant",
    "RoomService",
]

logger = logging.getLogger(__name__)

AUTO_DELETE_MIN_AHEAD = timedelta(hours=1)
AUTO_DELETE_MAX_AHEAD = timedelta(days=5 * 365 + 1)
PARTICIPANT_TOKEN_TTL = timedelta(minutes=10)
#: Optimistic updates retry this often before giving up with 409.
_UPDATE_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class JoinGrant:
    token: str
    claims: ParticipantClaims
    room: RoomRecord


def _err(field: str, msg: str) -> dict[str, object]:
    return {"loc": ["body", field], "msg": msg}


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:24].strip("-")
    return slug or "room"


def _new_room_id(name: str) -> str:
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
    return f"{_slug(name)}-{''.join(secrets.choice(alphabet) for _ in range(8))}"


class RoomRecordings(Protocol):
    async def has_recordings(self, room_id: str) -> bool: ...

    async def delete_room_recordings(self, room_id: str) -> int: ...


class RoomService:
    """Business rules for rooms. Reads time from ``clock``; persists through ``store``.

    Returns records (:class:`~signaling.models.RoomRecord`); the REST API and the ``room.*``
    webhook events show them (:mod:`signaling.api.views`), links as URLs on ``public_url``.
    Takes the edge's validated request bodies (``RoomCreate``, ``RoomUpdate``) as they are.

    ``on_expiry_changed`` is called whenever a room's deletion time may have moved, so the
    sweeper can re-plan its next wake-up.
    """

    def __init__(
        self,
        store: RoomStore,
        clock: Clock,
        *,
        public_url: str,
        token_key: bytes,
        token_ttl: timedelta = PARTICIPANT_TOKEN_TTL,
        on_expiry_changed: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self.public_url = public_url.rstrip("/")
        self._token_key = token_key
        self._token_ttl = token_ttl
        self._on_expiry_changed = on_expiry_changed or (lambda: None)
        #: Called just before a room is deleted, so its meeting (in use with
        #: ``with_meeting=force``, or empty and waiting out its timeout) ends for everyone.
        self.on_deleted: Callable[[str], Awaitable[None]] | None = None
        #: The room's recordings, for the delete policies.
        self.recordings: RoomRecordings | None = None
        #: Called after webhook events were written to the outbox (wakes the deliverer).
        self.outbox_written: Callable[[], None] = lambda: None

    # -- CRUD ------------------------------------------------------------------------------

    async def create(self, spec: RoomCreate) -> RoomRecord:
        now = self._clock.now()
        self._check_auto_delete(spec.kind, spec.auto_delete_at, now)
        for _ in range(5):
            room_id = _new_room_id(spec.name)
            room = lifecycle.with_expiry(
                RoomRecord(
                    id=room_id,
                    name=spec.name,
                    kind=spec.kind,
                    created_at=now,
                    updated_at=now,
                    auto_delete_at=spec.auto_delete_at,
                    delete_after_use=spec.delete_after_use,
                    max_participants=spec.max_participants,
                    session_length_minutes=spec.session_length_minutes,
                    theme_id=spec.theme_id,
                    metadata=spec.metadata,
                    config=spec.config.model_dump(mode="json"),
                    links={role: new_link(room_id, role) for role in Role},
                )
            )
            created = room_event("room.created", room, self.public_url, now)
            if await self._store.insert_room(room, [created]):
                self.outbox_written()
                logger.info("room %s created (%s)", room.id, room.kind.value)
                self._on_expiry_changed()
                return room
        raise Conflict("could not allocate a room id; try again")

    async def get(self, room_id: str) -> RoomRecord:
        room = await self._store.get_room(room_id)
        if room is None:
            raise NotFound(f"no room with id {room_id!r}")
        return room

    async def list_rooms(
        self, where: RoomFilter, limit: int, cursor: str | None
    ) -> Page[RoomRecord]:
        return await self._store.list_rooms(where, limit, decode_cursor(cursor))

    async def update(self, room_id: str, patch: RoomUpdate) -> RoomRecord:
        now = self._clock.now()
        given = patch.model_fields_set

        def apply(room: RoomRecord) -> RoomRecord:
            changes: dict[str, object] = {"updated_at": now}
            for name in (
                "auto_delete_at",
                "max_participants",
                "session_length_minutes",
                "theme_id",
                "metadata",
            ):
                if name in given:
                    changes[name] = getattr(patch, name)
            for name in ("name", "delete_after_use"):
                if name in given:
                    value = getattr(patch, name)
                    if value is None:
                        raise Invalid(f"{name} cannot be null", errors=[_err(name, "null")])
                    changes[name] = value
            if "status" in given:
                if patch.status is None:
                    raise Invalid("status cannot be null", errors=[_err("status", "null")])
                changes["closed"] = patch.status is RoomStatus.CLOSED
            if "auto_delete_at" in given:
                self._check_auto_delete(room.kind, patch.auto_delete_at, now, existing=True)
            if patch.config is not None:
                merged = dict(room.config)
                for section, values in patch.config.model_dump(exclude_none=True).items():
                    merged[section] = {**merged.get(section, {}), **values}
                changes["config"] = RoomConfig.model_validate(merged).model_dump(mode="json")
            return dataclasses.replace(room, **changes)  # type: ignore[arg-type]

        return await self._mutate(room_id, apply)

    async def delete(
        self,
        room_id: str,
        with_meeting: DeletePolicyMeeting = DeletePolicyMeeting.FAIL,
        with_recordings: DeletePolicyRecordings = DeletePolicyRecordings.FAIL,
    ) -> DeleteOutcome:
        """Delete a room under the given policies.

        ``with_recordings``: ``fail`` refuses while the room has recordings, ``force``
        deletes them (files too) with the room, ``keep`` leaves them (they stay listed and
        playable). A recording still under way is finished and kept.
        """
        recordings = self.recordings
        if (
            with_recordings is DeletePolicyRecordings.FAIL
            and recordings is not None
            and await recordings.has_recordings(room_id)
        ):
            await self.get(room_id)
            raise Conflict(
                f"room {room_id!r} has recordings; delete them first, or delete the room with "
                "with_recordings=force (they go too) or with_recordings=keep"
            )
        now = self._clock.now()
        for _ in range(_UPDATE_ATTEMPTS):
            room = await self.get(room_id)
            if room.in_use:
                if with_meeting is DeletePolicyMeeting.FAIL:
                    raise MeetingInProgress(
                        f"room {room_id!r} has a meeting in progress; end it first, or delete "
                        "with with_meeting=force or with_meeting=when_meeting_ends"
                    )
                if with_meeting is DeletePolicyMeeting.WHEN_MEETING_ENDS:
                    if room.delete_requested_at is None:
                        room = lifecycle.with_expiry(
                            dataclasses.replace(room, delete_requested_at=now)
                        )
                        if not await self._store.update_room(room):
                            continue
                    logger.info("room %s will be deleted when its meeting ends", room_id)
                    return DeleteOutcome.SCHEDULED
            # End its meeting first, while the room (and so the meeting's history) is still
            # there to record meeting.ended in; even when nobody is in any more: a meeting
            # waiting out its empty timeout ends now, as room_deleted, not 20 s later as
            # empty.
            if self.on_deleted is not None:
                await self.on_deleted(room_id)
            deleted = room_event("room.deleted", room, self.public_url, now)
            if await self._store.delete_room(room_id, room.version, [deleted]):
                self.outbox_written()
                logger.info("room %s deleted", room_id)
                self._on_expiry_changed()
                if with_recordings is DeletePolicyRecordings.FORCE and recordings is not None:
                    await recordings.delete_room_recordings(room_id)
                return DeleteOutcome.DELETED
        raise Conflict(f"room {room_id!r} kept changing while being deleted; try again")

    async def rotate_links(self, room_id: str, roles: list[Role]) -> RoomRecord:
        await self.get(room_id)
        links = [new_link(room_id, role) for role in dict.fromkeys(roles)]
        if not await self._store.replace_links(room_id, links, self._clock.now()):
            raise NotFound(f"no room with id {room_id!r}")
        logger.info("room %s: rotated links %s", room_id, ",".join(ln.role for ln in links))
        return await self.get(room_id)

    # -- joining ---------------------------------------------------------------------------

    async def preview(self, secret: str) -> tuple[Role, RoomRecord]:
        """What a link opens (its role and room), refused as :meth:`join` would be; for a
        recordings link, whatever the room's state."""
        link = await self._find_link(secret)
        room = await self.get(link.room_id)
        if link.role is not Role.RECORDINGS:
            self._check_admission(room, self._clock.now())
        return link.role, room

    async def _find_link(self, secret: str) -> LinkRecord:
        secret_hash = sha256_hex(secret)
        link = await self._store.find_link(secret_hash)
        if link is None or not hmac.compare_digest(link.secret, secret):
            if await self._store.find_retired_link(secret_hash) is not None:
                raise LinkRotated(
                    "this link has been replaced by a new one; ask the organiser for it"
                )
            raise InvalidLink(
                "this link does not belong to any room; it may be mistyped or "
                "the room may have been deleted"
            )
        return link

    async def join(self, secret: str, nickname: str) -> JoinGrant:
        """Trade a link secret for a participant token, if the room admits joins now."""
        link = await self._find_link(secret)
        if link.role is Role.RECORDINGS:
            raise WrongLinkRole(
                "this is a recordings link: it opens the room's recordings, not the meeting"
            )
        room = await self.get(link.room_id)
        now = self._clock.now()
        self._check_admission(room, now)
        token, claims = issue_participant_token(
            self._token_key,
            participant_id="p_" + new_secret(9),
            room_id=room.id,
            role=link.role,
            nickname=nickname,
            now=now,
            ttl=self._token_ttl,
        )
        logger.info("room %s: issued a %s token", room.id, link.role.value)
        return JoinGrant(token, claims, room)

    @staticmethod
    def _check_admission(room: RoomRecord, now: datetime) -> None:
        refusal = lifecycle.join_refusal(room, now)
        if refusal is lifecycle.JoinRefusal.CLOSED:
            raise RoomClosed(f"room {room.id!r} is closed")
        if refusal is lifecycle.JoinRefusal.EXPIRED:
            raise RoomExpired(f"room {room.id!r} has expired and is being deleted")

    # -- lifecycle hooks (called by the meeting layer) ---------------------------------------

    async def participant_joined(self, room_id: str) -> RoomRecord:
        """Someone entered the room. Raises if the room refuses joins now, so the meeting
        layer can call this as its admission check."""
        now = self._clock.now()

        def apply(room: RoomRecord) -> RoomRecord:
            # Checked even while a meeting runs: a room that expired or was closed mid-meeting
            # keeps the people in it but admits nobody new.
            self._check_admission(room, now)
            return lifecycle.on_participant_joined(room, now)

        return await self._mutate(room_id, apply)

    async def room_empty(self, room_id: str) -> RoomRecord | None:
        """The last participant left. Deletes the room at once if it has expired meanwhile;
        returns the room, or ``None`` if it was deleted."""
        now = self._clock.now()
        try:
            room = await self._mutate(room_id, lambda r: lifecycle.on_room_empty(r, now))
        except NotFound:
            return None  # deleted meanwhile (with_meeting=force): nothing left to do
        expired = room_event("room.expired", room, self.public_url, now)
        if lifecycle.is_deletable(room, now) and await self._store.delete_room(
            room.id, room.version, [expired]
        ):
            self.outbox_written()
            logger.info("room %s deleted as it emptied after expiring", room.id)
            return None
        return room

    async def sweep(self) -> list[str]:
        """Delete every room that is due; return their ids. Each is deleted exactly once,
        however many sweepers race."""
        now = self._clock.now()
        deleted: list[str] = []
        while True:
            due = await self._store.rooms_due(now, 100)
            progressed = False
            for room in due:
                expired = room_event("room.expired", room, self.public_url, now)
                if lifecycle.is_deletable(room, now) and await self._store.delete_room(
                    room.id, room.version, [expired]
                ):
                    self.outbox_written()
                    logger.info("room %s expired and was deleted", room.id)
                    deleted.append(room.id)
                    progressed = True
            if len(due) < 100 or not progressed:
                return deleted

    async def next_expiry(self) -> datetime | None:
        return await self._store.next_expiry()

    async def recover_after_restart(self) -> int:
        """Rooms marked in use by a process that is gone become empty now."""
        rooms = await self._store.rooms_in_use()
        for room in rooms:
            await self.room_empty(room.id)
        return len(rooms)

    # -- helpers ---------------------------------------------------------------------------

    async def _mutate(self, room_id: str, apply: Callable[[RoomRecord], RoomRecord]) -> RoomRecord:
        for _ in range(_UPDATE_ATTEMPTS):
            room = await self.get(room_id)
            updated = lifecycle.with_expiry(apply(room))
            if await self._store.update_room(updated):
                if updated.expires_at != room.expires_at or updated.in_use != room.in_use:
                    self._on_expiry_changed()
                return updated
        raise Conflict(f"room {room_id!r} kept changing; try again")

    @staticmethod
    def _check_auto_delete(
        kind: RoomKind, when: datetime | None, now: datetime, existing: bool = False
    ) -> None:
        if when is None:
            return
        if kind is RoomKind.INSTANT:
            why = (
                "auto_delete_at applies to long_term rooms only; instant rooms delete "
                "themselves 10 minutes after use"
            )
            if existing:  # the room's state, not the request, is what is wrong: 409
                raise InstantRoom(why)
            raise Invalid(why, errors=[_err("auto_delete_at", "not allowed for instant rooms")])
        if when < now + AUTO_DELETE_MIN_AHEAD:
            raise Invalid(
                "auto_delete_at must be at least 1 hour in the future",
                errors=[_err("auto_delete_at", "too soon")],
            )
        if when > now + AUTO_DELETE_MAX_AHEAD:
            raise Invalid(
                "auto_delete_at must be at most 5 years in the future",
                errors=[_err("auto_delete_at", "too far")],
            )
