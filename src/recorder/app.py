"""The asyncio side of the recorder: join the meeting with :class:`signaling.client.MeetboxClient`,
route decoded frames to the compositor and mixer, pace the timeline, hand jobs to the encoder
thread, read ``stop`` from the control stream and report status.

Everything that decides (layout, timeline, roster, mixing) lives in sans-I/O modules; this
one only moves data between them and the sockets, pipes and threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import av
import numpy as np
import numpy.typing as npt

from recorder.compositor import Compositor, Scene
from recorder.errors import RecordingFailed
from recorder.layout import Glide, Layout, compute_layout
from recorder.mixer import RATE, Mixer
from recorder.roster import Roster
from recorder.status import Active, Complete, Ending, Failed, Progress, StatusWriter
from recorder.timeline import StopReason, Timeline
from recorder.worker import EncodeWorker, Job
from recorder.writer import MediaWriter, probe_duration, remux_faststart
from signaling.client import MeetboxClient
from signaling.recordings.contract import RecorderCommand
from signaling.wire import Bye, ParticipantLeft, ServerMessage

__all__ = ["Recorder"]

logger = logging.getLogger(__name__)

#: Seconds to join the meeting before giving up.
JOIN_TIMEOUT = 20.0
#: Seconds to leave the meeting cleanly before finishing the file anyway.
LEAVE_TIMEOUT = 5.0
#: Most audio kept back while the encoder is busy (beyond it, the oldest is dropped).
MAX_CARRY_SAMPLES = RATE * 5


def _disk_error(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"disk full: {exc.strerror or exc}"
    return f"encoding failed: {exc}"


class Recorder:
    """One recording, from joining to the final event. ``clock``: monotonic seconds."""

    def __init__(
        self,
        options: RecorderCommand,
        status: StatusWriter,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``options``: the command line, with ``output`` resolved and ``token`` set."""
        self.options = options
        self.layout = Layout(options.layout.value)
        self.status = status
        self.clock = clock
        self.timeline = Timeline(options.fps, RATE, options.max_seconds)
        self.compositor = Compositor(options.width, options.height)
        self.mixer = Mixer()
        #: Joins, leaves and speaker changes re-layout with a short glide, not a jump.
        self.glide = Glide()
        self.roster: Roster | None = None
        self._wake = asyncio.Event()
        self._carry: list[npt.NDArray[np.float32]] = []
        self.dropped_slots = 0

    def request_stop(self, reason: StopReason) -> None:
        """Finish the recording with ``reason`` (the first request wins)."""
        self.timeline.request_stop(reason)
        self._wake.set()

    # -- from the client, on the loop -------------------------------------------------------

    def _on_message(self, message: ServerMessage) -> None:
        if self.roster is None:
            return
        # The roster reads JSON objects (as the wire has them).
        for track in self.roster.handle(message.model_dump(mode="json")):
            if track.kind == "audio":
                self.mixer.remove(track.id)
            else:
                self.compositor.forget(track.participant_id, track.source)
        if isinstance(message, ParticipantLeft):
            self.compositor.forget(message.participant_id)
        elif isinstance(message, Bye):
            logger.info("the server said bye (%s)", message.reason)
            self.request_stop(StopReason.MEETING_ENDED)

    def _on_frame(
        self, track_id: str, participant_id: str, frame: av.VideoFrame | av.AudioFrame
    ) -> None:
        roster = self.roster
        if roster is None or not roster.shown(participant_id):
            return
        if isinstance(frame, av.VideoFrame):
            source = roster.source_of(track_id, "video")
            self.compositor.push(participant_id, source, frame, self.clock())
        elif not roster.muted(participant_id, "audio"):
            self.mixer.push(track_id, frame)

    # -- the run ---------------------------------------------------------------------------

    async def run(self) -> int:
        """Record until stopped; returns the exit code (0 complete, 1 failed)."""
        client = MeetboxClient(
            self.options.ws_url,
            self.options.token or "",
            keep_messages=False,
            instrument=False,
            on_message=self._on_message,
            on_frame=self._on_frame,
        )
        try:
            async with asyncio.timeout(JOIN_TIMEOUT):
                await client.connect()
        except Exception as exc:
            await self._leave(client)
            reason = "timed out" if isinstance(exc, TimeoutError) else str(exc) or repr(exc)
            self.status.final(Failed(f"could not join: {reason}", 0.0, 0))
            return 1
        joined = client.snapshot
        assert joined is not None  # connect() returned: admitted
        self.roster = Roster.from_joined(joined.model_dump(mode="json"))
        logger.info("joined meeting %s", joined.meeting_id)
        try:
            writer = await asyncio.to_thread(
                MediaWriter,
                self.options.output,
                self.options.width,
                self.options.height,
                self.options.fps,
                quota_bytes=self.options.quota_bytes,
                preset=self.options.preset,
                threads=self.options.threads,
            )
        except (OSError, av.FFmpegError) as exc:
            await self._leave(client)
            self.status.final(Failed(f"could not open the output: {exc}", 0.0, 0))
            return 1
        worker = EncodeWorker(self.compositor, writer)
        worker.start()
        error: str | None = None
        try:
            await self._record(client, worker)
        except RecordingFailed as exc:
            error = str(exc)
        except Exception as exc:
            logger.exception("recording failed")
            error = f"internal error: {exc}"
        self.status.emit(Ending())
        duration = round(self.timeline.media_duration(), 3)
        await self._leave(client)
        try:
            await asyncio.to_thread(worker.finish)  # drains the queue, finishes the file
        except Exception as exc:
            error = error or _disk_error(exc)
        if error is not None:
            size = await asyncio.to_thread(writer.abort)
            kept = await asyncio.to_thread(probe_duration, self.options.output)
            self.status.final(Failed(error, round(kept, 3) if kept is not None else 0.0, size))
            return 1
        size = writer.file.written
        try:
            size = await asyncio.to_thread(remux_faststart, self.options.output)
        except (OSError, av.FFmpegError) as exc:
            logger.warning("kept the fragmented file, the faststart remux failed: %s", exc)
        reason = self.timeline.stop_reason or StopReason.STOPPED
        sent = self.status.final(Complete(duration, size, reason.value))
        return 0 if isinstance(sent, Complete) else 1

    @staticmethod
    async def _leave(client: MeetboxClient) -> None:
        """Close the WebSocket and the peer connections (bounded: finishing matters more)."""
        try:
            async with asyncio.timeout(LEAVE_TIMEOUT):
                await client.close()
        except TimeoutError:
            logger.warning("leaving the meeting timed out")

    async def _record(self, client: MeetboxClient, worker: EncodeWorker) -> None:
        timeline = self.timeline
        roster = self.roster
        assert roster is not None
        options = self.options
        start = self.clock()
        started_at = datetime.now(UTC)
        timeline.begin(start)
        active = False
        while True:
            now = self.clock()
            tick = timeline.tick(now)
            if tick.skipped and logger.isEnabledFor(logging.DEBUG):
                logger.debug("late by %d slots at %.3f s", tick.skipped, now - start)
            if worker.error is not None:
                raise RecordingFailed(_disk_error(worker.error))
            scene = None
            if tick.video_pts is not None:
                tiles = self.glide.step(
                    compute_layout(
                        roster.people(),
                        roster.active_speaker,
                        self.layout,
                        options.width,
                        options.height,
                    ),
                    now,
                )
                nicknames = {pid: m.nickname for pid, m in roster.members.items()}
                video_off = {pid for pid in roster.members if roster.muted(pid, "video")}
                scene = self.compositor.scene(tiles, nicknames, now, video_off)
            self._offer(worker, scene, tick.video_pts, self.mixer.pull(tick.audio_samples))
            if not active and worker.video_frames > 0:
                active = True
                iso = started_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
                self.status.emit(Active(iso))
            if tick.progress:
                self.status.emit(
                    Progress(round(timeline.media_duration(), 3), worker.bytes_written)
                )
                logger.debug(
                    "encoder busy %.0f%%, slowest job %.1f ms, %d slots skipped; "
                    "CPU s: process %.1f, encoder thread %.1f",
                    worker.busy_s / timeline.progress_every * 100,
                    worker.slowest_s * 1000,
                    timeline.skipped + self.dropped_slots,
                    time.process_time(),
                    worker.cpu_s,
                )
                worker.busy_s = worker.slowest_s = 0.0
            if tick.check_disk and options.min_free_bytes > 0:
                self._check_disk()
            if client.closed_with is not None:
                self.request_stop(StopReason.MEETING_ENDED)
            if tick.stop is not None:
                logger.info(
                    "stopping (%s) after %d frames, %d slots skipped",
                    tick.stop,
                    timeline.frames,
                    timeline.skipped + self.dropped_slots,
                )
                return
            # A hair past the slot: loop timers may fire up to a millisecond early.
            delay = timeline.next_deadline() + 0.002 - self.clock()
            if delay > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
            else:
                await asyncio.sleep(0)  # late: let the loop breathe, the slot is skipped

    def _offer(
        self,
        worker: EncodeWorker,
        scene: Scene | None,
        video_pts: int | None,
        audio: npt.NDArray[np.float32],
    ) -> None:
        """Hand a job to the encoder; when it is busy, drop the video slot and keep the
        audio for the next job (bounded). Audio alone waits for the next video slot."""
        if self._carry:
            self._carry.append(audio)
            audio = np.concatenate(self._carry)
        if video_pts is None and len(audio) < RATE // 10:
            self._carry = [audio] if len(audio) else []
            return
        if worker.offer(Job(scene, video_pts, audio)):
            self._carry.clear()
            return
        if video_pts is not None:
            self.dropped_slots += 1
            logger.debug("encoder busy: video slot %d dropped", video_pts)
        if len(audio) > MAX_CARRY_SAMPLES:
            logger.warning("encoder far behind: %d audio samples dropped", len(audio))
            audio = audio[-MAX_CARRY_SAMPLES:]
        self._carry = [audio] if len(audio) else []

    def _check_disk(self) -> None:
        directory = self.options.output.parent
        try:
            free = shutil.disk_usage(directory).free
        except OSError as exc:
            logger.warning("could not read free space of %s: %s", directory, exc)
            return
        if free < self.options.min_free_bytes:
            raise RecordingFailed(
                f"disk full: {free} bytes free in {directory}, "
                f"below the minimum of {self.options.min_free_bytes}"
            )


async def _read_control(reader: asyncio.StreamReader, recorder: Recorder) -> None:
    """``stop`` lines, and the end of the stream, stop the recording."""
    while True:
        line = await reader.readline()
        if not line:
            logger.info("control stream closed: stopping")
            break
        command = line.strip().decode(errors="replace")
        if command == "stop":
            break
        if command:
            logger.warning("unknown control command %r", command[:40])
    recorder.request_stop(StopReason.STOPPED)


async def _control_reader(fd: int) -> asyncio.StreamReader:
    """A stream on ``fd``: a pipe through the loop, anything else through a thread."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=4096)
    try:
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
        )
    except ValueError:  # a regular file or a terminal: read it in a thread

        def pump() -> None:
            while data := os.read(fd, 4096):
                loop.call_soon_threadsafe(reader.feed_data, data)
            loop.call_soon_threadsafe(reader.feed_eof)

        threading.Thread(target=pump, name="recorder-control", daemon=True).start()
    return reader


async def run(options: RecorderCommand, status: StatusWriter, control_fd: int = 0) -> int:
    """Run one recording controlled through ``control_fd``; returns the exit code."""
    recorder = Recorder(options, status)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, recorder.request_stop, StopReason.STOPPED)
    reader = await _control_reader(control_fd)
    control = asyncio.create_task(_read_control(reader, recorder))
    try:
        return await recorder.run()
    finally:
        control.cancel()
        await asyncio.gather(control, return_exceptions=True)
