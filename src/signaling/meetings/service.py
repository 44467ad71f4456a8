"""The asyncio adapter around :class:`signaling.meetings.core.Meeting`: one live meeting per room,
the sessions of the people in it, history in the store, and the room lifecycle hooks.

Sessions are anything with ``send`` and ``close`` (the WebSocket adapter's, or a test's);
both return at once, so a slow client never blocks a meeting.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sfu.errors import MediaError
from sfu.listener import TrackInfo
from sfu.room import MediaRoom
from signaling.clock import Clock
from signaling.errors import MeetboxError, NoMeeting, NotFound
from signaling.meetings.core import (
    DEFAULT_EMPTY_TIMEOUT,
    DEFAULT_RESUME_WINDOW,
    Close,
    Ended,
    Kicked,
    Meeting,
    MeetingAction,
    MeetingError,
    MeetingRules,
    Output,
    Send,
)
from signaling.models import AttendanceRecord, MeetingRecord, Role, RoomRecord
from signaling.pagination import decode_cursor
from signaling.rooms.service import RoomService
from signaling.store import Page, Store, StoreFull
from signaling.tokens import ParticipantClaims, new_secret
from signaling.webhooks.events import event, meeting_data, participant_data
from signaling.wire.protocol import (
    ActiveSpeaker,
    ByeReason,
    CloseCode,
    Error,
    IceCandidate,
    Joined,
    MediaKind,
    ParticipantLeft,
    PublishAnswer,
    PublishOffer,
    RecordingState,
    ServerMessage,
    Source,
    SubscribeAnswer,
    SubscribeOffer,
    TrackOut,
    TrackPublished,
    TrackUnpublished,
)

__all__ = ["LiveMeeting", "MeetingService", "Refused", "Session", "shutting_down"]

logger = logging.getLogger(__name__)

#: The timer loop re-plans at least this often, so a wall-clock jump is caught.
MAX_SLEEP = 30.0


class Session(Protocol):
    """One connected client, as the meeting service sees it."""

    def send(self, message: ServerMessage) -> None:
        """Queue ``message``; never blocks."""

    def close(self, reason: ByeReason | None, code: CloseCode) -> None:
        """Send ``bye`` with ``reason`` (if any) after what is queued, then close."""


class Refused(Exception):
    """A join the meeting will not take: ``code`` goes in the close (4001 or 4003)."""

    def __init__(self, close_code: CloseCode, reason: str, message: str) -> None:
        super().__init__(message)
        self.close_code = close_code
        self.reason = reason
        self.message = message


@contextlib.contextmanager
def _history_kept_going(meeting_id: str) -> Iterator[None]:
    """A leave or an end that history (or the room's state) cannot record, the disk being
    full, still happens: the people in the meeting are told, and the next start closes what
    history left open."""
    try:
        yield
    except StoreFull as exc:
        logger.warning("meeting %s: history not updated: %s", meeting_id, exc.message)


def shutting_down() -> Refused:
    """The refusal of every join and resume from the first SIGTERM on."""
    return Refused(
        CloseCode.GOING_AWAY,
        ByeReason.SERVER_SHUTTING_DOWN.value,
        "the server is shutting down; join again in a moment",
    )


def track_out(track: TrackInfo) -> TrackOut:
    return TrackOut(
        id=track.id,
        participant_id=track.participant_id,
        kind="audio" if track.kind == "audio" else "video",
        source=Source(track.source),
    )


class _MediaBridge:
    """What the SFU reports, turned into signaling messages for the meeting's sessions."""

    def __init__(self, live: LiveMeeting) -> None:
        self._live = live

    def subscribe_offer(self, participant_id: str, sdp: str, tracks: dict[str, str]) -> None:
        session = self._live.sessions.get(participant_id)
        if session is not None:
            session.send(SubscribeOffer(sdp=sdp, tracks=tracks))

    def track_published(self, track: TrackInfo) -> None:
        self._live.broadcast(TrackPublished(track=track_out(track)))

    def track_unpublished(self, track: TrackInfo) -> None:
        self._live.broadcast(
            TrackUnpublished(track_id=track.id, participant_id=track.participant_id)
        )

    def active_speaker(self, participant_id: str | None) -> None:
        self._live.broadcast(ActiveSpeaker(participant_id=participant_id))

    def media_failed(self, participant_id: str) -> None:
        if self._live.on_media_failed is not None:
            self._live.on_media_failed(self._live.core.room_id, participant_id)


@dataclass
class LiveMeeting:
    core: Meeting
    #: Advertised in media candidates instead of the host's own addresses.
    public_ip: str | None = None
    media: MediaRoom = field(init=False)
    sessions: dict[str, Session] = field(default_factory=dict)
    #: resume token -> participant id
    resume_tokens: dict[str, str] = field(default_factory=dict)
    #: Whether the room was told it is empty since it was last in use.
    room_told_empty: bool = False
    #: participant id -> their open stay (what participant.left reports)
    stays: dict[str, AttendanceRecord] = field(default_factory=dict)
    #: Called (room id, participant id) when a participant's media connection failed.
    on_media_failed: Callable[[str, str], None] | None = None
    #: The recording under way in this meeting (starting, active or ending), if any.
    recording: RecordingState | None = None
    #: Whether the meeting's start was reported (after its first visible participant).
    start_reported: bool = False

    def __post_init__(self) -> None:
        self.media = MediaRoom(
            _MediaBridge(self),
            screen_share=self.core.rules.screen_share_enabled,
            public_ip=self.public_ip,
        )

    def broadcast(self, message: ServerMessage) -> None:
        for session in self.sessions.values():
            session.send(message)


#: How long a kicked participant's token stays refused: longer than any token lives.
REVOCATION_TTL = timedelta(hours=1)
#: Resume tokens that no longer work, remembered (the latest ones) to say why not.
MAX_SPENT_RESUME_TOKENS = 10_000


@dataclass(frozen=True, slots=True)
class _Spent:
    """Why a resume token no longer works: the refusal to answer with."""

    close_code: CloseCode
    code: str
    message: str


_RESUME_USED = _Spent(
    CloseCode.UNAUTHORIZED,
    "resume_used",
    "this resume token was already used (each works once) or a newer session of yours "
    "replaced it; resume with the token from your latest joined",
)
_KICKED = _Spent(CloseCode.REFUSED, "kicked", "a moderator removed you from this meeting")
_MEETING_ENDED = _Spent(CloseCode.REFUSED, "meeting_ended", "the meeting has ended")
_UNKNOWN_RESUME = _Spent(
    CloseCode.UNAUTHORIZED,
    "resume_expired",
    "unknown resume token (its meeting is over, or the server restarted); join again with "
    "a participant token",
)


def _left(reason: ByeReason) -> _Spent:
    if reason is ByeReason.KICKED:
        return _KICKED
    if reason is ByeReason.TIMEOUT:
        message = "the resume window passed before you came back"
    else:
        message = f"you are no longer in the meeting ({reason.value})"
    return _Spent(
        CloseCode.UNAUTHORIZED,
        "resume_expired",
        f"{message}; join again with a participant token",
    )


class MeetingService:
    def __init__(
        self,
        store: Store,
        rooms: RoomService,
        clock: Clock,
        *,
        empty_timeout: timedelta = DEFAULT_EMPTY_TIMEOUT,
        resume_window: timedelta = DEFAULT_RESUME_WINDOW,
        public_ip: str | None = None,
    ) -> None:
        self._public_ip = public_ip
        self._store = store
        self._rooms = rooms
        self._clock = clock
        self._empty_timeout = empty_timeout
        self._resume_window = resume_window
        self._live: dict[str, LiveMeeting] = {}
        # One lock for all meetings: every step is short, and it keeps the store and the
        # cores in step without per-room bookkeeping.
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._changed = asyncio.Condition()
        #: Called after webhook events were written to the outbox (wakes the deliverer).
        self.outbox_written: Callable[[], None] = lambda: None
        #: Set from the first signal on (``Services.draining``) and by :meth:`shutdown`: no
        #: join or resume is admitted any more.
        self.shutting_down = False
        #: media_failed calls under way (at most one per participant)
        self._failing: set[asyncio.Task[None]] = set()
        #: Called with the room id once a meeting has its first participant (auto-recording).
        self.on_started: Callable[[str], None] = lambda room_id: None
        #: Called with (room id, meeting id) when a meeting has ended.
        self.on_ended: Callable[[str, str], None] = lambda room_id, meeting_id: None
        #: resume tokens that no longer work -> why (the latest few thousand)
        self._spent: OrderedDict[str, _Spent] = OrderedDict()

    # -- queries ---------------------------------------------------------------------------

    def live(self, room_id: str) -> LiveMeeting | None:
        return self._live.get(room_id)

    def counts(self) -> tuple[int, int, int]:
        """Live meetings, the people in them (recorders not counted), published tracks."""
        meetings = list(self._live.values())
        people = sum(len(live.core.visible()) for live in meetings)
        tracks = sum(len(live.media.tracks()) for live in meetings)
        return len(meetings), people, tracks

    async def history(self, room_id: str, limit: int, cursor: str | None) -> Page[MeetingRecord]:
        await self._rooms.get(room_id)
        return await self._store.list_meetings(room_id, limit, decode_cursor(cursor))

    # -- sessions --------------------------------------------------------------------------

    async def admit(
        self, claims: ParticipantClaims, session: Session, *, resumed: bool = False
    ) -> Joined:
        """Put the holder of ``claims`` into the room's meeting (starting one if needed);
        returns the ``joined`` message already queued on ``session``. Unless ``resumed``
        (the client kept its peer connections), the participant gets fresh media."""
        joined, live = await self._admit(claims, session)
        if not live.start_reported and claims.recording_id is None and live.core.ended is None:
            live.start_reported = True
            self.on_started(live.core.room_id)
        if not resumed:
            # Outside the lock: setting up peer connections can take a while. The meeting
            # may end meanwhile; then its media room is closed and must stay empty.
            pid = claims.participant_id
            if live.core.ended is None and pid in live.core.participants:
                await live.media.add_peer(pid, claims.role is not Role.RECORDINGS)
                # They may have left (or been kicked) while the peer was being set up: the
                # leave found no peer to remove, so remove it now.
                if pid not in live.core.participants:
                    await live.media.remove_peer(pid)
            if live.core.ended is not None or self._live.get(live.core.room_id) is not live:
                await live.media.close()
        else:
            # An offer sent while the socket was down went nowhere; without its answer no
            # other offer can follow.
            peer = live.media.peers.get(claims.participant_id)
            if peer is not None:
                peer.offer_again()
        return joined

    async def _admit(
        self, claims: ParticipantClaims, session: Session
    ) -> tuple[Joined, LiveMeeting]:
        async with self._lock:
            if self.shutting_down:  # a join that raced the shutdown: no new meeting
                raise shutting_down()
            now = self._clock.now()
            if await self._store.is_token_revoked(claims.token_id, now):
                # Only a kick revokes a participant token.
                raise Refused(_KICKED.close_code, _KICKED.code, _KICKED.message)
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
                outputs = live.core.join(
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
            if not present and not hidden:
                stay = AttendanceRecord(claims.participant_id, claims.nickname, claims.role, now)
                live.stays[claims.participant_id] = stay
                joined_event = event(
                    "participant.joined",
                    live.core.room_id,
                    participant_data(live.core.id, live.core.room_id, stay),
                    now,
                )
                with _history_kept_going(live.core.id):
                    await self._store.record_join(
                        live.core.id,
                        claims.participant_id,
                        claims.nickname,
                        claims.role,
                        now,
                        [joined_event],
                    )
                    self.outbox_written()
            old = live.sessions.get(claims.participant_id)
            if old is not None and old is not session:
                old.close(ByeReason.REPLACED, CloseCode.NORMAL)
            live.sessions[claims.participant_id] = session
            self._spend(live, claims.participant_id, _RESUME_USED)
            resume_token = new_secret(18)
            live.resume_tokens[resume_token] = claims.participant_id
            me = live.core.participants[claims.participant_id]
            joined = Joined(
                meeting_id=live.core.id,
                room_id=live.core.room_id,
                you=me.info(),
                participants=[p for p in live.core.snapshot() if p.id != me.id],
                chat_history=list(live.core.chat),
                tracks=[track_out(t) for t in live.media.tracks()],
                resume_token=resume_token,
                chat_enabled=live.core.rules.chat_enabled,
                screen_share_enabled=live.core.rules.screen_share_enabled,
                recording=live.recording,
                active_speaker=live.media.speaker.current,
            )
            session.send(joined)
            await self._apply(live, outputs)
            logger.info(
                "room %s: %s joined meeting %s as %s%s",
                live.core.room_id,
                claims.participant_id,
                live.core.id,
                claims.role.value,
                " (reconnect)" if present else "",
            )
            self._wake.set()
            return joined, live

    async def resume(self, resume_token: str, session: Session) -> tuple[ParticipantClaims, Joined]:
        """Bring a participant whose connection dropped back into their meeting."""
        if self.shutting_down:
            raise shutting_down()
        for live in self._live.values():
            pid = live.resume_tokens.get(resume_token)
            participant = live.core.participants.get(pid) if pid else None
            if participant is not None:
                now = self._clock.now()
                claims = ParticipantClaims(
                    participant_id=participant.id,
                    room_id=live.core.room_id,
                    role=participant.role,
                    nickname=participant.nickname,
                    issued_at=now,
                    expires_at=now,
                    token_id=participant.token_id,
                    recording_id=live.recording.recording_id
                    if participant.hidden and live.recording is not None
                    else None,
                )
                return claims, await self.admit(claims, session, resumed=True)
        spent = self._spent.get(resume_token, _UNKNOWN_RESUME)
        raise Refused(spent.close_code, spent.code, spent.message)

    def _spend(self, live: LiveMeeting, participant_id: str | None, why: _Spent) -> None:
        """The resume tokens of ``participant_id`` (everyone's, if ``None``) stop working;
        remember why, to say so to whoever presents one."""
        spent = [t for t, pid in live.resume_tokens.items() if participant_id in (None, pid)]
        for token in spent:
            del live.resume_tokens[token]
            self._spent[token] = why
            self._spent.move_to_end(token)
        while len(self._spent) > MAX_SPENT_RESUME_TOKENS:
            self._spent.popitem(last=False)

    async def act(
        self, room_id: str, participant_id: str, session: Session, action: MeetingAction
    ) -> None:
        async with self._lock:
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
        """Hand a media message to the participant's peer; a refusal becomes an ``error``."""
        live = self._live.get(room_id)
        peer = live.media.peers.get(participant_id) if live is not None else None
        if live is None or peer is None or live.sessions.get(participant_id) is not session:
            session.send(
                Error(code="not_in_meeting", message="you are not in the meeting", ref=message.ref)
            )
            return
        try:
            if isinstance(message, PublishOffer):
                sources = {mid: source.value for mid, source in message.sources.items()}
                session.send(PublishAnswer(sdp=await peer.publish_offer(message.sdp, sources)))
            elif isinstance(message, SubscribeAnswer):
                await peer.subscribe_answer(message.sdp)
            else:
                await peer.add_ice_candidate(
                    message.target, message.candidate, message.sdp_mid, message.sdp_mline_index
                )
        except MediaError as exc:
            session.send(Error(code=exc.code, message=exc.message, ref=message.ref))

    async def leave(self, room_id: str, participant_id: str, session: Session) -> None:
        async with self._lock:
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
        async with self._lock:
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
        async with self._lock:
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
        task = asyncio.create_task(self.media_failed(room_id, participant_id))
        self._failing.add(task)
        task.add_done_callback(self._media_failed_done)

    def _media_failed_done(self, task: asyncio.Task[None]) -> None:
        self._failing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("media failure handling failed", exc_info=task.exception())

    # -- moderation from the REST API ------------------------------------------------------

    async def end(self, room_id: str, reason: ByeReason) -> bool:
        async with self._lock:
            live = self._live.get(room_id)
            if live is None:
                return False
            await self._apply(live, live.core.end(reason, self._clock.now()))
            return True

    async def kick(self, room_id: str, participant_id: str, rotate_links: bool) -> None:
        async with self._lock:
            live = self._require(room_id, participant_id)
            outputs = live.core.kick(
                participant_id, rotate_links=rotate_links, now=self._clock.now()
            )
            await self._apply(live, outputs)

    async def mute(self, room_id: str, participant_id: str, kind: MediaKind) -> None:
        async with self._lock:
            live = self._require(room_id, participant_id)
            await self._apply(live, live.core.mute(participant_id, kind, by="api"))

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
        under_way = state.status in ("starting", "active", "ending")
        current = live.recording
        if current is not None and current.recording_id != state.recording_id and not under_way:
            return  # an older recording's end: not news any more
        live.recording = state if under_way else None
        live.broadcast(state)

    # -- timers and shutdown ---------------------------------------------------------------

    async def tick(self) -> None:
        """Run every timer that is due now (empty timeout, session length, resume windows)."""
        async with self._lock:
            now = self._clock.now()
            for live in list(self._live.values()):
                await self._apply(live, live.core.handle_timer(now))
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
        if self._failing:
            await asyncio.wait(set(self._failing))
        for room_id in list(self._live):
            await self.end(room_id, ByeReason.SERVER_SHUTTING_DOWN)

    async def room_deleted(self, room_id: str) -> None:
        """The room is about to be deleted: end its meeting now, recorded while the room and
        its history are still there. The room is not told it became empty (it is going)."""
        async with self._lock:
            live = self._live.get(room_id)
            if live is None:
                return
            live.room_told_empty = True
            await self._apply(live, live.core.end(ByeReason.ROOM_DELETED, self._clock.now()))

    # -- internals -------------------------------------------------------------------------

    async def _start(self, room: RoomRecord, now: datetime) -> LiveMeeting:
        config = room.config
        rules = MeetingRules(
            chat_enabled=bool(config.get("chat", {}).get("enabled", True)),
            screen_share_enabled=bool(config.get("screen_share", {}).get("enabled", True)),
            max_participants=room.max_participants,
            session_length=(
                timedelta(minutes=room.session_length_minutes)
                if room.session_length_minutes
                else None
            ),
            empty_timeout=self._empty_timeout,
            resume_window=self._resume_window,
        )
        meeting = Meeting("mtg_" + new_secret(9), room.id, rules, now)
        started = event(
            "meeting.started", room.id, meeting_data(MeetingRecord(meeting.id, room.id, now)), now
        )
        await self._store.insert_meeting(meeting.id, room.id, now, [started])
        self.outbox_written()
        live = LiveMeeting(
            meeting, public_ip=self._public_ip, on_media_failed=self._media_failed_soon
        )
        self._live[room.id] = live
        logger.info("room %s: meeting %s started", room.id, meeting.id)
        return live

    async def _apply(self, live: LiveMeeting, outputs: list[Output]) -> None:
        now = self._clock.now()
        core = live.core
        closing: list[tuple[Session, ByeReason]] = []
        for out in outputs:
            if isinstance(out, Send):
                if isinstance(out.message, ParticipantLeft):
                    # Done before it is announced: whoever hears of the leave finds it
                    # recorded and the media gone.
                    pid, reason = out.message.participant_id, out.message.reason.value
                    stay = live.stays.pop(pid, None)
                    left = (
                        []
                        if stay is None
                        else [
                            event(
                                "participant.left",
                                core.room_id,
                                participant_data(
                                    core.id,
                                    core.room_id,
                                    dataclasses.replace(stay, left_at=now, leave_reason=reason),
                                ),
                                now,
                            )
                        ]
                    )
                    with _history_kept_going(core.id):
                        await self._store.record_leave(core.id, pid, now, reason, left)
                        self.outbox_written()
                    self._spend(live, pid, _left(out.message.reason))
                    await live.media.remove_peer(out.message.participant_id)
                if out.to is not None:
                    target = live.sessions.get(out.to)
                    if target is not None:
                        target.send(out.message)
                else:
                    for pid, session in live.sessions.items():
                        if pid != out.exclude:
                            session.send(out.message)
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
                self._spend(live, None, _MEETING_ENDED)
                with _history_kept_going(core.id):
                    await self._end_in_store(core.id, now, out.reason.value)
                live.stays.clear()
                await live.media.close()
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

    async def _end_in_store(self, meeting_id: str, now: datetime, reason: str) -> None:
        """Record the end, with ``participant.left`` for whoever was still in and
        ``meeting.ended`` (with the whole attendance) for the webhooks."""
        meeting = await self._store.get_meeting(meeting_id)
        if meeting is None or meeting.ended_at is not None:
            return
        events = []
        for stay in meeting.participants:
            if stay.left_at is None:
                stay.left_at, stay.leave_reason = now, reason
                data = participant_data(meeting.id, meeting.room_id, stay)
                events.append(event("participant.left", meeting.room_id, data, now))
        meeting.ended_at, meeting.end_reason = now, reason
        events.append(event("meeting.ended", meeting.room_id, meeting_data(meeting), now))
        await self._store.end_meeting(meeting_id, now, reason, events)
        self.outbox_written()

    async def close_leftovers(self) -> int:
        """End meetings a previous process left open (it is gone, and they with it)."""
        ids = await self._store.open_meeting_ids()
        for meeting_id in ids:
            await self._end_in_store(
                meeting_id, self._clock.now(), ByeReason.SERVER_SHUTTING_DOWN.value
            )
        return len(ids)

    async def _tell_room_empty(self, live: LiveMeeting) -> None:
        if not live.room_told_empty:
            live.room_told_empty = True
            with _history_kept_going(live.core.id):
                await self._rooms.room_empty(live.core.room_id)
