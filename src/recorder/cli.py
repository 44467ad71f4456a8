"""``python -m recorder``: the command line (the server's contract,
:class:`signaling.recordings.contract.RecorderCommand`) into a run of :func:`recorder.app.run`.

The token may come from ``MEETBOX_RECORDER_TOKEN`` instead of ``--token`` (kept out of
``ps``). Control on stdin (``stop``, or EOF), status as JSON lines on stdout, logs on stderr.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from recorder.app import run
from recorder.status import Failed, StatusWriter
from signaling.recordings.contract import TOKEN_ENV, CommandLineError, RecorderCommand

__all__ = ["TOKEN_ENV", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    try:
        command = RecorderCommand.parse(sys.argv[1:] if argv is None else argv)
    except CommandLineError as exc:  # as argparse says it
        sys.stderr.write(f"{RecorderCommand.usage()}python -m recorder: error: {exc}\n")
        return 2
    # Status lines own the real stdout; anything else printing to fd 1 lands on stderr.
    status_stream = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    logging.basicConfig(
        stream=sys.stderr,
        level=command.log_level.upper(),
        format="%(asctime)s recorder %(levelname)s %(name)s: %(message)s",
    )
    # The join message carries the token: websockets never logs frames here. ICE and RTP
    # chatter only when debugging.
    logging.getLogger("websockets").setLevel(max(logging.INFO, logging.getLogger().level))
    quiet = logging.DEBUG if command.log_level == "debug" else logging.WARNING
    for noisy in ("aioice", "aiortc"):
        logging.getLogger(noisy).setLevel(quiet)
    output: Path = command.output.resolve()
    status = StatusWriter(status_stream, output)
    token = command.token or os.environ.get(TOKEN_ENV, "")
    if not token:
        status.final(Failed(f"could not join: no token (--token or ${TOKEN_ENV})", 0.0, 0))
        return 1
    if command.width % 2 or command.height % 2:
        status.final(Failed("width and height must be even", 0.0, 0))
        return 1
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        status.final(Failed(f"could not open the output: {exc}", 0.0, 0))
        return 1
    options = dataclasses.replace(command, output=output, token=token)
    try:
        import uvloop
    except ImportError:
        return asyncio.run(run(options, status))
    return uvloop.run(run(options, status))
