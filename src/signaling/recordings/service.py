"""Recordings: the service that ties the concept together.

Each recording is one ``python -m recorder`` process (see :mod:`recorder`), which joins the
meeting as a hidden participant with a token made for that recording, and reports on its
stdout as typed status events (:mod:`signaling.recordings.contract`: ``active``, ``progress``,
``ending``, then ``complete`` or ``failed``). This service turns those reports into the
recording's status in the store (:mod:`~signaling.recordings.transitions`, pure),
``recording.*`` webhook events and ``recording`` messages to the meeting. A process that
exits without a last word failed; the file it wrote (fragmented MP4) stays playable up to
its last fragment. The rest is in its own module:

- :mod:`~signaling.recordings.access`: who may see, download, share and manage what
  (pure); :mod:`~signaling.recordings.gate`: those rules applied with the store.
- :mod:`~signaling.recordings.transitions`: the state machine.
- :mod:`~signaling.recordings.supervisor`: the runs, their deadlines, shutdown;
  :mod:`~signaling.recordings.processes` and :mod:`~signaling.recordings.orphans`: the
  recorder processes (this server's, and a previous one's).
- :mod:`~signaling.recordings.files`: paths, temporaries, sizes, zips.

The HTTP view of a recording is the edge's (:mod:`signaling.api.recordings_view`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from signaling.api.schemas import RecordingLayout, RecordingPreset, RecordingStart
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
from signaling.recordings import transitions
from signaling.recordings.access import ADMIN, Viewer
from signaling.recordings.contract import RecorderCommand, RecorderLayout
from signaling.recordings.files import RecordingFiles
from signaling.recordings.following import Follower
from signaling.recordings.gate import Gate, RecordingsStore
from signaling.recordings.processes import (
    RecorderLauncher,
    RecorderProcess,
    SubprocessLauncher,
    recorder_environment,
)
from signaling.recordings.supervisor import Run, Supervisor
from signaling.recordings.transitions import NOTHING_RECORDED, Outcome
from signaling.rooms.service import RoomService
from signaling.store import Page, StoreFull
from signaling.tokens import issue_participant_token, new_secret, sha256_hex
from signaling.wire import RecordingState

__all__ = [
    "ADMIN",
    "NOTHING_RECORDED",
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
#: How long the recorder's own participant token may wait to be used.
RECORDER_TOKEN_TTL = timedelta(minutes=2)
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


class RecordingService:
    def __init__(
        self,
        store: RecordingsStore,
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
        self._settings = settings
        self._key = token_key
        self._public_url = public_url.rstrip("/")
        self._gate = Gate(store, rooms, clock, token_key, self._public_url)
        self.launcher = launcher or SubprocessLauncher()
        #: The server's own signaling URL on loopback, for recorders (set once it listens).
        self.ws_url: str | None = None
        self.files = RecordingFiles(settings.directory)
        self._supervisor = Supervisor(clock, self.files, lambda: self._settings.stop_timeout)
        self._runs = self._supervisor.runs
        self._lock = asyncio.Lock()
        #: Called after webhook events were written to the outbox (wakes the deliverer).
        self.outbox_written: Callable[[], None] = lambda: None
        #: Seconds between tries to save a recording's end on a full disk.
        self.end_retry_interval = END_RETRY_INTERVAL
        self._follower = Follower(
            store,
            meetings,
            clock,
            self.files,
            self._supervisor,
            self._lock,
            self._gate,
            outbox_written=lambda: self.outbox_written(),
            retry_interval=lambda: self.end_retry_interval,
        )
        self._supervisor.handler = self._follower

    @property
    def settings(self) -> RecordingSettings:
        return self._settings

    @settings.setter
    def settings(self, settings: RecordingSettings) -> None:
        self._settings = settings
        self.files.directory = settings.directory

    @property
    def public_url(self) -> str:
        """Where the API is served, without a trailing slash."""
        return self._public_url

    @property
    def links(self) -> Gate:
        """Where recordings are served and the media access players get (what
        :func:`signaling.api.recordings_view.represent` needs)."""
        return self._gate

    @property
    def running(self) -> int:
        """Recorder processes under way."""
        return len(self._runs)

    def path(self, rec: RecordingRecord) -> Path:
        return self.files.path(rec)

    # -- who may do what (see :class:`~signaling.recordings.gate.Gate`) --------------------

    async def check_media_access(self, recording_id: str, access: str) -> bool:
        return await self._gate.check_media_access(recording_id, access)

    async def viewer_for_link(self, secret: str) -> Viewer:
        return await self._gate.viewer_for_link(secret)

    async def viewer_for_share(self, recording_id: str, secret: str) -> Viewer:
        return await self._gate.viewer_for_share(recording_id, secret)

    # -- queries ---------------------------------------------------------------------------

    async def get(self, recording_id: str, viewer: Viewer = ADMIN) -> RecordingRecord:
        rec = await self._store.get_recording(recording_id)
        if rec is None:
            raise NotFound(f"no recording with id {recording_id!r}")
        await self._gate.require_see(viewer, rec)
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
            if not await self._gate.may_see(viewer, room_id, None):
                raise Forbidden("this link does not give access to the room's recordings")
        page: Page[RecordingRecord] = await self._store.list_recordings(
            room_id, statuses, limit, decode_cursor(cursor)
        )
        return page.items, encode_cursor(page.next_after) if page.next_after else None

    async def wait_for(self, recording_id: str, *statuses: RecordingStatus) -> RecordingRecord:
        """Until the recording has one of ``statuses`` (for tests and tools; bound it with a
        timeout)."""
        changed = self._follower.changed
        async with changed:
            while True:
                rec = await self.get(recording_id)
                if rec.status in statuses:
                    return rec
                await changed.wait()

    def under_way(self, room_id: str) -> RecordingState | None:
        live = self._meetings.live(room_id)
        return None if live is None else live.recording

    async def has_recordings(self, room_id: str) -> bool:
        return await self._store.count_recordings(room_id) > 0

    # -- starting and stopping -------------------------------------------------------------

    async def start(
        self, room_id: str, spec: RecordingStart | None = None, viewer: Viewer = ADMIN
    ) -> RecordingRecord:
        spec = spec or RecordingStart()
        self._gate.require_manage(viewer, room_id)
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
            self.files.check_space(self.settings.min_free_bytes)
            return await self._launch(room, live.core.id, spec, self.ws_url)

    async def _launch(
        self, room: RoomRecord, meeting_id: str, spec: RecordingStart, ws_url: str
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
        await self._follower.save(rec, "recording.started")
        self._follower.tell(rec)
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
        command = RecorderCommand(
            ws_url=ws_url,
            output=self.path(rec),
            layout=RecorderLayout(layout.value),
            width=width,
            height=height,
            fps=self.settings.fps,
            max_seconds=int(self.settings.max_duration.total_seconds()),
            min_free_bytes=self.settings.min_free_bytes // 4,
        )
        try:
            process = await self.launcher.launch(command, token)
        except OSError as exc:
            failed = Outcome(RecordingStatus.FAILED, error=f"the recorder did not start: {exc}")
            await self._follower.end(rec, failed)
            raise ServiceUnavailable(f"the recorder could not be started: {exc}") from None
        self._supervisor.follow(Run(recording_id, room.id, meeting_id, process, self.path(rec)))
        logger.info("room %s: recording %s starting (%s, %dp)", room.id, rec.id, layout, height)
        return rec

    async def stop(self, recording_id: str, viewer: Viewer = ADMIN) -> RecordingRecord:
        # Not ``get(recording_id, viewer)``: a room's moderators may stop its recording even
        # where ``access`` keeps them from watching it. But another room's link gets the 404
        # of a recording that does not exist, as everywhere else: no telling it exists.
        rec = await self.get(recording_id)
        if viewer.room_id is not None and viewer.room_id != rec.room_id:
            raise NotFound(f"no recording with id {recording_id!r}")
        self._gate.require_manage(viewer, rec.room_id)
        run = self._runs.get(recording_id)
        if run is None or run.state.finished:
            raise Conflict(f"recording {recording_id!r} is not under way (it is {rec.status})")
        if not run.state.stop_requested:
            await self._request_stop(run)
        return await self.get(recording_id)

    async def stop_room(self, room_id: str, viewer: Viewer = ADMIN) -> RecordingRecord:
        state = self.under_way(room_id)
        if state is None:
            raise Conflict("the meeting is not being recorded")
        return await self.stop(state.recording_id, viewer)

    async def _request_stop(self, run: Run) -> None:
        self._supervisor.request_stop(run)
        async with self._lock:
            rec = await self._store.get_recording(run.recording_id)
            if rec is not None and transitions.begin_stop(rec):
                try:
                    await self._follower.save(rec, "recording.updated")
                except StoreFull as exc:  # it is stopping all the same; its end is saved later
                    logger.warning("recording %s: ending not saved: %s", rec.id, exc.message)
                    return
                self._follower.tell(rec)

    def check_stop_deadlines(self) -> None:
        """Kill the recorders asked to stop that are past their deadline and stuck (see
        :class:`~signaling.recordings.supervisor.StopDeadline`)."""
        self._supervisor.check_stop_deadlines()

    def meeting_started(self, room_id: str) -> None:
        """Start recording if the room says so (``config.recording.auto_start``)."""
        self._supervisor.spawn(self._auto_start(room_id))

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
            state = run.state
            if (
                run.meeting_id == meeting_id
                and not state.became_active
                and not state.stop_requested
            ):
                self._supervisor.spawn(self._request_stop(run))

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
        self._gate.require_manage(viewer, rec.room_id)
        if rec.status.live or recording_id in self._runs:
            raise Conflict("the recording is under way: stop it first")
        await self._store.delete_recording(rec.id)
        self.files.remove_all(rec)
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

    async def share(self, recording_id: str, viewer: Viewer = ADMIN) -> str:
        """A new share link (any earlier one stops working)."""
        rec = await self.get(recording_id, viewer)
        self._gate.require_manage(viewer, rec.room_id)
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
        self._gate.require_manage(viewer, rec.room_id)
        async with self._lock:
            current = await self._store.get_recording(recording_id)
            if current is not None and current.share_hash is not None:
                current.share_hash = None
                await self._store.save_recording(current)

    # -- restart and shutdown --------------------------------------------------------------

    async def recover(self) -> int:
        """Close the recordings a previous process left under way, or follow their
        recorders still finishing (see :meth:`Follower.recover`)."""
        return await self._follower.recover()

    async def shutdown(self, deadline: float = 20.0) -> None:
        """Stop every recording and give the recorders ``deadline`` seconds to finish."""
        self._supervisor.stopping.set()
        await self._supervisor.let_go_of_adopted()
        runs = list(self._runs.values())
        for run in runs:
            if not run.state.stop_requested:
                await self._request_stop(run)
        await self._supervisor.wait_for(runs, deadline)
