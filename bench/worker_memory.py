"""Memory of an idle media worker: a fresh process imports what ``python -m sfu.worker``
imports (``sfu.room``, ``sfu.peer``, ``sfu.egress``, ``uvloop``), creates one idle
``MediaRoom`` on a uvloop loop, and reports what /proc says of it (KiB -> MiB):

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
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import sys
if {eager_av}:
    import av
import asyncio
import sfu.room, sfu.peer, sfu.egress, uvloop
from sfu import lazyav
from sfu.room import MediaRoom

class Listener:
    def subscribe_offer(self, participant_id, sdp, tracks): pass
    def track_published(self, track): pass
    def track_unpublished(self, track): pass
    def active_speaker(self, participant_id): pass
    def media_failed(self, participant_id): pass

async def main():
    room = MediaRoom(Listener())
    await asyncio.sleep(0.2)
    return room

room = uvloop.run(main())
sys.stdout.write(repr((lazyav.loaded(), len(sys.modules))) + "\\n")
sys.stdout.write(open("/proc/self/smaps_rollup").read())
sys.stdout.write("----\\n")
sys.stdout.write(open("/proc/self/smaps").read())
"""


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


def measure(eager_av: bool = False) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD.format(eager_av=eager_av)],
        env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    head, smaps = done.stdout.split("----\n", 1)
    lines = head.splitlines()
    av_loaded, modules = eval(lines[0])  # noqa: S307 (our own child's repr of a tuple)
    rollup = {p[0].rstrip(":"): int(p[1]) for p in (x.split() for x in lines[1:]) if len(p) == 3}
    return {
        "eager_av": eager_av,
        "av_loaded": av_loaded,
        "modules": modules,
        "rss_mib": round(rollup["Rss"] / 1024, 1),
        "pss_mib": round(rollup["Pss"] / 1024, 1),
        "anon_mib": round(rollup["Anonymous"] / 1024, 1),
        "mappings": {k: v for k, v in _mappings(smaps).items() if v[0]},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eager-av", action="store_true", help="import PyAV first")
    parser.add_argument("--mappings", type=int, default=0, help="list the N largest")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(args.eager_av)
    top = sorted(result.pop("mappings").items(), key=lambda kv: -kv[1][0])[: args.mappings]
    if args.json:
        result["mappings"] = {k: dict(zip(("rss_kib", "pss_kib", "anon_kib"), v)) for k, v in top}
        print(json.dumps(result))
        return 0
    print(
        f"idle media worker: RSS {result['rss_mib']} MiB, PSS {result['pss_mib']} MiB, "
        f"anon {result['anon_mib']} MiB; PyAV loaded: {result['av_loaded']}; "
        f"{result['modules']} modules"
    )
    if top:
        print(f"{'RSS KiB':>8} {'PSS KiB':>8} {'anon KiB':>8}  mapping")
        for name, (rss, pss, anon) in top:
            print(f"{rss:>8} {pss:>8} {anon:>8}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
