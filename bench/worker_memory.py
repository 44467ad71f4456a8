"""Memory of an idle media worker: the real ``python -m meetbox.worker`` process, on a
control pipe of our own, asked to open one media room (``open_room``, as ``meetbox serve``
does for a meeting), then read from /proc (KiB -> MiB):

    PYTHONPATH=src .venv/bin/python bench/worker_memory.py
    PYTHONPATH=src .venv/bin/python bench/worker_memory.py --eager-av --mappings 15

``--eager-av`` imports PyAV first (what the process costs when aiortc loads libav*: before
``sfu.lazyav``); ``--mappings N`` lists the N largest mappings by RSS (shared libraries
grouped by file, ``[anon]`` and ``[heap]`` are Python's objects and malloc); ``--json``
prints one JSON object instead.

RSS counts every page the process maps, shared or not; PSS divides shared pages by the
processes sharing them (several workers share the libraries' code: PSS is what each adds);
``anon`` is private memory (Python's objects, malloc), which no worker shares.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from sfu.control import FrameDecoder, encode  # noqa: E402

#: The worker's entry, run as ``python -c`` so that PyAV can be imported before it.
ENTRY = (
    "import sys, runpy\n"
    "if sys.argv.pop(1) == 'eager':\n"
    "    import av\n"
    "runpy.run_module('meetbox.worker', run_name='__main__', alter_sys=True)\n"
)


def _wait_for(sock: socket.socket, decoder: FrameDecoder, event: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no {event!r} from the worker within {timeout} s")
        sock.settimeout(left)
        data = sock.recv(65536)
        if not data:
            raise RuntimeError("the worker closed its pipe")
        if any(m.get("ev") == event for m in decoder.feed(data)):
            return


def _mappings(smaps: str) -> dict[str, list[int]]:
    """RSS, PSS, anon (KiB) per mapped file ([anon], [heap], [stack] as they are)."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    name = "[anon]"
    for line in smaps.splitlines():
        parts = line.split()
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            name = parts[5] if len(parts) > 5 else "[anon]"
            name = re.sub(r".*/site-packages/", "", name)
        elif parts and parts[0] in ("Rss:", "Pss:", "Anonymous:"):
            out[name][("Rss:", "Pss:", "Anonymous:").index(parts[0])] += int(parts[1])
    return out


def measure(eager_av: bool = False, settle: float = 1.0) -> dict[str, Any]:
    """Start a worker, open one room, wait ``settle`` s, read /proc, stop the worker."""
    ours, theirs = socket.socketpair()
    worker = subprocess.Popen(
        [sys.executable, "-c", ENTRY, "eager" if eager_av else "lazy", "--id", "bench",
         "--control-fd", str(theirs.fileno()), "--log-level", "warning"],
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        pass_fds=(theirs.fileno(),),
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    theirs.close()
    try:
        _wait_for(ours, FrameDecoder(), "ready", 60)
        ours.sendall(encode({"op": "open_room", "ch": 1}))
        time.sleep(settle)  # the room opened, a load report or two: an idle worker
        proc = Path(f"/proc/{worker.pid}")
        rollup_text = (proc / "smaps_rollup").read_text()
        smaps = (proc / "smaps").read_text()
        threads = len(list((proc / "task").iterdir()))
        ours.sendall(encode({"op": "stop", "id": 1}))
        worker.wait(15)
    finally:
        ours.close()
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    rollup = {
        p[0].rstrip(":"): int(p[1])
        for p in (line.split() for line in rollup_text.splitlines())
        if len(p) == 3 and p[2] == "kB"
    }
    mappings = {k: v for k, v in _mappings(smaps).items() if v[0]}
    return {
        "eager_av": eager_av,
        "av_loaded": any("libavcodec" in name for name in mappings),
        "rss_mib": round(rollup["Rss"] / 1024, 1),
        "pss_mib": round(rollup["Pss"] / 1024, 1),
        "anon_mib": round(rollup["Anonymous"] / 1024, 1),
        "threads": threads,
        "mappings": mappings,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--eager-av", action="store_true", help="import PyAV first")
    parser.add_argument("--mappings", type=int, default=0, help="list the N largest")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(args.eager_av)
    top = sorted(result.pop("mappings").items(), key=lambda kv: -kv[1][0])[: args.mappings]
    if args.json:
        keys = ("rss_kib", "pss_kib", "anon_kib")
        result["mappings"] = {k: dict(zip(keys, v, strict=True)) for k, v in top}
        print(json.dumps(result))
        return 0
    print(
        f"idle media worker: RSS {result['rss_mib']} MiB, PSS {result['pss_mib']} MiB, "
        f"anon {result['anon_mib']} MiB, {result['threads']} threads; "
        f"PyAV loaded: {result['av_loaded']}"
    )
    if top:
        print(f"{'RSS KiB':>8} {'PSS KiB':>8} {'anon KiB':>8}  mapping")
        for name, (rss, pss, anon) in top:
            print(f"{rss:>8} {pss:>8} {anon:>8}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
