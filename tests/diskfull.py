"""A real full disk for tests: a small tmpfs (root only; CI runs as root and must not skip),
filled with zeros until the kernel answers ENOSPC."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["db_on_small_disk", "fill", "small_disk", "tmpfs"]


@contextlib.contextmanager
def tmpfs(where: Path, size: str = "8m") -> Iterator[Path]:
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs as root, which this test needs to mount a tmpfs")
        pytest.skip("mounting a tmpfs needs root")
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Zeros into a file on ``disk`` until the kernel says ENOSPC; returns the file (delete
    it to have the space back)."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        for chunk in (bytes(64 * 1024), b"\0"):  # big pieces, then the last few bytes
            while True:
                try:
                    out.write(chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    break
    return filler


@pytest.fixture(name="disk")
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """The fixture ``disk``: an 8 MiB tmpfs (import it into a test module to use it)."""
    with tmpfs(tmp_path / "disk") as mount:
        yield mount


@pytest.fixture(name="db_path")
def db_on_small_disk(disk: Path) -> Path:
    """The fixture ``db_path`` overridden: imported into a test module, the store of the
    ``services`` and ``server`` fixtures goes on ``disk``."""
    return disk / "data" / "meetbox.db"
