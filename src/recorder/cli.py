"""The recorder's command line, as the server spawns it::

    python -m recorder --ws-url ws://127.0.0.1:8080/ws --token TOKEN --output /path/ID.mp4 \\
        --layout grid --width 1280 --height 720 --fps 30 \\
        [--max-seconds N] [--quota-bytes N] [--min-free-bytes N]

The token may come from ``MEETBOX_RECORDER_TOKEN`` instead (kept out of ``ps``). Control on
stdin (``stop``, or EOF), status as JSON lines on stdout, logs on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from recorder.app import Options, run
from recorder.layout import Layout
from recorder.status import Failed, StatusWriter

__all__ = ["TOKEN_ENV", "main"]

TOKEN_ENV = "MEETBOX_RECORDER_TOKEN"


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m recorder", description="Record a meetbox meeting into an MP4 file."
    )
    parser.add_argument("--ws-url", required=True, help="the server's signaling WebSocket")
    parser.add_argument("--token", help=f"participant token (default: ${TOKEN_ENV})")
    parser.add_argument("--output", required=True, type=Path, help="the MP4 file to write")
    parser.add_argument("--layout", choices=[layout.value for layout in Layout], default="grid")
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
    parser.add_argument(
        "--log-level", choices=["debug", "info", "warning", "error"], default="info"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Status lines own the real stdout; anything else printing to fd 1 lands on stderr.
    status_stream = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level.upper(),
        format="%(asctime)s recorder %(levelname)s %(name)s: %(message)s",
    )
    # The join message carries the token: websockets never logs frames here. ICE and RTP
    # chatter only when debugging.
    logging.getLogger("websockets").setLevel(max(logging.INFO, logging.getLogger().level))
    quiet = logging.DEBUG if args.log_level == "debug" else logging.WARNING
    for noisy in ("aioice", "aiortc"):
        logging.getLogger(noisy).setLevel(quiet)
    output: Path = args.output.resolve()
    status = StatusWriter(status_stream, output)
    token = args.token or os.environ.get(TOKEN_ENV, "")
    if not token:
        status.final(Failed(f"could not join: no token (--token or ${TOKEN_ENV})", 0.0, 0))
        return 1
    if args.width % 2 or args.height % 2:
        status.final(Failed("width and height must be even", 0.0, 0))
        return 1
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        status.final(Failed(f"could not open the output: {exc}", 0.0, 0))
        return 1
    options = Options(
        ws_url=args.ws_url,
        token=token,
        output=output,
        layout=Layout(args.layout),
        width=args.width,
        height=args.height,
        fps=args.fps,
        max_seconds=args.max_seconds,
        quota_bytes=args.quota_bytes,
        min_free_bytes=args.min_free_bytes,
        preset=args.preset,
        threads=args.threads,
    )
    try:
        import uvloop
    except ImportError:
        return asyncio.run(run(options, status))
    return uvloop.run(run(options, status))
