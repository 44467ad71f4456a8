"""A recording's files under the recordings directory: the MP4, its sidecar (the recorder's
final event, :func:`~signaling.recordings.contract.sidecar_path`), the temporaries a
recorder writes beside them, free space, download names and zips of several.

Blocking file-system calls, each small (a ``stat``, an ``unlink``); the zip is a generator
the HTTP edge streams.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from signaling.errors import InsufficientStorage
from signaling.models import RecordingRecord
from signaling.recordings.contract import FinalEvent, ReportError, parse_final, sidecar_path

__all__ = ["TEMPORARY_SUFFIXES", "RecordingFiles", "download_name", "temporaries", "zip_stream"]

#: What a recorder writes beside its MP4 before moving it into place: the faststart copy
#: (:func:`recorder.writer.remux_faststart`) and the sidecar in the making.
TEMPORARY_SUFFIXES = (".faststart.tmp", ".json.tmp")


def temporaries(output: Path) -> list[Path]:
    return [output.with_name(output.name + suffix) for suffix in TEMPORARY_SUFFIXES]


class RecordingFiles:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, rec: RecordingRecord) -> Path:
        return self.directory / rec.filename

    def sidecar(self, rec: RecordingRecord) -> Path:
        return sidecar_path(self.path(rec))

    def final_of(self, rec: RecordingRecord) -> FinalEvent | None:
        """The final event in the recording's sidecar, if it has a readable one."""
        with contextlib.suppress(OSError, ReportError):
            return parse_final(self.sidecar(rec).read_bytes())
        return None

    @staticmethod
    def finishing_bytes(output: Path) -> int:
        """Bytes in a recorder's files: they grow while it finishes (the MP4 while the last
        frames are encoded, then its faststart copy)."""
        total = 0
        for path in (output, *temporaries(output)):
            with contextlib.suppress(OSError):
                total += path.stat().st_size
        return total

    def size_of(self, rec: RecordingRecord) -> int | None:
        try:
            return self.path(rec).stat().st_size
        except OSError:
            return None

    def remove_media(self, rec: RecordingRecord) -> None:
        """The MP4 of a recording with nothing in it."""
        self.path(rec).unlink(missing_ok=True)

    def remove_all(self, rec: RecordingRecord) -> None:
        """Everything of a deleted recording."""
        path = self.path(rec)
        for doomed in (path, self.sidecar(rec), *temporaries(path)):
            doomed.unlink(missing_ok=True)

    def remove_leftovers(self, keep: Iterable[Path] = ()) -> None:
        """The temporaries of recorders that are gone (not those of ``keep``'s, still at
        work on those outputs)."""
        with contextlib.suppress(OSError):
            kept = {path for output in keep for path in temporaries(output)}
            for suffix in TEMPORARY_SUFFIXES:
                for path in self.directory.glob(f"rec_*.mp4{suffix}"):
                    if path not in kept:
                        path.unlink(missing_ok=True)

    def check_space(self, min_free_bytes: int) -> None:
        """Raise :class:`InsufficientStorage` below ``min_free_bytes`` free."""
        self.directory.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.directory).free
        if free < min_free_bytes:
            raise InsufficientStorage(
                f"only {free // (1024 * 1024)} MiB free where recordings are kept; at least "
                f"{min_free_bytes // (1024 * 1024)} MiB are needed to start one"
            )


def download_name(rec: RecordingRecord) -> str:
    """``<room>_<YYYY-MM-DD_HH-MM>_<id>.mp4``, safe in a header and on any file system."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", rec.room_name).strip("-")[:60] or "meeting"
    when = rec.created_at.strftime("%Y-%m-%d_%H-%M")
    return f"{name}_{when}_{rec.id}.mp4"


class _Sink(io.RawIOBase):
    """Collects what zipfile writes, for the generator to hand on."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        chunk = bytes(data)  # type: ignore[call-overload]
        self.parts.append(chunk)
        return len(chunk)

    def take(self) -> list[bytes]:
        parts, self.parts = self.parts, []
        return parts


def zip_stream(files: list[tuple[str, Path]]) -> Iterator[bytes]:
    """A zip of ``files`` (name in the zip, path) written as it goes (stored: MP4 does not
    compress); a file deleted meanwhile is left out."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, path in files:
            try:
                source = path.open("rb")
            except OSError:
                continue  # deleted meanwhile
            with source, archive.open(name, "w", force_zip64=True) as target:
                while chunk := source.read(1 << 20):
                    target.write(chunk)
                    yield from sink.take()
    yield from sink.take()
