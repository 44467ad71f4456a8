"""Recordings: recorder processes started and stopped, their status, files and share links.

Each recording is one ``python -m recorder`` process (see :mod:`recorder`), which joins the
meeting as a hidden participant with a token made for that recording, and reports on its
stdout as JSON lines (``active``, ``progress``, ``ending``, then ``complete`` or ``failed``).
This service turns those reports into the recording's status in the store, ``recording.*``
webhook events and ``recording`` messages to the meeting. A process that exits without a last
word failed; the file it wrote (fragmented MP4) stays playable up to its last fragment.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from signaling.api.schemas import (
    Recording,
    RecordingAccess,
    RecordingLayout,
    RecordingPreset,
    RecordingStart,
)
from signaling.clock import Clock
from signaling.errors import (
    Conflict,
    Forbidden,
    InsufficientStorage,
    MeetboxError,
    NotFound,
    ServiceUnavailable,
)
from signaling.meetings.service import MeetingService
from signaling.models import RecordingRecord, RecordingStatus, Role, RoomRecord
from signaling.pagination import decode_cursor, encode_cursor
from signaling.recordings.orphans import OrphanRecorder, find_recorders
from signaling.rooms.service import RoomService
from signaling.store import Page, Store, StoreFull
from signaling.tokens import issue_participant_token, new_secret, sha256_hex
from signaling.webhooks.events import event
from signaling.wire import RecordingState

__all__ = [
    "PRESETS",
    "InsufficientStorage",
    "RecorderLauncher",
    "RecorderProcess",
    "RecordingService",
    "RecordingSettings",
    "SubprocessLauncher",
    "Viewer",
    "recorder_environment",
]

logger = logging.getLogger(__name__)

PRESETS = {
    RecordingPreset.P480: (854, 480),
    RecordingPreset.P720: (1280, 720),
    RecordingPreset.P1080: (1920, 1080),
}
#: How long a media access parameter (for players without headers) stays good.
MEDIA_ACCESS_TTL = timedelta(hours=6)
#: How long the recorder's own participant token may wait to be used.
RECORDER_TOKEN_TTL = timedelta(minutes=2)
#: Longest accepted report line from a recorder (they are a few dozen bytes).
MAX_REPORT_BYTES = 4096
#: The error of an aborted recording.
NOTHING_RECORDED = "stopped before anything was recorded"
#: Seconds between tries to save how a recording ended when the disk was full.
END_RETRY_INTERVAL = 5.0


@dataclass(frozen=True, slots=True)
class RecordingSettings:
    #: Where the MP4 files go (``recordings/`` in the data dir).
    directory: Path
    #: Recordings under way at once, across all rooms; more get 409.
    max_concurrent: int = 2
    #: A recording stops by itself (complete) after this long.
    max_duration: timedelta = timedelta(hours=4)
    #: Below this much free space no recording starts, and a running one stops as failed.
    min_free_bytes: int = 256 * 1024 * 1024
    fps: int = 30
    #: After a stop, the recorder has this long to finish its file before it is killed, and
    #: this long again each time its files grew meanwhile (see ``check_stop_deadlines``).
    stop_timeout: float = 60.0


class RecorderProcess(Protocol):
    def reports(self) -> AsyncIterator[dict[str, Any]]:
        """The recorder's reports until its stdout closes."""

    def stop(self) -> None:
        """Ask it to finish the file and exit."""

    def kill(self) -> None: ...

    async def wait(self) -> int:
        """Its exit status (negative: killed by that signal)."""


class RecorderLauncher(Protocol):
    async def launch(self, args: list[str], token: str) -> RecorderProcess: ...


class _Subprocess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    async def reports(self) -> AsyncIterator[dict[str, Any]]:
        stdout = self._process.stdout
        assert stdout is not None
        while True:
            try:
                line = await stdout.readline()
            except ValueError:  # a line over the stream limit: not a recorder talking
                logger.warning("recorder %s: overlong report line ignored", self._process.pid)
                continue
            if not line:
                return
            try:
                report = json.loads(line[:MAX_REPORT_BYTES])
            except ValueError:
                logger.warning("recorder %s: unreadable report ignored", self._process.pid)
                continue
            if isinstance(report, dict):
                yield report

    def stop(self) -> None:
        stdin = self._process.stdin
        if stdin is not None and not stdin.is_closing():
            with contextlib.suppress(OSError, RuntimeError):
                stdin.write(b"stop\n")

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self._process.kill()

    async def wait(self) -> int:
        code = await self._process.wait()
        stdin = self._process.stdin
        if stdin is not None:
            stdin.close()
        return code


#: What the recorder inherits from the server's environment: enough to run Python and find
#: its packages. Not the rest, which holds the server's secrets (``MEETBOX_TURN_SECRET``,
#: ``MEETBOX_INITIAL_API_KEY``, whatever the operator exports).
_RECORDER_ENV = frozenset({"PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "VIRTUAL_ENV"})
_RECORDER_ENV_PREFIXES = ("LC_", "PYTHON")


def recorder_environment(token: str, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The recorder's environment: the few variables of ``environ`` it needs, and its token
    (kept out of its command line, which ``ps`` shows)."""
    env = {
        name: value
        for name, value in environ.items()
        if name in _RECORDER_ENV or name.startswith(_RECORDER_ENV_PREFIXES)
    }
    env["MEETBOX_RECORDER_TOKEN"] = token
    return env


class SubprocessLauncher:
    """Runs ``python -m recorder`` with this interpreter; its logs go to our stderr, the
    token goes in its environment (see :func:`recorder_environment`)."""

    async def launch(self, args: list[str], token: str) -> RecorderProcess:
        env = recorder_environment(token)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "recorder",
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        return _Subprocess(process)


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


@dataclass
class _Run:
    recording_id: str
    room_id: str
    meeting_id: str
    process: RecorderProcess
    #: The MP4 it writes.
    output: Path
    task: asyncio.Task[None] | None = None
    stop_requested: bool = False
    #: Once asked to stop: when it is killed unless its files grew, and their size then.
    kill_at: datetime | None = None
    finishing_bytes: int = 0
    became_active: bool = False
    finished: bool = False
    killer: asyncio.Task[None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    #: How it ended, when that could not be saved yet (the disk was full): the record as
    #: reported, its status and the keyword arguments of ``_end``.
    unsaved_end: tuple[RecordingRecord, RecordingStatus, dict[str, str | None]] | None = None

    @property
    def adopted(self) -> OrphanRecorder | None:
        """The recorder of a previous server, still finishing its file (see ``recover``)."""
        return self.process if isinstance(self.process, OrphanRecorder) else None


def _describe_exit(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit status {code}"


class RecordingService:
    def __init__(
        self,
        store: Store,
        rooms: RoomService,
        meetings: MeetingService,
        clock: Clock,
        settings: RecordingSettings,
        *,
        token_key: bytes,
        public_url: str,
        launcher: RecorderLauncher | None = None,
    ) -> None:
        self._store = store
        self._rooms = rooms
        self._meetings = meetings
        self._clock = clock
        self.settings = settings
        self._key = token_key
        self._public_url = public_url.rstrip("/")
        self.launcher = launcher or SubprocessLauncher()
        #: The server's own signaling URL on loopback, for recorders (set once it listens).
        self.ws_url: str | None = None
        self._runs: dict[str, _Run] = {}
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()
        #: Called after webhook events were written to the outbox (wakes the deliverer).
        self.outbox_written: Callable[[], None] = lambda: None
        self._changed = asyncio.Condition()
        #: Seconds between tries to save a recording's end on a full disk.
        self.end_retry_interval = END_RETRY_INTERVAL
        self._stopping = asyncio.Event()

    # -- representation --------------------------------------------------------------------

    def represent(self, rec: RecordingRecord, viewer: Viewer = ADMIN) -> Recording:
        media = download = None
        if not rec.status.live:
            base = f"{self._public_url}/api/v1/recordings/{rec.id}"
            # A share link's access ends with the share (revoked or replaced).
            if viewer.admin:
                query = ""
            elif viewer.shared_recording is not None and rec.share_hash is not None:
                query = f"?access={self.media_access(rec.id, share_hash=rec.share_hash)}"
            elif viewer.role is not None and viewer.link_hash is not None:
                link = (viewer.role, viewer.link_hash)
                query = f"?access={self.media_access(rec.id, link=link)}"
            else:
                query = None
            if query is not None:
                media, download = f"{base}/media{query}", f"{base}/download{query}"
        return Recording(
            id=rec.id,
            room_id=rec.room_id,
            room_name=rec.room_name,
            meeting_id=rec.meeting_id,
            status=rec.status.value,
            layout=RecordingLayout(rec.layout),
            width=rec.width,
            height=rec.height,
            created_at=rec.created_at,
            started_at=rec.started_at,
            ended_at=rec.ended_at,
            duration_s=rec.duration_s,
            size_bytes=rec.size_bytes,
            end_reason=rec.end_reason,
            error=rec.error,
            shared=rec.share_hash is not None,
            media_url=media,
            download_url=download,
        )

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
        expires = int((self._clock.now() + MEDIA_ACCESS_TTL).timestamp())
        if share_hash is not None:
            kind, bound = "s", share_hash
        elif link is not None:
            kind, bound = f"l-{link[0].value}", link[1]
        else:
            raise ValueError("media access is bound to a share or a link")
        return f"{expires}.{kind}.{self._access_mac(recording_id, expires, kind, bound)}"

    def _access_mac(self, recording_id: str, expires: int, kind: str, bound: str) -> str:
        message = f"media:{recording_id}:{expires}:{kind}:{bound}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    async def check_media_access(self, recording_id: str, access: str) -> bool:
        expires, kind, mac = [*access.split(".", 2), "", ""][:3]
        if not expires.isdigit() or int(expires) < self._clock.now().timestamp():
            return False
        if kind != "s" and not kind.startswith("l-"):
            return False
        rec = await self._store.get_recording(recording_id)
        if rec is None:
            return False
        if kind == "s":
            if rec.share_hash is None:
                return False
            bound = rec.share_hash
        else:
            try:
                role = Role(kind[2:])
            except ValueError:
                return False
            room = await self._store.get_room(rec.room_id)
            link = room.links.get(role) if room is not None else None
            if link is None:
                return False
            if not await self._may_see(Viewer(room_id=rec.room_id, role=role), rec.room_id, rec.id):
                return False  # the room's recording access was tightened since
            bound = link.secret_hash
        expected = self._access_mac(recording_id, int(expires), kind, bound)
        return hmac.compare_digest(mac, expected)

    @property
    def running(self) -> int:
        """Recorder processes under way."""
        return len(self._runs)

    def path(self, rec: RecordingRecord) -> Path:
        return self.settings.directory / rec.filename

    # -- who may do what -------------------------------------------------------------------

    async def viewer_for_link(self, secret: str) -> Viewer:
        """The viewer a room link's secret makes (refused like ``/join`` refuses it)."""
        role, room = await self._rooms.preview(secret)
        return Viewer(room_id=room.id, role=role, link_hash=sha256_hex(secret))

    async def viewer_for_share(self, recording_id: str, secret: str) -> Viewer:
        rec = await self._store.find_shared_recording(sha256_hex(secret))
        if rec is None or rec.id != recording_id:
            raise NotFound("this share link is not valid (any more)")
        return Viewer(shared_recording=rec.id)

    async def _may_see(self, viewer: Viewer, room_id: str, recording_id: str | None) -> bool:
        if viewer.admin:
            return True
        if viewer.shared_recording is not None:
            return recording_id == viewer.shared_recording
        if viewer.room_id != room_id:
            return False
        if viewer.role is Role.RECORDINGS:
            return True
        try:
            room = await self._rooms.get(room_id)
        except NotFound:
            return False
        access = RecordingAccess(room.config.get("recording", {}).get("access", "moderator"))
        if viewer.role is Role.MODERATOR:
            return access is not RecordingAccess.ADMIN
        return viewer.role is Role.SPEAKER and access is RecordingAccess.MODERATOR_SPEAKER

    async def _require_see(self, viewer: Viewer, rec: RecordingRecord) -> None:
        if not await self._may_see(viewer, rec.room_id, rec.id):
            if viewer.room_id is not None and viewer.room_id != rec.room_id:
                raise NotFound(f"no recording with id {rec.id!r}")
            raise Forbidden("this link does not give access to the room's recordings")

    async def _require_manage(self, viewer: Viewer, room_id: str) -> None:
        """Start, stop, delete, share: administrators, and the room's moderators."""
        if viewer.admin:
            return
        if viewer.room_id == room_id and viewer.role is Role.MODERATOR:
            return
        raise Forbidden("only the room's moderators may do this")

    # -- queries ---------------------------------------------------------------------------

    async def get(self, recording_id: str, viewer: Viewer = ADMIN) -> RecordingRecord:
        rec = await self._store.get_recording(recording_id)
        if rec is None:
            raise NotFound(f"no recording with id {recording_id!r}")
        await self._require_see(viewer, rec)
        return rec

    async def list(
        self,
        viewer: Viewer,
        room_id: str | None,
        statuses: Sequence[RecordingStatus],
        limit: int,
        cursor: str | None,
    ) -> tuple[list[RecordingRecord], str | None]:
        if not viewer.admin:
            if viewer.room_id is None:
                raise Forbidden("a share link opens one recording, not lists")
            if room_id not in (None, viewer.room_id):
                raise Forbidden("this link opens its own room's recordings only")
            room_id = viewer.room_id
            if not await self._may_see(viewer, room_id, None):
                raise Forbidden("this link does not give access to the room's recordings")
        page: Page[RecordingRecord] = await self._store.list_recordings(
            room_id, statuses, limit, decode_cursor(cursor)
        )
        return page.items, encode_cursor(page.next_after) if page.next_after else None

    async def wait_for(self, recording_id: str, *statuses: RecordingStatus) -> RecordingRecord:
        """Until the recording has one of ``statuses`` (for tests and tools; bound it with a
        timeout)."""
        async with self._changed:
            while True:
                rec = await self.get(recording_id)
                if rec.status in statuses:
                    return rec
                await self._changed.wait()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def under_way(self, room_id: str) -> RecordingState | None:
        live = self._meetings.live(room_id)
        return None if live is None else live.recording

    # -- starting and stopping -------------------------------------------------------------

    async def start(
        self, room_id: str, spec: RecordingStart | None = None, viewer: Viewer = ADMIN
    ) -> RecordingRecord:
        spec = spec or RecordingStart()
        await self._require_manage(viewer, room_id)
        async with self._lock:
            room = await self._rooms.get(room_id)
            config = room.config.get("recording", {})
            if not config.get("enabled", True):
                raise Conflict("recording is turned off for this room (config.recording.enabled)")
            live = self._meetings.live(room_id)
            if live is None or live.core.empty or live.core.ended is not None:
                raise Conflict("there is no meeting in progress in this room to record")
            if live.recording is not None:
                raise Conflict(
                    f"the meeting is already being recorded ({live.recording.recording_id})",
                    recording_id=live.recording.recording_id,
                )
            if self.settings.max_concurrent == 0:
                raise Conflict("recording is turned off on this server (--max-recordings 0)")
            if len(self._runs) >= self.settings.max_concurrent:
                raise Conflict(
                    f"{self.settings.max_concurrent} recordings are already under way, the "
                    "most this server runs at once (--max-recordings); try again later"
                )
            if self.ws_url is None:
                raise ServiceUnavailable("the server is not listening yet")
            self._check_space()
            return await self._launch(room, live.core.id, spec)

    def _check_space(self) -> None:
        directory = self.settings.directory
        directory.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(directory).free
        if free < self.settings.min_free_bytes:
            raise InsufficientStorage(
                f"only {free // (1024 * 1024)} MiB free where recordings are kept; at least "
                f"{self.settings.min_free_bytes // (1024 * 1024)} MiB are needed to start one"
            )

    async def _launch(
        self, room: RoomRecord, meeting_id: str, spec: RecordingStart
    ) -> RecordingRecord:
        now = self._clock.now()
        layout = spec.layout or RecordingLayout(
            room.config.get("recording", {}).get("layout", "grid")
        )
        width, height = PRESETS[spec.preset]
        recording_id = "rec_" + new_secret(9)
        rec = RecordingRecord(
            id=recording_id,
            room_id=room.id,
            room_name=room.name,
            meeting_id=meeting_id,
            status=RecordingStatus.STARTING,
            layout=layout.value,
            width=width,
            height=height,
            created_at=now,
            filename=f"{recording_id}.mp4",
        )
        await self._save(rec, "recording.started")
        self._tell(rec)
        token, _ = issue_participant_token(
            self._key,
            participant_id="recorder_" + recording_id.removeprefix("rec_"),
            room_id=room.id,
            role=Role.RECORDINGS,
            nickname="Recorder",
            now=now,
            ttl=RECORDER_TOKEN_TTL,
            recording_id=recording_id,
        )
        args = [
            "--ws-url",
            str(self.ws_url),
            "--output",
            str(self.path(rec)),
            "--layout",
            layout.value,
            "--width",
            str(width),
            "--height",
            str(height),
            "--fps",
            str(self.settings.fps),
            "--max-seconds",
            str(int(self.settings.max_duration.total_seconds())),
            "--min-free-bytes",
            str(self.settings.min_free_bytes // 4),
        ]
        try:
            process = await self.launcher.launch(args, token)
        except OSError as exc:
            await self._end(rec, RecordingStatus.FAILED, error=f"the recorder did not start: {exc}")
            raise ServiceUnavailable(f"the recorder could not be started: {exc}") from None
        run = _Run(recording_id, room.id, meeting_id, process, self.path(rec))
        self._runs[recording_id] = run
        run.task = asyncio.create_task(self._watch(run), name=f"recorder-{recording_id}")
        logger.info("room %s: recording %s starting (%s, %dp)", room.id, rec.id, layout, height)
        return rec

    async def stop(self, recording_id: str, viewer: Viewer = ADMIN) -> RecordingRecord:
        # Not ``get(recording_id, viewer)``: a room's moderators may stop its recording even
        # where ``access`` keeps them from watching it. But another room's link gets the 404
        # of a recording that does not exist, as everywhere else: no telling it exists.
        rec = await self.get(recording_id)
        if viewer.room_id is not None and viewer.room_id != rec.room_id:
            raise NotFound(f"no recording with id {recording_id!r}")
        await self._require_manage(viewer, rec.room_id)
        run = self._runs.get(recording_id)
        if run is None or run.finished:
            raise Conflict(f"recording {recording_id!r} is not under way (it is {rec.status})")
        if not run.stop_requested:
            await self._request_stop(run)
        return await self.get(recording_id)

    async def stop_room(self, room_id: str, viewer: Viewer = ADMIN) -> RecordingRecord:
        state = self.under_way(room_id)
        if state is None:
            raise Conflict("the meeting is not being recorded")
        return await self.stop(state.recording_id, viewer)

    async def _request_stop(self, run: _Run) -> None:
        run.stop_requested = True
        run.process.stop()
        run.finishing_bytes = _finishing_bytes(run.output)
        run.kill_at = self._clock.now() + timedelta(seconds=self.settings.stop_timeout)
        run.killer = asyncio.create_task(self._kill_when_stuck(run))
        async with self._lock:
            rec = await self._store.get_recording(run.recording_id)
            if rec is not None and rec.status in (RecordingStatus.STARTING, RecordingStatus.ACTIVE):
                rec.status = RecordingStatus.ENDING
                try:
                    await self._save(rec, "recording.updated")
                except StoreFull as exc:  # it is stopping all the same; its end is saved later
                    logger.warning("recording %s: ending not saved: %s", rec.id, exc.message)
                    return
                self._tell(rec)

    def check_stop_deadlines(self) -> None:
        """Kill the recorders asked to stop that are past their deadline and stuck.

        Finishing a file takes time in proportion to its length (the faststart rewrite
        copies all of it, minutes for a multi-hour file on a slow disk), so no one deadline
        fits every recording. Instead a recorder gets ``stop_timeout`` at a time: at each
        deadline, if its MP4 or its faststart copy grew since the last look, it is making
        progress and gets another ``stop_timeout``; if not, it is killed. (Its own timers
        call this; tests step the clock and call it.)"""
        now = self._clock.now()
        for run in list(self._runs.values()):
            self._check_stop_deadline(run, now)

    def _check_stop_deadline(self, run: _Run, now: datetime) -> None:
        """Past its deadline, a run either gets a later one or is killed (no deadline)."""
        if run.kill_at is None or now < run.kill_at:
            return
        size = _finishing_bytes(run.output)
        if size != run.finishing_bytes:
            run.finishing_bytes = size
            run.kill_at = now + timedelta(seconds=self.settings.stop_timeout)
            logger.info("recording %s: still finishing its file", run.recording_id)
            return
        logger.warning(
            "recording %s: the recorder made no progress finishing its file; killed",
            run.recording_id,
        )
        run.kill_at = None
        run.process.kill()

    async def _kill_when_stuck(self, run: _Run) -> None:
        while run.kill_at is not None and not run.done.is_set():
            delay = (run.kill_at - self._clock.now()).total_seconds()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await run.done.wait()
            else:
                self._check_stop_deadline(run, self._clock.now())

    def meeting_started(self, room_id: str) -> None:
        """Start recording if the room says so (``config.recording.auto_start``)."""
        self._spawn(self._auto_start(room_id))

    async def _auto_start(self, room_id: str) -> None:
        room = await self._rooms.get(room_id)
        config = room.config.get("recording", {})
        if not (config.get("enabled", True) and config.get("auto_start", False)):
            return
        try:
            await self.start(room_id)
        except MeetboxError as exc:
            logger.warning("room %s: automatic recording did not start: %s", room_id, exc.detail)

    def meeting_ended(self, room_id: str, meeting_id: str) -> None:
        """A recorder still on its way in is told to stop: there is nothing left to record
        (one inside got ``bye`` with the others and finishes its file)."""
        for run in list(self._runs.values()):
            if run.meeting_id == meeting_id and not run.became_active and not run.stop_requested:
                self._spawn(self._request_stop(run))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("recording task failed", exc_info=task.exception())

    # -- following a recorder --------------------------------------------------------------

    async def _watch(self, run: _Run) -> None:
        try:
            async for report in run.process.reports():
                try:
                    await self._on_report(run, report)
                except StoreFull as exc:
                    logger.warning("recording %s: report not saved: %s", run.recording_id, exc)
                except Exception:
                    logger.exception("recording %s: report not handled", run.recording_id)
            code = await run.process.wait()
            if not run.finished:
                await self._exited(run, code)
            await self._save_end_when_possible(run)
        finally:
            run.finished = True
            run.done.set()
            self._runs.pop(run.recording_id, None)
            if run.killer is not None:
                run.killer.cancel()

    async def _on_report(self, run: _Run, report: dict[str, Any]) -> None:
        kind = report.get("event")
        async with self._lock:
            rec = await self._store.get_recording(run.recording_id)
            if rec is None or not rec.status.live:
                return
            duration = _number(report.get("duration_s"))
            size = _number(report.get("size_bytes"))
            if duration is not None:
                rec.duration_s = round(duration, 3)
            if size is not None:
                rec.size_bytes = int(size)
            if kind == "active":
                run.became_active = True
                rec.started_at = self._clock.now()
                if rec.status is RecordingStatus.STARTING:
                    rec.status = RecordingStatus.ACTIVE
                await self._save(rec, "recording.updated")
                self._tell(rec)
                logger.info("recording %s: active", rec.id)
            elif kind == "progress":
                await self._store.save_recording(rec)
            elif kind == "ending":
                if rec.status is not RecordingStatus.ENDING:
                    rec.status = RecordingStatus.ENDING
                    await self._save(rec, "recording.updated")
                    self._tell(rec)
            elif kind == "complete":
                run.finished = True
                reason = str(report.get("reason") or "stopped")[:64]
                await self._conclude(run, rec, RecordingStatus.COMPLETE, end_reason=reason)
            elif kind == "failed":
                run.finished = True
                error = str(report.get("error") or "the recorder failed")[:500]
                status = RecordingStatus.FAILED
                if run.stop_requested and not run.became_active:
                    status = RecordingStatus.ABORTED
                    error = NOTHING_RECORDED
                await self._conclude(run, rec, status, error=error)

    async def _exited(self, run: _Run, code: int) -> None:
        for path in _temporaries(run.output):  # it died before moving them into place
            path.unlink(missing_ok=True)
        async with self._lock:
            rec = await self._store.get_recording(run.recording_id)
            if rec is None or not rec.status.live:
                return
            if run.stop_requested and not run.became_active:
                await self._conclude(run, rec, RecordingStatus.ABORTED, error=NOTHING_RECORDED)
            else:
                await self._conclude(
                    run,
                    rec,
                    RecordingStatus.FAILED,
                    error=f"the recorder stopped unexpectedly ({_describe_exit(code)}); the "
                    "file plays up to its last complete fragment",
                )

    async def _conclude(
        self, run: _Run, rec: RecordingRecord, status: RecordingStatus, **how: str | None
    ) -> None:
        """End the recording; on a full disk, remember how, to save it once there is room
        (see :meth:`_save_end_when_possible`)."""
        try:
            await self._end(rec, status, **how)
        except StoreFull as exc:
            logger.warning(
                "recording %s: its end (%s) could not be saved yet: %s",
                rec.id,
                status.value,
                exc.message,
            )
            run.unsaved_end = (rec, status, how)

    async def _save_end_when_possible(self, run: _Run) -> None:
        """Try again every ``end_retry_interval`` s until the end is saved (with its webhook
        event), or the server stops: the next start then closes it (``recover``)."""
        while run.unsaved_end is not None and not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.end_retry_interval):
                    await self._stopping.wait()
            rec, status, how = run.unsaved_end
            async with self._lock:
                current = await self._store.get_recording(run.recording_id)
                if current is None or not current.status.live:
                    return
                with contextlib.suppress(StoreFull):
                    await self._end(rec, status, **how)
                    run.unsaved_end = None

    async def _end(
        self,
        rec: RecordingRecord,
        status: RecordingStatus,
        *,
        end_reason: str | None = None,
        error: str | None = None,
    ) -> None:
        if status is RecordingStatus.COMPLETE and rec.started_at is None:
            # The recorder finished before its first frame (stopped while it joined): there
            # is no recording, whichever way its end was learned (report or sidecar).
            status, end_reason, error = RecordingStatus.ABORTED, None, NOTHING_RECORDED
        rec.status = status
        rec.ended_at = self._clock.now()
        rec.end_reason = end_reason
        rec.error = error
        if status is RecordingStatus.ABORTED:
            # Nothing was recorded: what the recorder opened holds no frame, not worth keeping.
            self.path(rec).unlink(missing_ok=True)
            rec.size_bytes = None
        with contextlib.suppress(OSError):
            rec.size_bytes = self.path(rec).stat().st_size
        await self._save(rec, "recording.ended")
        self._tell(rec)
        logger.info("recording %s: %s%s", rec.id, status.value, f" ({error})" if error else "")

    async def _save(self, rec: RecordingRecord, event_type: str) -> None:
        data = self.represent(rec)
        await self._store.save_recording(
            rec, [event(event_type, rec.room_id, data, self._clock.now())]
        )
        self.outbox_written()
        await self._notify()

    def _tell(self, rec: RecordingRecord) -> None:
        self._meetings.set_recording(
            rec.room_id,
            rec.meeting_id,
            RecordingState(recording_id=rec.id, status=rec.status.value, error=rec.error),
        )

    # -- files -----------------------------------------------------------------------------

    async def media(self, recording_id: str, viewer: Viewer) -> tuple[RecordingRecord, Path]:
        """The file to serve, once the recording has ended."""
        rec = await self.get(recording_id, viewer)
        if rec.status.live:
            raise Conflict("the recording is still under way; its file is ready once it ends")
        path = self.path(rec)
        if not path.is_file():
            raise NotFound("this recording has no file (nothing was recorded)")
        return rec, path

    async def delete(self, recording_id: str, viewer: Viewer = ADMIN) -> None:
        rec = await self.get(recording_id, viewer)
        await self._require_manage(viewer, rec.room_id)
        if rec.status.live or recording_id in self._runs:
            raise Conflict("the recording is under way: stop it first")
        await self._store.delete_recording(rec.id)
        for path in (self.path(rec), self._sidecar(rec), *_temporaries(self.path(rec))):
            path.unlink(missing_ok=True)
        logger.info("recording %s deleted", rec.id)

    async def delete_room_recordings(self, room_id: str) -> int:
        """Every recording of a deleted room (``with_recordings=force``)."""
        count = 0
        while True:
            page = await self._store.list_recordings(room_id, [], 100, None)
            doomed = [rec for rec in page.items if rec.id not in self._runs]
            for rec in doomed:
                await self.delete(rec.id)
                count += 1
            if not doomed:
                return count

    async def has_recordings(self, room_id: str) -> bool:
        return await self._store.count_recordings(room_id) > 0

    async def share(self, recording_id: str, viewer: Viewer = ADMIN) -> str:
        """A new share link (any earlier one stops working)."""
        rec = await self.get(recording_id, viewer)
        await self._require_manage(viewer, rec.room_id)
        if rec.status.live:
            raise Conflict("the recording is still under way; share it once it has ended")
        secret = new_secret()
        async with self._lock:
            current = await self._store.get_recording(recording_id)
            if current is None:
                raise NotFound(f"no recording with id {recording_id!r}")
            current.share_hash = sha256_hex(secret)
            await self._store.save_recording(current)
        return f"{self._public_url}/recording/{rec.id}#share={secret}"

    async def unshare(self, recording_id: str, viewer: Viewer = ADMIN) -> None:
        rec = await self.get(recording_id, viewer)
        await self._require_manage(viewer, rec.room_id)
        async with self._lock:
            current = await self._store.get_recording(recording_id)
            if current is not None and current.share_hash is not None:
                current.share_hash = None
                await self._store.save_recording(current)

    # -- restart and shutdown --------------------------------------------------------------

    def _sidecar(self, rec: RecordingRecord) -> Path:
        return self.path(rec).with_name(rec.filename + ".json")

    async def recover(self) -> int:
        """Close recordings a previous process left under way: complete if its recorder
        finished the file (its sidecar says so), failed otherwise; the file stays. A
        recorder still finishing its file (it outlived its server) is followed instead, as
        if it were this server's: the recording stays ``ending`` until it exits, then ends
        as its sidecar says (one ``recording.ended``, the right one); it is killed, the
        recording failed, only if its files stop growing for ``stop_timeout``. And remove
        the temporary files of recorders that are gone."""
        under_way = [RecordingStatus.STARTING, RecordingStatus.ACTIVE, RecordingStatus.ENDING]
        left: list[RecordingRecord] = []
        after: tuple[str, str] | None = None
        while True:  # every one of them, a page at a time
            page = await self._store.list_recordings(None, under_way, 500, after)
            left += page.items
            if page.next_after is None:
                break
            after = page.next_after
        finals = {rec.id: self._final_of(rec) for rec in left}
        unsure = [self.path(rec) for rec in left if not finals[rec.id]]
        alive = await asyncio.to_thread(find_recorders, unsure)
        for rec in left:
            final = finals[rec.id]
            duration = _number(final.get("duration_s"))
            if duration is not None:
                rec.duration_s = round(duration, 3)
            if self.path(rec) in alive:
                await self._adopt(rec, alive[self.path(rec)])
            elif final.get("event") == "complete":
                reason = str(final.get("reason") or "stopped")[:64]
                await self._end(rec, RecordingStatus.COMPLETE, end_reason=reason)
            elif final.get("event") == "failed":
                error = str(final.get("error") or "the recorder failed")[:500]
                await self._end(rec, RecordingStatus.FAILED, error=error)
            else:
                error = "the server stopped during the recording"
                if self.path(rec).is_file():
                    error += "; the file plays up to its last complete fragment"
                await self._end(rec, RecordingStatus.FAILED, error=error)
        with contextlib.suppress(OSError):
            kept = {path for output in alive for path in _temporaries(output)}
            for suffix in _TEMPORARY_SUFFIXES:
                for path in self.settings.directory.glob(f"rec_*.mp4{suffix}"):
                    if path not in kept:
                        path.unlink(missing_ok=True)
        return len(left)

    def _final_of(self, rec: RecordingRecord) -> dict[str, Any]:
        """The final event in the recording's sidecar, or ``{}``."""
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(self._sidecar(rec).read_text())
            if isinstance(loaded, dict):
                return loaded
        return {}

    async def _adopt(self, rec: RecordingRecord, pid: int) -> None:
        logger.info(
            "recording %s: its recorder (pid %d) outlived the server and is finishing the file",
            rec.id,
            pid,
        )
        orphan = OrphanRecorder(pid, self.path(rec))
        run = _Run(rec.id, rec.room_id, rec.meeting_id, orphan, self.path(rec))
        run.stop_requested = True
        run.became_active = rec.started_at is not None
        run.finishing_bytes = _finishing_bytes(run.output)
        run.kill_at = self._clock.now() + timedelta(seconds=self.settings.stop_timeout)
        self._runs[rec.id] = run
        if rec.status is not RecordingStatus.ENDING:
            rec.status = RecordingStatus.ENDING
            await self._save(rec, "recording.updated")
        run.task = asyncio.create_task(self._watch(run), name=f"recorder-{rec.id}")
        run.killer = asyncio.create_task(self._kill_when_stuck(run))

    async def shutdown(self, deadline: float = 20.0) -> None:
        """Stop every recording and give the recorders ``deadline`` seconds to finish."""
        self._stopping.set()
        # A previous server's recorders were never this one's to stop: they go on finishing
        # their files, and the next start follows them.
        followed: list[asyncio.Task[None]] = []
        for run in list(self._runs.values()):
            orphan = run.adopted
            if orphan is None:
                continue
            for task in (run.task, run.killer):
                if task is not None:
                    task.cancel()
                    followed.append(task)
            orphan.forget()
            self._runs.pop(run.recording_id, None)
        await asyncio.gather(*followed, return_exceptions=True)
        runs = list(self._runs.values())
        for run in runs:
            if not run.stop_requested:
                await self._request_stop(run)
        tasks = [run.task for run in runs if run.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=deadline)
            for run in runs:
                if run.task in pending:
                    run.process.kill()
            if pending:
                await asyncio.wait(pending, timeout=5)
        if self._background:
            await asyncio.wait(set(self._background), timeout=5)


#: What a recorder writes beside its MP4 before moving it into place: the faststart copy
#: (:func:`recorder.writer.remux_faststart`) and the sidecar in the making.
_TEMPORARY_SUFFIXES = (".faststart.tmp", ".json.tmp")


def _temporaries(output: Path) -> list[Path]:
    return [output.with_name(output.name + suffix) for suffix in _TEMPORARY_SUFFIXES]


def _finishing_bytes(output: Path) -> int:
    """Bytes in the recorder's files: they grow while it finishes (the MP4 while the last
    frames are encoded, then its faststart copy)."""
    total = 0
    for path in (output, *_temporaries(output)):
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    return total


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value >= 0 else None
