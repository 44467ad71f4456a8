"""The costly half of recording, in a thread of its own so the event loop that receives
WebRTC never waits on it: render the composited picture, encode, mux.

The loop :meth:`~EncodeWorker.offer`\\ s jobs into a queue of two; when the queue is full the
job is refused and the loop drops that video slot (and keeps its audio for the next job).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from recorder.compositor import Compositor, Scene
from recorder.writer import MediaWriter

__all__ = ["EncodeWorker", "Job"]

logger = logging.getLogger(__name__)

#: Jobs waiting at most: one being encoded plus these.
QUEUE_DEPTH = 2


@dataclass(frozen=True, slots=True)
class Job:
    #: The picture to render for video slot ``video_pts``, if a slot is due.
    scene: Scene | None
    video_pts: int | None
    #: (n, 2) float audio samples following the previous job's.
    audio: npt.NDArray[np.float32]


class EncodeWorker:
    def __init__(self, compositor: Compositor, writer: MediaWriter) -> None:
        self.compositor = compositor
        self.writer = writer
        #: Set when the thread stopped on an error; the recording has failed.
        self.error: BaseException | None = None
        self._jobs: queue.Queue[Job | None] = queue.Queue(QUEUE_DEPTH)
        #: Seconds spent on jobs, and the slowest job (for the logs; reset by the reader).
        self.busy_s = 0.0
        self.slowest_s = 0.0
        #: CPU seconds the thread has used.
        self.cpu_s = 0.0
        self._thread = threading.Thread(target=self._run, name="recorder-encode", daemon=True)

    @property
    def video_frames(self) -> int:
        """Video frames encoded so far."""
        return self.writer.video_frames

    @property
    def bytes_written(self) -> int:
        return self.writer.file.written

    def start(self) -> None:
        self._thread.start()

    def offer(self, job: Job) -> bool:
        """Queue ``job`` unless the queue is full (or the worker has failed)."""
        if self.error is not None:
            return False
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            return False
        return True

    def finish(self) -> None:
        """Blocking: encode what is queued, finish the file, stop the thread. Raises what
        stopped the worker, if anything did."""
        while self._thread.is_alive():
            try:
                self._jobs.put(None, timeout=0.2)  # the thread may die with the queue full
                break
            except queue.Full:
                continue
        self._thread.join()
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        try:
            while True:
                job = self._jobs.get()
                if job is None:
                    break
                started = time.perf_counter()
                if len(job.audio):
                    self.writer.write_audio(job.audio)
                if job.scene is not None and job.video_pts is not None:
                    frame = self.compositor.video_frame(job.scene)
                    self.writer.write_video(frame, job.video_pts)
                took = time.perf_counter() - started
                self.cpu_s = time.thread_time()
                self.busy_s += took
                self.slowest_s = max(self.slowest_s, took)
            self.writer.finish()
        except BaseException as exc:
            self.error = exc
            logger.debug("encoder thread stopped", exc_info=True)
