"""The asyncio adapter around :class:`signaling.meetings.core.Meeting`: one live meeting per
room, the sessions of the people in it, history in the store, the room lifecycle hooks, and
the meeting's media through the placement seam (:mod:`signaling.placement`).

The core decides; this module only does I/O: it writes what the core's outputs say to the
store, sends to sessions, and sends media commands. Each room has its own lock, held while
its core changes and its history is written, never across a media close (those run in the
background) and never by another room's work: a slow close in one room does not delay a join
in another.

Sessions are anything with ``send`` and ``close`` (the WebSocket adapter's, or a test's);
both return at once, so a slow client never blocks a meeting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sfu.errors import MediaError
from signaling.background import Background
from signaling.clock import Clock
from signaling.errors import MeetboxError, NoMeeting, NotFound
from signaling.meetings import resume
from signaling.meetings.core import (
    DEFAULT_EMPTY_TIMEOUT,
    DEFAULT_RESUME_WINDOW,
    Meeting,
    MeetingAction,
    MeetingError,
    MeetingRules,
)
from signaling.meetings.history import MeetingHistory, kept_going
from signaling.meetings.live import (
    LiveMeeting,
    MediaEventsToCore,
    Refused,
    Session,
    shutting_down,
)
from signaling.meetings.outputs import Arrived, Close, Ended, Kicked, Left, Output, Send
from signaling.meetings.resume import SpentTokens
from signaling.models import MeetingRecord, Role, RoomRecord
from signaling.pagination import decode_cursor
from signaling.placement.seam import (
    EndMeeting,
    KickParticipant,
    LiveCommand,
    MediaChannel,
    MediaSettings,
    MuteParticipant,
    Placement,
)
from signaling.rooms.service import RoomService
from signaling.store import MeetingStore, Page
from signaling.tokens import ParticipantClaims, new_secret
from signaling.wire import (
    ByeReason,
    CloseCode,
    Error,
    ErrorCode,
    IceCandidate,
    Joined,
    MediaKind,
    MediaReset,
    PublishAnswer,
    PublishOffer,
    RecordingState,
    SubscribeAnswer,
)

__all__ = ["LiveMeeting", "MeetingService", "Refused", "Session", "shutting_down"]

logger = logging.getLogger(__name__)

#: The timer loop re-plans at least this often, so a wall-clock jump is caught.
MAX_SLEEP = 30.0
#: How long a kicked participant's token stays refused: longer than any token lives.
REVOCATION_TTL = timedelta(hours=1)
#: ``media_reset.reason`` when the meeting's media channel was lost.
MEDIA_LOST = "media_lost"


def _reset_error(ref: str | None) -> Error:
    return Error(
        code=ErrorCode.MEDIA_RESET,
        message="this was for peer connections a media_reset replaced",
        ref=ref,
    )


@dataclass
class _RoomLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class MeetingService:
    def __init__(
        self,
        store: MeetingStore,
        rooms: RoomService,
        clock: Clock,
        *,
        empty_timeout: timedelta = DEFAULT_EMPTY_TIMEOUT,
        resume_window: timedelta = DEFAULT_RESUME_WINDOW,
        public_ip: str | None = None,
        placement: Placement,
    ) -> None:
        self._public_ip = public_ip
        self._store = store
        self._rooms = rooms
        self._clock = clock
        self._empty_timeout = empty_timeout
        self._resume_window = resume_window
        self._history = MeetingHistory(store, lambda: None)
        self.placement = placement
        self._live: dict[str, LiveMeeting] = {}
        #: One lock per room with work under way (dropped when nobody holds or waits for it).
        self._locks: dict[str, _RoomLock] = {}
        self._wake = asyncio.Event()
        self._changed = asyncio.Condition()
        #: Set from the first signal on (``Services.draining``) and by :meth:`shutdown`: no
        #: join or resume is admitted any more.
        self.shutting_down = False
        #: media_failed calls under way (at most one per participant)
        self._failing = Background("media failure handling failed", logger)
        #: Called with the room id once a meeting has its first participant (auto-recording).
        self.on_started: Callable[[str], None] = lambda room_id: None
        #: Called with (room id, meeting id) when a meeting has ended.
        self.on_ended: Callable[[str, str], None] = lambda room_id, meeting_id: None
        self._spent = SpentTokens()

    @property
    def outbox_written(self) -> Callable[[], None]:
        """Called after webhook events were written to the outbox (wakes the deliverer)."""
        return self._history.outbox_written

    @outbox_written.setter
    def outbox_written(self, callback: Callable[[], None]) -> None:
        self._history.outbox_written = callback

    # -- queries ---------------------------------------------------------------------------

    def live(self, room_id: str) -> LiveMeeting | None:
        return self._live.get(room_id)

    def counts(self) -> tuple[int, int, int]:
        """Live meetings, the people in them (recorders not counted), published tracks."""
        meetings = list(self._live.values())
        people = sum(len(live.core.visible()) for live in meetings)
        tracks = sum(len(live.core.tracks) for live in meetings)
        return len(meetings), people, tracks

    async def history(self, room_id: str, limit: int, cursor: str | None) -> Page[MeetingRecord]:
        await self._rooms.get(room_id)
        return await self._store.list_meetings(room_id, limit, decode_cursor(cursor))

    # -- the room locks --------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _room(self, room_id: str) -> AsyncIterator[None]:
        """Hold ``room_id``'s lock: its meeting's core and history change one step at a time."""
        entry = self._locks.get(room_id)
        if entry is None:
            entry = self._locks[room_id] = _RoomLock()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._locks[room_id]

    # -- sessions --------------------------------------------------------------------------

    async def admit(
        self, claims: ParticipantClaims, session: Session, *, resumed: bool = False
    ) -> Joined:
        """Put the holder of ``claims`` into the room's meeting (starting one if needed);
        returns the ``joined`` message already queued on ``session``. Unless ``resumed``
        (the client kept its peer connections), the participant gets fresh media. A resumed
        participant whose media was lost while they were away gets ``media_reset`` right
        after ``joined`` instead, and fresh media once they answer ``media_ready``."""
        joined, live = await self._admit(claims, session, resumed)
        if not live.start_reported and claims.recording_id is None and live.core.ended is None:
            live.start_reported = True
            self.on_started(live.core.room_id)
        pid = claims.participant_id
        if not resumed:
            await self._fresh_media(live, pid, claims.role is not Role.RECORDINGS)
        elif pid not in live.resetting:
            # An offer sent while the socket was down went nowhere; without its answer no
            # other offer can follow.
            live.media.offer_again(pid)
        return joined

    async def _fresh_media(self, live: LiveMeeting, pid: str, may_publish: bool) -> None:
        """Set up the participant's peer connections on the meeting's media (outside the
        lock: it can take a while). The meeting may end meanwhile; then its media is closed
        and must stay empty. If the media is lost meanwhile, ``media_reset`` follows."""
        channel = live.media
        if live.core.ended is None and pid in live.core.participants:
            try:
                await channel.add_peer(pid, may_publish)
            except Exception:
                if not self._stale(live, channel):
                    raise
                return  # the participant is told media_reset and asks again
            # They may have left (or been kicked) while the peer was being set up: the
            # leave found no peer to remove, so remove it now.
            if pid not in live.core.participants:
                channel.remove_peer(pid)
        if live.core.ended is not None or self._live.get(live.core.room_id) is not live:
            channel.close()

    @staticmethod
    def _stale(live: LiveMeeting, channel: MediaChannel, pid: str | None = None) -> bool:
        """Whether ``channel`` (a command to it was under way) is dead or replaced, or the
        participant's peer connections are (a reset they have not answered)."""
        return live.media_gone or live.media is not channel or pid in live.resetting

    async def _admit(
        self, claims: ParticipantClaims, session: Session, resumed: bool = False
    ) -> tuple[Joined, LiveMeeting]:
        async with self._room(claims.room_id):
            if self.shutting_down:  # a join that raced the shutdown: no new meeting
                raise shutting_down()
            now = self._clock.now()
            if await self._store.is_token_revoked(claims.token_id, now):
                # Only a kick revokes a participant token.
                raise Refused.spent(resume.KICKED)
            live = self._live.get(claims.room_id)
            present = live is not None and claims.participant_id in live.core.participants
            hidden = claims.recording_id is not None
            if hidden and (
                live is None
                or live.recording is None
                or live.recording.recording_id != claims.recording_id
            ):
                raise Refused(
                    CloseCode.REFUSED, "no_meeting", "this recording's meeting is not going on"
                )
            if not present and not hidden:
                try:
                    room = await self._rooms.participant_joined(claims.room_id)
                except NotFound:
                    raise Refused(
                        CloseCode.REFUSED, "room_deleted", "the room no longer exists"
                    ) from None
                except MeetboxError as exc:
                    raise Refused(CloseCode.REFUSED, exc.slug, exc.detail) from None
                if live is None:
                    live = await self._start(room, now)
            assert live is not None
            try:
                admission = live.core.admit(
                    claims.participant_id,
                    claims.nickname,
                    claims.role,
                    claims.token_id,
                    now,
                    hidden=hidden,
                )
            except MeetingError as exc:
                if live.core.empty:
                    await self._tell_room_empty(live)
                raise Refused(CloseCode.REFUSED, exc.code, exc.message) from None
            if not hidden:
                live.room_told_empty = False
            outputs = admission.outputs
            # Their arrival is in history before anyone hears of it.
            for out in outputs:
                if isinstance(out, Arrived):
                    await self._history.joined(live.core.id, live.core.room_id, out.stay)
            old = live.sessions.get(claims.participant_id)
            if old is not None and old is not session:
                old.close(ByeReason.REPLACED, CloseCode.NORMAL)
            live.sessions[claims.participant_id] = session
            session.send(admission.joined)
            if not resumed:
                live.resetting.discard(claims.participant_id)  # fresh media follows anyway
            elif claims.participant_id in live.resetting:
                # Their media was lost while they were away: what they kept is dead.
                session.send(MediaReset(reason=MEDIA_LOST))
            await self._apply(live, [o for o in outputs if not isinstance(o, Arrived)])
            logger.info(
                "room %s: %s joined meeting %s as %s%s",
                live.core.room_id,
                claims.participant_id,
                live.core.id,
                claims.role.value,
                " (reconnect)" if admission.reconnect else "",
            )
            self._wake.set()
            return admission.joined, live

    async def resume(self, resume_token: str, session: Session) -> tuple[ParticipantClaims, Joined]:
        """Bring a participant whose connection dropped back into their meeting."""
        if self.shutting_down:
            raise shutting_down()
        for live in self._live.values():
            participant = live.core.holder(resume_token)
            if participant is not None:
                now = self._clock.now()
                recording = live.core.recording
                claims = ParticipantClaims(
                    participant_id=participant.id,
                    room_id=live.core.room_id,
                    role=participant.role,
                    nickname=participant.nickname,
                    issued_at=now,
                    expires_at=now,
                    token_id=participant.token_id,
                    recording_id=recording.recording_id
                    if participant.hidden and recording is not None
                    else None,
                )
                return claims, await self.admit(claims, session, resumed=True)
        raise Refused.spent(self._spent.why(resume_token))

    async def act(
        self, room_id: str, participant_id: str, session: Session, action: MeetingAction
    ) -> None:
        async with self._room(room_id):
            live = self._live.get(room_id)
            if live is None or live.sessions.get(participant_id) is not session:
                session.send(Error(code="not_in_meeting", message="you are not in the meeting"))
                return
            try:
                outputs = live.core.handle(participant_id, action, self._clock.now())
            except MeetingError as exc:
                session.send(Error(code=exc.code, message=exc.message, ref=action.ref))
                return
            await self._apply(live, outputs)

    async def media(
        self,
        room_id: str,
        participant_id: str,
        session: Session,
        message: PublishOffer | SubscribeAnswer | IceCandidate,
    ) -> None:
        """Hand a media message to the participant's peer; a refusal becomes an ``error``.
        A message for peer connections a media reset replaced (sent before the client
        handled ``media_reset``), or one whose channel is lost while it is handled, gets
        ``error`` ``media_reset``: the client ignores it, its fresh connections go on."""
        live = self._live.get(room_id)
        if live is None or live.sessions.get(participant_id) is not session:
            session.send(
                Error(code="not_in_meeting", message="you are not in the meeting", ref=message.ref)
            )
            return
        channel = live.media
        if self._stale(live, channel, participant_id):
            session.send(_reset_error(message.ref))
            return
        try:
            if isinstance(message, PublishOffer):
                sources = {mid: source.value for mid, source in message.sources.items()}
                answer = await channel.publish_offer(participant_id, message.sdp, sources)
                if self._stale(live, channel, participant_id):
                    session.send(_reset_error(message.ref))  # not for the connection it has
                else:
                    session.send(PublishAnswer(sdp=answer))
            elif isinstance(message, SubscribeAnswer):
                await channel.subscribe_answer(participant_id, message.sdp)
            else:
                await channel.add_ice_candidate(
                    participant_id,
                    message.target,
                    message.candidate,
                    message.sdp_mid,
                    message.sdp_mline_index,
                )
        except Exception as exc:
            # A command racing the loss of its channel fails in whatever way the dying
            # media fails: that is the reset's, not an error of this message.
            if self._stale(live, channel, participant_id):
                session.send(_reset_error(message.ref))
            elif isinstance(exc, MediaError):
                session.send(Error(code=exc.code, message=exc.message, ref=message.ref))
            else:
                raise

    async def media_ready(self, room_id: str, participant_id: str, session: Session) -> None:
        """The participant answered ``media_reset``: its old peer connections are closed;
        set up fresh ones on the meeting's new media (the ``subscribe_offer`` follows)."""
        live = self._live.get(room_id)
        if live is None or live.sessions.get(participant_id) is not session:
            session.send(Error(code="not_in_meeting", message="you are not in the meeting"))
            return
        if live.media_gone:
            return  # lost again before this came: another media_reset is on its way
        participant = live.core.participants.get(participant_id)
        if participant is None or participant_id not in live.resetting:
            session.send(
                Error(
                    code="unexpected_media_ready",
                    message="there is no media_reset to answer",
                )
            )
            return
        live.resetting.discard(participant_id)
        await self._fresh_media(live, participant_id, participant.role is not Role.RECORDINGS)

    async def leave(self, room_id: str, participant_id: str, session: Session) -> None:
        async with self._room(room_id):
            live = self._live.get(room_id)
            if live is None or live.sessions.get(participant_id) is not session:
                return
            del live.sessions[participant_id]
            await self._apply(
                live, live.core.leave(participant_id, ByeReason.LEFT, self._clock.now())
            )
            # bye only once the leave is recorded and the room told: a client acting on it
            # finds the server's state already agreeing.
            session.close(ByeReason.LEFT, CloseCode.NORMAL)
            self._wake.set()

    async def disconnected(self, room_id: str, participant_id: str, session: Session) -> None:
        """The socket went away without ``leave``: hold the place for the resume window."""
        async with self._room(room_id):
            live = self._live.get(room_id)
            if live is None or live.sessions.get(participant_id) is not session:
                return  # already closed by the server, or replaced by a newer session
            del live.sessions[participant_id]
            now = self._clock.now()
            participant = live.core.participants.get(participant_id)
            if participant is not None and participant.hidden:
                # A recorder does not come back: it is gone, and its media with it.
                await self._apply(live, live.core.leave(participant_id, ByeReason.LEFT, now))
            else:
                live.core.disconnected(participant_id, now)
            self._wake.set()
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Until ``predicate()`` holds, looked at after each dropped connection is recorded
        (for tests and tools: the socket's own task records it; bound it with a timeout)."""
        async with self._changed:
            await self._changed.wait_for(predicate)

    async def media_failed(self, room_id: str, participant_id: str) -> None:
        """The participant's media connection failed (UDP blackholed, consent lost): they
        leave with ``media_failed``, told so if their socket is still open."""
        async with self._room(room_id):
            live = self._live.get(room_id)
            if live is None or participant_id not in live.core.participants:
                return
            session = live.sessions.pop(participant_id, None)
            await self._apply(
                live, live.core.leave(participant_id, ByeReason.MEDIA_FAILED, self._clock.now())
            )
            if session is not None:
                session.close(ByeReason.MEDIA_FAILED, CloseCode.NORMAL)
            self._wake.set()

    def _media_failed_soon(self, room_id: str, participant_id: str) -> None:
        self._failing.spawn(self.media_failed(room_id, participant_id))

    def _media_lost_soon(self, live: LiveMeeting) -> None:
        self._failing.spawn(self._media_lost(live))

    async def _media_lost(self, live: LiveMeeting) -> None:
        """The meeting's media channel is dead (its media process died): open fresh media
        through the placement and tell everyone ``media_reset``; each gets fresh peer
        connections on their ``media_ready`` (those away get it when they resume). The
        meeting, its people and its history stay as they are. If no fresh media can be
        opened, the meeting ends (``media_unavailable``): the placement already chose among
        the media processes it has, so waiting here would only keep people in a meeting
        without sound or picture."""
        room_id = live.core.room_id
        async with self._room(room_id):
            if self._live.get(room_id) is not live or live.core.ended is not None:
                return
            core = live.core
            logger.warning("room %s: meeting %s lost its media; opening it again", room_id, core.id)
            if core.active_speaker is not None:
                live.deliver(core.speaker_changed(None))
            events = MediaEventsToCore(live, self._media_failed_soon, self._media_lost_soon)
            try:
                media = self.placement.open_media(room_id, events, live.media_settings)
            except Exception:
                logger.exception("room %s: no media for meeting %s; ending it", room_id, core.id)
                reason = ByeReason.MEDIA_UNAVAILABLE
                await self._apply(live, core.end(reason, self._clock.now()))
                self._wake.set()
                return
            live.media = media
            live.media_gone = False
            for pid in core.participants:
                live.resetting.add(pid)
                session = live.sessions.get(pid)
                if session is not None:
                    session.send(MediaReset(reason=MEDIA_LOST))

    # -- commands on a live meeting (the REST API's, through the placement) -----------------

    async def end(self, room_id: str, reason: ByeReason) -> bool:
        return await self.placement.command(EndMeeting(room_id, reason))

    async def kick(self, room_id: str, participant_id: str, rotate_links: bool) -> None:
        await self.placement.command(KickParticipant(room_id, participant_id, rotate_links))

    async def mute(self, room_id: str, participant_id: str, kind: MediaKind) -> None:
        await self.placement.command(MuteParticipant(room_id, participant_id, kind))

    async def carry_out(self, command: LiveCommand[Any]) -> Any:
        """Run a meeting command for a meeting hosted here (the placement's handler)."""
        if isinstance(command, EndMeeting):
            return await self._end(command.room_id, command.reason)
        if isinstance(command, KickParticipant):
            async with self._room(command.room_id):
                live = self._require(command.room_id, command.participant_id)
                outputs = live.core.kick(
                    command.participant_id,
                    rotate_links=command.rotate_links,
                    now=self._clock.now(),
                )
                await self._apply(live, outputs)
            return None
        if isinstance(command, MuteParticipant):
            async with self._room(command.room_id):
                live = self._require(command.room_id, command.participant_id)
                outputs = live.core.mute(command.participant_id, command.kind, by="api")
                await self._apply(live, outputs)
            return None
        raise TypeError(f"not a meeting command: {command!r}")

    async def _end(self, room_id: str, reason: ByeReason) -> bool:
        async with self._room(room_id):
            live = self._live.get(room_id)
            if live is None:
                return False
            await self._apply(live, live.core.end(reason, self._clock.now()))
            return True

    def _require(self, room_id: str, participant_id: str) -> LiveMeeting:
        live = self._live.get(room_id)
        if live is None:
            raise NoMeeting(f"room {room_id!r} has no meeting in progress")
        try:
            live.core.target(participant_id)
        except MeetingError:
            raise NotFound(f"no participant {participant_id!r} in the meeting") from None
        return live

    # -- recording state -------------------------------------------------------------------

    def set_recording(self, room_id: str, meeting_id: str, state: RecordingState) -> None:
        """Tell the meeting's participants how its recording stands (and late joiners,
        while it is under way)."""
        live = self._live.get(room_id)
        if live is None or live.core.id != meeting_id:
            return
        live.deliver(live.core.set_recording(state))

    # -- timers and shutdown ---------------------------------------------------------------

    async def tick(self) -> None:
        """Run every timer that is due now (empty timeout, session length, resume windows)."""
        now = self._clock.now()
        for room_id, live in list(self._live.items()):
            async with self._room(room_id):
                if self._live.get(room_id) is live:
                    await self._apply(live, live.core.handle_timer(self._clock.now()))
        await self._store.prune_revoked_tokens(now)

    def next_deadline(self) -> datetime | None:
        deadlines = [d for live in self._live.values() if (d := live.core.next_deadline())]
        return min(deadlines) if deadlines else None

    async def run(self) -> None:
        while True:
            self._wake.clear()
            delay = MAX_SLEEP
            try:
                await self.tick()
                deadline = self.next_deadline()
                if deadline is not None:
                    ahead = (deadline - self._clock.now()).total_seconds()
                    delay = min(MAX_SLEEP, max(ahead, 0.0))
            except Exception:
                logger.exception("meeting timers failed; retrying")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def shutdown(self) -> None:
        self.shutting_down = True
        await self._failing.wait()
        for room_id in list(self._live):
            await self._end(room_id, ByeReason.SERVER_SHUTTING_DOWN)
        await self.placement.drain()

    async def room_deleted(self, room_id: str) -> None:
        """The room is about to be deleted: end its meeting now, recorded while the room and
        its history are still there. The room is not told it became empty (it is going)."""
        async with self._room(room_id):
            live = self._live.get(room_id)
            if live is None:
                return
            live.room_told_empty = True
            await self._apply(live, live.core.end(ByeReason.ROOM_DELETED, self._clock.now()))

    async def close_leftovers(self) -> int:
        """End meetings a previous process left open (it is gone, and they with it)."""
        reason = ByeReason.SERVER_SHUTTING_DOWN.value
        return await self._history.close_leftovers(self._clock.now(), reason)

    # -- internals -------------------------------------------------------------------------

    async def _start(self, room: RoomRecord, now: datetime) -> LiveMeeting:
        rules = MeetingRules.of_room(room, self._empty_timeout, self._resume_window)
        meeting = Meeting("mtg_" + new_secret(9), room.id, rules, now, spent=self._spent)
        await self._history.started(meeting.id, room.id, now)
        settings = MediaSettings(screen_share=rules.screen_share_enabled, public_ip=self._public_ip)
        live = LiveMeeting(meeting, media_settings=settings)
        events = MediaEventsToCore(live, self._media_failed_soon, self._media_lost_soon)
        live.media = self.placement.open_media(room.id, events, settings)
        self._live[room.id] = live
        logger.info("room %s: meeting %s started", room.id, meeting.id)
        return live

    async def _apply(self, live: LiveMeeting, outputs: list[Output]) -> None:
        """Carry out the core's outputs, in order (the room's lock is held)."""
        now = self._clock.now()
        core = live.core
        closing: list[tuple[Session, ByeReason]] = []
        for out in outputs:
            if isinstance(out, Send):
                live.send(out)
            elif isinstance(out, Left):
                # Before the leave is announced: whoever hears of it finds it recorded and
                # the media gone (its connections close in the background).
                reason = out.reason.value
                await self._history.left(
                    core.id, core.room_id, out.participant_id, reason, out.stay, now
                )
                live.media.remove_peer(out.participant_id)
                live.resetting.discard(out.participant_id)
            elif isinstance(out, Close):
                leaving = live.sessions.pop(out.participant_id, None)
                if leaving is not None:
                    closing.append((leaving, out.reason))
            elif isinstance(out, Kicked):
                # Kept in the store: a restart does not let them back in.
                await self._store.revoke_token(out.token_id, now + REVOCATION_TTL)
                logger.info("room %s: %s was kicked", core.room_id, out.participant_id)
                if out.rotate_links:
                    with contextlib.suppress(NotFound):
                        await self._rooms.rotate_links(core.room_id, [out.role])
            elif isinstance(out, Ended):
                await self._history.ended(core.id, now, out.reason.value)
                live.media.close()
                self._live.pop(core.room_id, None)
                self.on_ended(core.room_id, core.id)
                logger.info(
                    "room %s: meeting %s ended (%s)", core.room_id, core.id, out.reason.value
                )
        if core.ended is not None or (core.empty and core.room_id in self._live):
            await self._tell_room_empty(live)
        # Byes go out last, when history and the room already say what they announce.
        for session, reason in closing:
            # A kicked person learns it from the close code too (4003, as a kicked rejoin).
            session.close(
                reason, CloseCode.REFUSED if reason is ByeReason.KICKED else CloseCode.NORMAL
            )

    async def _tell_room_empty(self, live: LiveMeeting) -> None:
        if not live.room_told_empty:
            live.room_told_empty = True
            with kept_going(live.core.id):
                await self._rooms.room_empty(live.core.room_id)
