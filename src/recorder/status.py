"""The recorder's side of its status stream: events (the server's contract,
:mod:`signaling.recordings.contract`) as JSON lines on stdout, and the final one also in a
sidecar ``<output>.json`` written atomically, so a server that restarted can learn how a
recording ended.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
from pathlib import Path
from typing import TextIO

from signaling.recordings.contract import (
    Active,
    Complete,
    Ending,
    Event,
    Failed,
    Progress,
    sidecar_path,
)

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


class StatusWriter:
    """Writes events to ``stream``; a reader that went away is not an error."""

    def __init__(self, stream: TextIO, output: Path) -> None:
        self.stream = stream
        self.output = output

    def emit(self, event: Event) -> None:
        line = event.to_line()
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
