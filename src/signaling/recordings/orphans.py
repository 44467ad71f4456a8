"""Recorders that outlived their server.

A recorder whose server goes away (killed, or a second signal) notices its control pipe
close and finishes its file on its own, which takes a while for a long recording (the
faststart rewrite copies all of it). The next server finds it by its command line, follows
it as it would its own child (a :class:`signaling.recordings.processes.RecorderProcess` that cannot
be asked anything) and learns how it ended from its sidecar when it exits. Linux only
(``/proc``, ``pidfd_open``), like the rest of meetbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from signaling.recordings.contract import Event, Failed, ReportError, parse_final, sidecar_path

__all__ = ["OrphanRecorder", "find_recorders"]

logger = logging.getLogger(__name__)


def _output_of(pid: int) -> Path | None:
    """The ``--output`` of process ``pid`` if it is ``python -m recorder``, as an absolute
    path (a relative one is taken from its working directory)."""
    proc = Path("/proc") / str(pid)
    try:
        argv = [a.decode(errors="replace") for a in (proc / "cmdline").read_bytes().split(b"\0")]
        if "-m" not in argv or "recorder" not in argv or "--output" not in argv:
            return None
        output = argv[argv.index("--output") + 1]
        if not os.path.isabs(output):
            output = os.path.join(os.readlink(proc / "cwd"), output)
    except (OSError, IndexError):
        return None
    return Path(os.path.realpath(output))


def find_recorders(outputs: Iterable[Path]) -> dict[Path, int]:
    """The recorder processes still writing each of ``outputs`` (blocking: ``/proc``)."""
    wanted = {Path(os.path.realpath(path)): path for path in outputs}
    found: dict[Path, int] = {}
    if not wanted:
        return found
    with contextlib.suppress(OSError):
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            output = _output_of(int(entry.name))
            if output is not None and output in wanted:
                found[wanted[output]] = int(entry.name)
    return found


class OrphanRecorder:
    """A recorder of a previous server, still finishing ``output``: its reports are the
    final event of its sidecar, read once it has exited."""

    def __init__(self, pid: int, output: Path) -> None:
        self.pid = pid
        self.output = output
        self.killed = False
        self._exit: asyncio.Task[None] | None = None

    async def _exited(self) -> None:
        if self._exit is None:
            self._exit = asyncio.create_task(self._wait_exit(), name=f"orphan-{self.pid}")
        await asyncio.shield(self._exit)

    async def _wait_exit(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            fd = os.pidfd_open(self.pid)
        except ProcessLookupError:
            return
        except OSError as exc:  # a kernel before 5.3: it cannot be followed
            logger.warning("recorder %d cannot be followed: %s", self.pid, exc)
            return
        exited: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            if not exited.done():
                exited.set_result(None)

        loop.add_reader(fd, readable)
        try:
            await exited
        finally:
            loop.remove_reader(fd)
            os.close(fd)

    async def reports(self) -> AsyncIterator[Event]:
        await self._exited()
        final: Event | None = None
        with contextlib.suppress(OSError, ReportError):
            final = parse_final(sidecar_path(self.output).read_bytes())
        if final is not None:
            yield final
            return
        if self.killed:
            error = "the recorder made no progress finishing its file after the server restarted"
        else:
            error = "the server stopped during the recording"
        yield Failed(error + "; the file plays up to its last complete fragment")

    def stop(self) -> None:
        """Nothing to do: its control pipe closed with its server, so it is stopping."""

    def kill(self) -> None:
        self.killed = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, signal.SIGKILL)

    async def wait(self) -> int:
        await self._exited()
        return -signal.SIGKILL if self.killed else 0

    def forget(self) -> None:
        """Stop following it (this server is stopping; the next one will)."""
        if self._exit is not None:
            self._exit.cancel()
