"""``python -m meetbox.worker``: a media worker process, started by ``meetbox serve`` (never
by hand). It serves :mod:`sfu.worker` on the control pipe it inherits as ``--control-fd``.

It imports the media stack and the standard library only, not the web stack. SIGINT and
SIGTERM are ignored: a terminal's Ctrl-C or a service manager's stop reaches every process
of the group, and the main process drains its workers itself (it ends the meetings, then
tells each worker to stop). A worker whose main process is gone exits by itself.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

from meetbox.logs import configure_logging

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m meetbox.worker")
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--id", required=True, help="the worker's name in logs and metrics")
    parser.add_argument("--rtc-ports", help="this worker's share of the UDP port range")
    parser.add_argument("--rtc-ips", help="comma-separated addresses to gather candidates on")
    parser.add_argument("--log-format", default="human", choices=["human", "json"])
    parser.add_argument("--log-level", default="info")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    configure_logging(args.log_format, args.log_level, f"worker-{args.id}")

    import uvloop

    from sfu import ports
    from sfu.worker import serve_pipe

    ports.install(ports.parse_port_range(args.rtc_ports) if args.rtc_ports else None)
    addresses = tuple(a for a in (args.rtc_ips or "").split(",") if a)
    ports.install_host_addresses(addresses or None)
    uvloop.run(serve_pipe(args.control_fd, args.id))
    return 0


if __name__ == "__main__":
    sys.exit(main())
