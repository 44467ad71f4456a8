"""Recorder processes as the server sees them: started with a
:class:`~signaling.recordings.contract.RecorderCommand`, stopped on stdin, heard as typed
status events (:mod:`~signaling.recordings.contract`) on stdout. A line that breaks the
contract is logged and skipped, never taken for a report. The recorders of a previous server are in
:mod:`signaling.recordings.orphans`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Mapping
from typing import Protocol

from signaling.recordings.contract import TOKEN_ENV, Event, RecorderCommand, ReportError, parse_line

__all__ = [
    "RecorderLauncher",
    "RecorderProcess",
    "SubprocessLauncher",
    "recorder_environment",
]

logger = logging.getLogger(__name__)


class RecorderProcess(Protocol):
    def reports(self) -> AsyncIterator[Event]:
        """The recorder's reports until its stdout closes."""

    def stop(self) -> None:
        """Ask it to finish the file and exit."""

    def kill(self) -> None: ...

    async def wait(self) -> int:
        """Its exit status (negative: killed by that signal)."""


class RecorderLauncher(Protocol):
    async def launch(self, command: RecorderCommand, token: str) -> RecorderProcess: ...


class _Subprocess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    async def reports(self) -> AsyncIterator[Event]:
        stdout = self._process.stdout
        assert stdout is not None
        while True:
            try:
                line = await stdout.readline()
            except ValueError:  # a line over the stream limit: not a recorder talking
                logger.warning("recorder %s: overlong report line ignored", self._process.pid)
                continue
            if not line:
                return
            try:
                report = parse_line(line)
            except ReportError as exc:
                logger.warning("recorder %s: report ignored: %s", self._process.pid, exc)
                continue
            yield report

    def stop(self) -> None:
        stdin = self._process.stdin
        if stdin is not None and not stdin.is_closing():
            with contextlib.suppress(OSError, RuntimeError):
                stdin.write(b"stop\n")

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self._process.kill()

    async def wait(self) -> int:
        code = await self._process.wait()
        stdin = self._process.stdin
        if stdin is not None:
            stdin.close()
        return code


#: What the recorder inherits from the server's environment: enough to run Python and find
#: its packages. Not the rest, which holds the server's secrets (``MEETBOX_TURN_SECRET``,
#: ``MEETBOX_INITIAL_API_KEY``, whatever the operator exports).
_RECORDER_ENV = frozenset({"PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "VIRTUAL_ENV"})
_RECORDER_ENV_PREFIXES = ("LC_", "PYTHON")


def recorder_environment(token: str, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The recorder's environment: the few variables of ``environ`` it needs, and its token
    (kept out of its command line, which ``ps`` shows)."""
    env = {
        name: value
        for name, value in environ.items()
        if name in _RECORDER_ENV or name.startswith(_RECORDER_ENV_PREFIXES)
    }
    env[TOKEN_ENV] = token
    return env


class SubprocessLauncher:
    """Runs ``python -m recorder`` with this interpreter; its logs go to our stderr, the
    token goes in its environment (see :func:`recorder_environment`)."""

    async def launch(self, command: RecorderCommand, token: str) -> RecorderProcess:
        env = recorder_environment(token)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "recorder",
            *command.to_argv(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        return _Subprocess(process)
