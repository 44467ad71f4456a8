"""Following recorders: what their reports, their exits and a restart do to their
recordings. The decisions are :mod:`~signaling.recordings.transitions`' (pure); this module
saves the record with its ``recording.*`` webhook event, tells the meeting (``recording``
messages) and wakes whoever waits for a status. It is the supervisor's
:class:`~signaling.recordings.supervisor.RunHandler`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from signaling.api.recordings_view import MediaLinks, admin_view
from signaling.clock import Clock
from signaling.meetings.service import MeetingService
from signaling.models import RecordingRecord, RecordingStatus
from signaling.recordings import transitions
from signaling.recordings.contract import Event
from signaling.recordings.files import RecordingFiles, temporaries
from signaling.recordings.orphans import find_recorders
from signaling.recordings.supervisor import Run, Supervisor
from signaling.recordings.transitions import Effect, Outcome
from signaling.store import RecordingStore, StoreFull
from signaling.webhooks.events import event
from signaling.wire import RecordingState

__all__ = ["UNDER_WAY", "Follower"]

logger = logging.getLogger(__name__)

#: The statuses of recordings under way.
UNDER_WAY = [RecordingStatus.STARTING, RecordingStatus.ACTIVE, RecordingStatus.ENDING]


class Follower:
    """Shares the service's lock: a report and a start or stop never interleave."""

    def __init__(
        self,
        store: RecordingStore,
        meetings: MeetingService,
        clock: Clock,
        files: RecordingFiles,
        supervisor: Supervisor,
        lock: asyncio.Lock,
        links: MediaLinks,
        *,
        outbox_written: Callable[[], None],
        retry_interval: Callable[[], float],
    ) -> None:
        self._store = store
        self._meetings = meetings
        self._clock = clock
        self._files = files
        self._supervisor = supervisor
        self._lock = lock
        self._links = links
        self._outbox_written = outbox_written
        self._retry_interval = retry_interval
        #: Notified after each saved status change (see ``RecordingService.wait_for``).
        self.changed = asyncio.Condition()

    async def on_report(self, run: Run, report: Event) -> None:
        try:
            async with self._lock:
                rec = await self._store.get_recording(run.recording_id)
                if rec is None:
                    return
                step = run.state.on_report(rec, report, self._clock.now())
                if isinstance(step, Outcome):
                    await self.conclude(run, rec, step)
                elif step is Effect.QUIET:
                    await self._store.save_recording(rec)
                elif step is Effect.UPDATED:
                    await self.save(rec, "recording.updated")
                    self.tell(rec)
                    if report.name == "active":
                        logger.info("recording %s: active", rec.id)
        except StoreFull as exc:
            logger.warning("recording %s: report not saved: %s", run.recording_id, exc)

    async def on_exit(self, run: Run, code: int) -> None:
        for path in temporaries(run.output):  # it died before moving them into place
            path.unlink(missing_ok=True)
        async with self._lock:
            rec = await self._store.get_recording(run.recording_id)
            if rec is None or not rec.status.live:
                return
            await self.conclude(run, rec, run.state.on_exit(code))

    async def after_exit(self, run: Run) -> None:
        """Try again every ``end_retry_interval`` s until the end is saved (with its webhook
        event), or the server stops: the next start then closes it (``recover``)."""
        stopping = self._supervisor.stopping
        while run.unsaved_end is not None and not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._retry_interval()):
                    await stopping.wait()
            rec, outcome = run.unsaved_end
            async with self._lock:
                current = await self._store.get_recording(run.recording_id)
                if current is None or not current.status.live:
                    return
                with contextlib.suppress(StoreFull):
                    await self.end(rec, outcome)
                    run.unsaved_end = None

    async def conclude(self, run: Run, rec: RecordingRecord, outcome: Outcome) -> None:
        """End the recording; on a full disk, remember how, to save it once there is room
        (see :meth:`after_exit`)."""
        try:
            await self.end(rec, outcome)
        except StoreFull as exc:
            logger.warning(
                "recording %s: its end (%s) could not be saved yet: %s",
                rec.id,
                outcome.status.value,
                exc.message,
            )
            run.unsaved_end = (rec, outcome)

    async def end(self, rec: RecordingRecord, outcome: Outcome) -> None:
        outcome = transitions.end(rec, outcome, self._clock.now())
        if outcome.status is RecordingStatus.ABORTED:
            # Nothing was recorded: what the recorder opened holds no frame, not worth keeping.
            self._files.remove_media(rec)
        size = self._files.size_of(rec)
        if size is not None:
            rec.size_bytes = size
        await self.save(rec, "recording.ended")
        self.tell(rec)
        error = outcome.error
        logger.info(
            "recording %s: %s%s", rec.id, outcome.status.value, f" ({error})" if error else ""
        )

    async def save(self, rec: RecordingRecord, event_type: str) -> None:
        # The webhook payload is the REST view of the recording (an administrator's), built
        # by the HTTP edge: this is the service's one call into it.
        data = admin_view(rec, self._links)
        await self._store.save_recording(
            rec, [event(event_type, rec.room_id, data, self._clock.now())]
        )
        self._outbox_written()
        await self.notify()

    def tell(self, rec: RecordingRecord) -> None:
        self._meetings.set_recording(
            rec.room_id,
            rec.meeting_id,
            RecordingState(recording_id=rec.id, status=rec.status.value, error=rec.error),
        )

    async def notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def recover(self) -> int:
        """Close recordings a previous process left under way: complete if its recorder
        finished the file (its sidecar says so), failed otherwise; the file stays. A
        recorder still finishing its file (it outlived its server) is followed instead, as
        if it were this server's: the recording stays ``ending`` until it exits, then ends
        as its sidecar says (one ``recording.ended``, the right one); it is killed, the
        recording failed, only if its files stop growing for ``stop_timeout``. And remove
        the temporary files of recorders that are gone."""
        left: list[RecordingRecord] = []
        after: tuple[str, str] | None = None
        while True:  # every one of them, a page at a time
            page = await self._store.list_recordings(None, UNDER_WAY, 500, after)
            left += page.items
            if page.next_after is None:
                break
            after = page.next_after
        finals = {rec.id: self._files.final_of(rec) for rec in left}
        unsure = [self._files.path(rec) for rec in left if finals[rec.id] is None]
        alive = await asyncio.to_thread(find_recorders, unsure)
        for rec in left:
            final = finals[rec.id]
            if final is not None and final.duration_s is not None:
                rec.duration_s = round(final.duration_s, 3)
            path = self._files.path(rec)
            if path in alive:
                await self.adopt(rec, alive[path])
            else:
                await self.end(rec, transitions.outcome_of_sidecar(final, path.is_file()))
        self._files.remove_leftovers(keep=alive)
        return len(left)

    async def adopt(self, rec: RecordingRecord, pid: int) -> None:
        logger.info(
            "recording %s: its recorder (pid %d) outlived the server and is finishing the file",
            rec.id,
            pid,
        )
        run = self._supervisor.adopt(rec, pid, self._files.path(rec))
        if transitions.adopt(rec):
            await self.save(rec, "recording.updated")
        self._supervisor.follow(run)
