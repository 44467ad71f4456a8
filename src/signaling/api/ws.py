"""``/ws``: the signaling WebSocket. A thin adapter: it reads frames, validates them with
:mod:`signaling.wire`, and hands them to the meeting service; a writer task drains a
bounded queue so a client that never reads is closed instead of growing memory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from signaling.errors import Forbidden, MeetboxError, TokenError
from signaling.meetings.service import Refused, shutting_down
from signaling.placement import seam
from signaling.ratelimit import TokenBucket
from signaling.recordings.service import Viewer
from signaling.services import Services
from signaling.store import StoreFull
from signaling.text import INVISIBLE_NAME, has_visible_character
from signaling.tokens import ParticipantClaims, verify_participant_token
from signaling.wire import (
    Bye,
    ByeReason,
    Chat,
    CloseCode,
    EndMeeting,
    Error,
    IceCandidate,
    Join,
    Kick,
    Leave,
    MediaReady,
    MuteParticipant,
    Ping,
    Pong,
    ProtocolError,
    PublishOffer,
    RaiseHand,
    Resume,
    ServerMessage,
    SetMute,
    StartRecording,
    StopRecording,
    SubscribeAnswer,
    parse_client_message,
)

__all__ = [
    "ADMISSION_TIMEOUT",
    "OUTBOX_SIZE",
    "WS_PING_INTERVAL",
    "WS_PING_TIMEOUT",
    "QuietInvalidUtf8",
    "Sockets",
    "WsSession",
    "flush_sessions",
    "quiet_invalid_utf8",
    "refuse_waiting",
    "router",
    "sockets_of",
]

logger = logging.getLogger(__name__)

router = APIRouter()

#: Seconds a new socket has to send a valid ``join`` or ``resume``.
ADMISSION_TIMEOUT = 10.0
#: Messages queued for one client before it is judged too slow and closed.
OUTBOX_SIZE = 256
#: Transport keepalive for the server to configure: a vanished client is noticed within
#: interval + timeout (15 s, as LiveKit).
WS_PING_INTERVAL = 5.0
WS_PING_TIMEOUT = 10.0
#: Sockets from one IP address that may be waiting to join at once. A newer one takes the
#: place of the oldest (closed 1008), so sockets left waiting cannot lock out a real join;
#: sockets that joined are not counted here.
MAX_PENDING_PER_IP = 20
#: Client messages per second, sustained and in a burst.
MESSAGE_RATE = 20.0
MESSAGE_BURST = 60.0

_ACTIONS = (Chat, RaiseHand, SetMute, MuteParticipant, Kick, EndMeeting)


class WsSession:
    """A :class:`signaling.meetings.service.Session` on a Starlette WebSocket."""

    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket
        self._outbox: asyncio.Queue[str | tuple[int, str]] = asyncio.Queue(OUTBOX_SIZE + 2)
        self.closing = False

    def send(self, message: ServerMessage) -> None:
        if self.closing:
            return
        if self._outbox.qsize() >= OUTBOX_SIZE:
            logger.info("closing a session that does not read its messages")
            self.close(None, CloseCode.POLICY_VIOLATION, "too slow: messages not read")
            return
        self._outbox.put_nowait(message.model_dump_json())

    def close(self, reason: ByeReason | None, code: CloseCode, why: str = "") -> None:
        if self.closing:
            return
        self.closing = True
        if reason is not None:
            self._outbox.put_nowait(Bye(reason=reason).model_dump_json())
        self._outbox.put_nowait((int(code), why or (reason.value if reason else "")))

    async def write(self) -> None:
        """Drain the outbox until the close marker; then close the socket."""
        while True:
            item = await self._outbox.get()
            if isinstance(item, tuple):
                with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
                    await self._ws.close(code=item[0], reason=item[1][:120])
                return
            try:
                await self._ws.send_text(item)
            except (RuntimeError, WebSocketDisconnect, OSError):
                return


async def _receive(websocket: WebSocket) -> str | bytes | None:
    """The next frame's payload, or ``None`` once the client is gone."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        return None
    text = message.get("text")
    if text is not None:
        return str(text)
    data = message.get("bytes")
    return bytes(data) if data is not None else b""


class QuietInvalidUtf8(logging.Filter):
    """uvicorn logs a text frame that is not UTF-8 with a traceback (and closes 1007, as it
    should): one traceback per such frame, which any client can send. Keep the line, at
    INFO and without the traceback."""

    MESSAGE = "Invalid UTF-8 sequence received from client."

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == self.MESSAGE:
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg = "closed a WebSocket with 1007: a text frame was not UTF-8"
        return True


def quiet_invalid_utf8(logger_name: str = "uvicorn.error") -> None:
    """Install :class:`QuietInvalidUtf8` on uvicorn's logger (once)."""
    target = logging.getLogger(logger_name)
    if not any(isinstance(f, QuietInvalidUtf8) for f in target.filters):
        target.addFilter(QuietInvalidUtf8())


#: Seconds shutdown waits for queued byes to go out.
FLUSH_WAIT = 5.0


class Sockets:
    """The signaling sockets of one app: those still to join, per client address (oldest
    first), and the writer tasks of all, so shutdown can refuse the first and let queued
    byes go out. Lives in ``app.state`` (:func:`sockets_of`), not in a module global."""

    def __init__(self) -> None:
        self._pending: dict[str, OrderedDict[WsSession, None]] = {}
        self.writers: set[asyncio.Task[None]] = set()

    def wait_to_join(self, address: str, session: WsSession) -> None:
        """Count ``session`` as waiting; over the cap, the oldest waiting one is closed."""
        waiting = self._pending.setdefault(address, OrderedDict())
        while len(waiting) >= MAX_PENDING_PER_IP:
            oldest, _ = waiting.popitem(last=False)
            oldest.close(None, CloseCode.POLICY_VIOLATION, "replaced by a newer connection")
        waiting[session] = None

    def done_waiting(self, address: str, session: WsSession) -> None:
        waiting = self._pending.get(address)
        if waiting is not None:
            waiting.pop(session, None)
            if not waiting:
                del self._pending[address]

    def waiting(self) -> list[WsSession]:
        return [s for waiting in self._pending.values() for s in waiting]


def sockets_of(state: Any) -> Sockets:
    """The :class:`Sockets` of the app whose ``state`` this is."""
    sockets = getattr(state, "signaling_sockets", None)
    if sockets is None:
        sockets = state.signaling_sockets = Sockets()
    assert isinstance(sockets, Sockets)
    return sockets


def _refuse(session: WsSession, refusal: Refused, ref: str | None = None) -> None:
    session.send(Error(code=refusal.reason, message=refusal.message, ref=ref))
    session.close(None, refusal.close_code, refusal.reason)


def refuse_waiting(state: Any) -> None:
    """On shutdown: every socket of the app (``app.state``) still to send its ``join`` is
    refused now, as a join then would be (``error`` ``server_shutting_down``, close 1001)."""
    for session in sockets_of(state).waiting():
        _refuse(session, shutting_down())


async def flush_sessions(state: Any) -> None:
    """Wait (at most :data:`FLUSH_WAIT` s) for the app's sessions already told to close to
    send what they have queued, typically their ``bye``."""
    writers = sockets_of(state).writers
    if writers:
        await asyncio.wait(set(writers), timeout=FLUSH_WAIT)


@router.websocket("/ws")
async def signaling_socket(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    address = websocket.client.host if websocket.client else "?"
    await websocket.accept()
    session = WsSession(websocket)
    sockets = sockets_of(websocket.app.state)
    writer = asyncio.create_task(session.write(), name="ws-writer")
    sockets.writers.add(writer)
    writer.add_done_callback(sockets.writers.discard)
    claims: ParticipantClaims | None = None
    sockets.wait_to_join(address, session)
    try:
        try:
            if services.draining:
                _refuse(session, shutting_down())
            else:
                claims = await _admit(services, websocket, session)
        finally:
            sockets.done_waiting(address, session)
        if claims is not None:
            await _serve(services, websocket, session, claims)
    except WebSocketDisconnect:
        pass
    finally:
        if claims is not None:
            await services.meetings.disconnected(claims.room_id, claims.participant_id, session)
        session.close(None, CloseCode.NORMAL)
        with contextlib.suppress(asyncio.TimeoutError):
            async with asyncio.timeout(5):
                await writer
        if not writer.done():
            writer.cancel()
        if websocket.client_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, OSError):
                await websocket.close(code=CloseCode.NORMAL)


async def _admit(
    services: Services, websocket: WebSocket, session: WsSession
) -> ParticipantClaims | None:
    """Wait for ``join``/``resume`` and admit; ``None`` (with the session closed) if not."""
    try:
        async with asyncio.timeout(services.admission_timeout):
            raw = await _receive(websocket)
    except TimeoutError:
        session.close(None, CloseCode.UNAUTHORIZED, "no join within the admission window")
        return None
    if raw is None or session.closing:  # gone, replaced by a newer socket, or refused (drain)
        return None
    try:
        message = parse_client_message(raw)
    except ProtocolError as exc:
        # Before admission every refusal closes, and says why first.
        session.send(Error(code=exc.code, message=exc.message, ref=exc.ref))
        session.close(None, exc.close_code or CloseCode.POLICY_VIOLATION, exc.message)
        return None
    try:
        if isinstance(message, Join):
            key = services.token_key
            claims = verify_participant_token(key, message.token, services.clock.now())
            if not has_visible_character(claims.nickname):
                # POST /join refuses such names; a token minted otherwise is refused here.
                raise Refused(
                    CloseCode.UNAUTHORIZED,
                    "invalid_nickname",
                    f"the nickname {INVISIBLE_NAME}; join again with another one",
                )
            await services.meetings.admit(claims, session)
            return claims
        if isinstance(message, Resume):
            claims, _ = await services.meetings.resume(message.resume_token, session)
            return claims
    except TokenError as exc:
        session.send(Error(code="invalid_token", message=exc.detail, ref=message.ref))
        session.close(None, CloseCode.UNAUTHORIZED, exc.detail)
        return None
    except Refused as exc:
        _refuse(session, exc, message.ref)
        return None
    except StoreFull as exc:  # the meeting or the join could not be recorded
        logger.warning("a join was refused: %s", exc.message)
        refusal = Refused(
            CloseCode.INTERNAL_ERROR,
            "insufficient_storage",
            "the server's disk is full, so the meeting cannot be joined now; try again later",
        )
        _refuse(session, refusal, message.ref)
        return None
    why = "the first message must be join or resume"
    session.send(Error(code="not_joined", message=why, ref=message.ref))
    session.close(None, CloseCode.POLICY_VIOLATION, why)
    return None


async def _recording(
    services: Services,
    session: WsSession,
    claims: ParticipantClaims,
    message: StartRecording | StopRecording,
) -> None:
    """Moderators start and stop the recording from the meeting; everyone hears of it by
    ``recording`` messages, so the reply is only for refusals."""
    viewer = Viewer(room_id=claims.room_id, role=claims.role)
    try:
        if claims.recording_id is not None:
            raise Forbidden("a recorder does not control recordings")
        if isinstance(message, StartRecording):
            await services.placement.command(seam.StartRecording(claims.room_id, None, viewer))
        else:
            await services.placement.command(seam.StopRecording(claims.room_id, None, viewer))
    except MeetboxError as exc:
        code = "forbidden" if isinstance(exc, Forbidden) else exc.slug.replace("-", "_")
        session.send(Error(code=code, message=exc.detail, ref=message.ref))


async def _serve(
    services: Services, websocket: WebSocket, session: WsSession, claims: ParticipantClaims
) -> None:
    meetings = services.meetings
    room_id, pid = claims.room_id, claims.participant_id
    bucket = TokenBucket(MESSAGE_RATE, MESSAGE_BURST, time.monotonic())
    while not session.closing:
        raw = await _receive(websocket)
        if raw is None:
            return
        if not bucket.allow(time.monotonic()):
            session.close(None, CloseCode.POLICY_VIOLATION, "too many messages")
            return
        try:
            message = parse_client_message(raw)
        except ProtocolError as exc:
            session.send(Error(code=exc.code, message=exc.message, ref=exc.ref))
            if exc.close_code is not None:
                session.close(None, exc.close_code, exc.message)
                return
            continue
        if isinstance(message, Ping):
            session.send(Pong())
        elif isinstance(message, Leave):
            await meetings.leave(room_id, pid, session)
            return
        elif isinstance(message, _ACTIONS):
            await meetings.act(room_id, pid, session, message)
        elif isinstance(message, PublishOffer | SubscribeAnswer | IceCandidate):
            await meetings.media(room_id, pid, session, message)
        elif isinstance(message, MediaReady):
            await meetings.media_ready(room_id, pid, session)
        elif isinstance(message, StartRecording | StopRecording):
            await _recording(services, session, claims, message)
        else:
            # join or resume again on a joined session
            session.send(
                Error(
                    code="unsupported",
                    message=f"{message.type} is not accepted here",
                    ref=message.ref,
                )
            )
