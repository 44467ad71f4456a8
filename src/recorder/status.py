"""What the recorder tells the server: one JSON object per line on its status stream
(stdout), and the final event also in a sidecar ``<output>.json`` written atomically, so a
server that restarted can learn how a recording ended.

    {"event": "active", "started_at": "2026-03-01T09:00:00.000Z"}
    {"event": "progress", "duration_s": 12.3, "size_bytes": 123456}
    {"event": "ending"}
    {"event": "complete", "duration_s": 60.0, "size_bytes": 9876543, "reason": "stopped"}
    {"event": "failed", "error": "disk full: ...", "duration_s": 3.0, "size_bytes": 300000}
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TextIO

__all__ = [
    "Active",
    "Complete",
    "Ending",
    "Event",
    "Failed",
    "Progress",
    "StatusWriter",
    "sidecar_path",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    name: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.name, **dataclasses.asdict(self)}


@dataclass(frozen=True, slots=True)
class Active(Event):
    """Joined, and the first video frame is in the file."""

    name: ClassVar[str] = "active"
    #: ISO 8601 UTC time the recording's timeline starts at.
    started_at: str


@dataclass(frozen=True, slots=True)
class Progress(Event):
    name: ClassVar[str] = "progress"
    duration_s: float
    size_bytes: int


@dataclass(frozen=True, slots=True)
class Ending(Event):
    """Finalization has started."""

    name: ClassVar[str] = "ending"


@dataclass(frozen=True, slots=True)
class Complete(Event):
    name: ClassVar[str] = "complete"
    duration_s: float
    size_bytes: int
    #: ``stopped``, ``meeting_ended`` or ``max_duration``
    reason: str


@dataclass(frozen=True, slots=True)
class Failed(Event):
    name: ClassVar[str] = "failed"
    #: For people: ``disk full: ...``, ``could not join: ...``
    error: str
    duration_s: float
    size_bytes: int


def sidecar_path(output: Path) -> Path:
    return output.with_name(output.name + ".json")


class StatusWriter:
    """Writes events to ``stream``; a reader that went away is not an error."""

    def __init__(self, stream: TextIO, output: Path) -> None:
        self.stream = stream
        self.output = output

    def emit(self, event: Event) -> None:
        line = json.dumps(event.to_dict(), separators=(",", ":"))
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError, OSError) as exc:
            logger.warning("status stream gone (%s): %s", exc, line)

    def final(self, event: Complete | Failed) -> Complete | Failed:
        """The last event: into the sidecar first (atomically), then on the stream; returns
        what was sent. A recording is complete only with its sidecar saying so (a server
        that restarts learns its end from nothing else): when the sidecar cannot be written
        (a full disk refuses even that), a ``complete`` goes out as ``failed``."""
        target = sidecar_path(self.output)
        tmp = target.with_name(target.name + ".tmp")
        try:
            tmp.write_text(json.dumps(event.to_dict()) + "\n")
            os.replace(tmp, target)
        except OSError as exc:
            logger.error("could not write %s: %s", target, exc)
            with contextlib.suppress(OSError):
                tmp.unlink()
            if isinstance(event, Complete):
                why = "disk full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "error"
                event = Failed(
                    f"{why}: could not write {target.name}: {exc.strerror or exc} (the file "
                    "is kept and plays)",
                    event.duration_s,
                    event.size_bytes,
                )
        self.emit(event)
        return event
