"""The contract between the server and ``python -m recorder``, typed for both sides: the
command line the server spawns it with, and the status events it reports, one JSON object a
line on its stdout (the final one also in the ``<output>.json`` sidecar)::

    python -m recorder --ws-url ws://127.0.0.1:8080/ws --output /path/ID.mp4 \\
        --layout grid --width 1280 --height 720 --fps 30 \\
        [--max-seconds N] [--quota-bytes N] --min-free-bytes N

    {"event": "active", "started_at": "2026-03-01T09:00:00.000Z"}
    {"event": "progress", "duration_s": 12.3, "size_bytes": 123456}
    {"event": "ending"}
    {"event": "complete", "duration_s": 60.0, "size_bytes": 9876543, "reason": "stopped"}
    {"event": "failed", "error": "disk full: ...", "duration_s": 3.0, "size_bytes": 300000}

The token travels in ``MEETBOX_RECORDER_TOKEN`` (``--token`` also works, but ``ps`` shows
it). Control goes the other way on stdin: ``stop``, or EOF.

The server owns the contract and the recorder (:mod:`recorder.cli`, :mod:`recorder.status`)
implements it: this module imports nothing of :mod:`recorder` (the server never imports that
package, nor PyAV or numpy), only the standard library and :mod:`signaling.errors`.

Errors, one root (under :class:`signaling.errors.SignalingError`)::

    ContractError (ValueError)
    ├── CommandLineError   the argv is not a recorder command line
    └── ReportError        a status line is not a report: garbled, too long, unknown event
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, NoReturn

from signaling.errors import SignalingError

__all__ = [
    "LOG_LEVELS",
    "MAX_LINE_BYTES",
    "TOKEN_ENV",
    "Active",
    "CommandLineError",
    "Complete",
    "ContractError",
    "Ending",
    "Event",
    "Failed",
    "FinalEvent",
    "Progress",
    "RecorderCommand",
    "RecorderLayout",
    "ReportError",
    "parse_event",
    "parse_final",
    "parse_line",
    "sidecar_path",
]

#: Where the recorder finds its participant token (kept out of its command line).
TOKEN_ENV = "MEETBOX_RECORDER_TOKEN"
#: Longest status line (they are a few dozen bytes).
MAX_LINE_BYTES = 4096
LOG_LEVELS = ("debug", "info", "warning", "error")


class RecorderLayout(StrEnum):
    """The layouts the recorder draws (:class:`recorder.layout.Layout`)."""

    GRID = "grid"
    SPEAKER = "speaker"
    SINGLE_SPEAKER = "single_speaker"


class ContractError(SignalingError, ValueError):
    """Something on the recorder's command line or status stream breaks this contract."""


class CommandLineError(ContractError):
    """The argv is not a recorder command line (the message says which option and why)."""


class ReportError(ContractError):
    """A status line is not a report: not JSON, not an object, too long, an unknown event
    or a field of the wrong type."""


# -- the command line ------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CommandLineError(message)


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _parser() -> _Parser:
    parser = _Parser(
        prog="python -m recorder", description="Record a meetbox meeting into an MP4 file."
    )
    parser.add_argument("--ws-url", required=True, help="the server's signaling WebSocket")
    parser.add_argument("--token", help=f"participant token (default: ${TOKEN_ENV})")
    parser.add_argument("--output", required=True, type=Path, help="the MP4 file to write")
    layouts = [layout.value for layout in RecorderLayout]
    parser.add_argument("--layout", choices=layouts, default="grid")
    parser.add_argument("--width", type=_positive, default=1280)
    parser.add_argument("--height", type=_positive, default=720)
    parser.add_argument("--fps", type=_positive, default=30)
    parser.add_argument("--max-seconds", type=float, help="stop by itself after this long")
    parser.add_argument("--quota-bytes", type=_positive, help="fail as disk full beyond this")
    parser.add_argument(
        "--min-free-bytes", type=int, default=0, help="fail as disk full below this (0: off)"
    )
    parser.add_argument("--preset", default="superfast", help="libx264 preset")
    parser.add_argument("--threads", type=_positive, default=1, help="libx264 threads")
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="info")
    return parser


def _number_arg(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True, slots=True)
class RecorderCommand:
    """``python -m recorder``'s options. :meth:`to_argv` writes what the server passes (the
    tuning options only when they differ from their defaults, which the server never
    changes); :meth:`parse` reads any argv the recorder accepts."""

    #: The server's signaling WebSocket.
    ws_url: str
    #: The MP4 file to write (the sidecar goes beside it).
    output: Path
    layout: RecorderLayout = RecorderLayout.GRID
    width: int = 1280
    height: int = 720
    fps: int = 30
    #: Stop by itself (complete, ``max_duration``) after this many seconds.
    max_seconds: float | None = None
    #: Fail as disk full once the file is past this many bytes.
    quota_bytes: int | None = None
    #: Fail as disk full below this much free space (0: never).
    min_free_bytes: int = 0
    #: libx264 preset and threads.
    preset: str = "superfast"
    threads: int = 1
    log_level: str = "info"
    #: The participant token, if on the command line (the server puts it in ``TOKEN_ENV``).
    token: str | None = None

    def to_argv(self) -> list[str]:
        argv = ["--ws-url", self.ws_url]
        if self.token is not None:
            argv += ["--token", self.token]
        argv += [
            "--output",
            str(self.output),
            "--layout",
            self.layout.value,
            "--width",
            str(self.width),
            "--height",
            str(self.height),
            "--fps",
            str(self.fps),
        ]
        if self.max_seconds is not None:
            argv += ["--max-seconds", _number_arg(self.max_seconds)]
        if self.quota_bytes is not None:
            argv += ["--quota-bytes", str(self.quota_bytes)]
        argv += ["--min-free-bytes", str(self.min_free_bytes)]
        for option, value, default in (
            ("--preset", self.preset, "superfast"),
            ("--threads", str(self.threads), "1"),
            ("--log-level", self.log_level, "info"),
        ):
            if value != default:
                argv += [option, value]
        return argv

    @classmethod
    def parse(cls, argv: Sequence[str]) -> RecorderCommand:
        """Raises :class:`CommandLineError` (``--help`` prints and exits, as ever)."""
        args = _parser().parse_args(list(argv))
        return cls(
            ws_url=args.ws_url,
            output=args.output,
            layout=RecorderLayout(args.layout),
            width=args.width,
            height=args.height,
            fps=args.fps,
            max_seconds=args.max_seconds,
            quota_bytes=args.quota_bytes,
            min_free_bytes=args.min_free_bytes,
            preset=args.preset,
            threads=args.threads,
            log_level=args.log_level,
            token=args.token,
        )

    @staticmethod
    def usage() -> str:
        return _parser().format_usage()


# -- the status events -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    """One status report. Fields left ``None`` are left out of the line; a reader takes a
    missing field as ``None`` (the server knows what to do without it)."""

    name: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {"event": self.name, **{k: v for k, v in values.items() if v is not None}}

    def to_line(self) -> str:
        """The compact JSON line, without its newline."""
        return json.dumps(self.to_dict(), separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Active(Event):
    """Joined, and the first video frame is in the file."""

    name: ClassVar[str] = "active"
    #: ISO 8601 UTC time the recording's timeline starts at.
    started_at: str | None = None


@dataclass(frozen=True, slots=True)
class Progress(Event):
    """Every few seconds while recording."""

    name: ClassVar[str] = "progress"
    #: Seconds of media recorded so far.
    duration_s: float | None = None
    #: Bytes of the file so far.
    size_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class Ending(Event):
    """Finalization has started."""

    name: ClassVar[str] = "ending"


@dataclass(frozen=True, slots=True)
class Complete(Event):
    """The file is finished (final: the sidecar says it too)."""

    name: ClassVar[str] = "complete"
    #: Seconds of media in the file.
    duration_s: float | None = None
    #: Bytes of the finished file.
    size_bytes: int | None = None
    #: ``stopped``, ``meeting_ended`` or ``max_duration``
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Failed(Event):
    """The recording failed (final); the file, if any, plays up to its last fragment."""

    name: ClassVar[str] = "failed"
    #: For people: ``disk full: ...``, ``could not join: ...``
    error: str | None = None
    #: Seconds of media the kept file plays.
    duration_s: float | None = None
    #: Bytes of the kept file.
    size_bytes: int | None = None


#: The last word of a recorder.
FinalEvent = Complete | Failed

_EVENTS: dict[str, type[Event]] = {
    kind.name: kind for kind in (Active, Progress, Ending, Complete, Failed)
}


def _check(kind: type[Event], name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "size_bytes":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ReportError(f"{kind.name}: size_bytes must be a whole number >= 0")
    elif name == "duration_s":
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
        ):
            raise ReportError(f"{kind.name}: duration_s must be a number >= 0")
        return float(value)
    elif not isinstance(value, str):
        raise ReportError(f"{kind.name}: {name} must be a string")
    return value


def parse_event(data: object) -> Event:
    """The event a decoded JSON value states. Unknown fields are ignored (a newer recorder
    may say more); raises :class:`ReportError`."""
    if not isinstance(data, Mapping):
        raise ReportError(f"a report is a JSON object, not {type(data).__name__}")
    name = data.get("event")
    kind = _EVENTS.get(name) if isinstance(name, str) else None
    if kind is None:
        raise ReportError(f"unknown event {str(name)[:40]!r}")
    values = {f.name: _check(kind, f.name, data.get(f.name)) for f in fields(kind)}
    return kind(**values)


def _decode(text: bytes | str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        raise ReportError(f"not JSON: {text[:40]!r}") from None


def parse_line(line: bytes | str) -> Event:
    """The event on one status line; raises :class:`ReportError`."""
    raw = (line.encode() if isinstance(line, str) else line).strip()
    if len(raw) > MAX_LINE_BYTES:
        raise ReportError(f"a report line of {len(raw)} bytes (at most {MAX_LINE_BYTES})")
    return parse_event(_decode(raw))


def parse_final(text: bytes | str) -> FinalEvent:
    """The final event of a sidecar (any length); raises :class:`ReportError` for anything
    else."""
    event = parse_event(_decode(text))
    if not isinstance(event, Complete | Failed):
        raise ReportError(f"not a final event: {event.name}")
    return event


def sidecar_path(output: Path) -> Path:
    """Where the final event of the recording in ``output`` is kept."""
    return output.with_name(output.name + ".json")
