"""Load tester: meetbox side by side with a stock aiortc relay and Janus, on loopback.

    .venv/bin/python -m bench.load --scenario webinar,meeting --target meetbox,aiortc-relay,janus \\
        --json bench-results.json --md bench-results.md --plot bench-results.png

Each target server runs as its own process (its CPU, RSS and descriptors come from /proc for
it alone); this process runs every synthetic participant. Publishers loop a pre-encoded clip
(no encoding per publisher), subscribers count RTP packets (no decoding). Per scenario step,
once every expected track flows, a measurement window of ``--duration`` seconds gives the
figures; then meetbox's are divided by each peer's. Everything is bounded in count and time
and targets 127.0.0.1 only. See docs/benchmarks.md.

Scenarios (presets; ``--rooms``, ``--publishers``, ``--subscribers`` override them):

- ``meeting``: 4 rooms x 5 participants, each publishes audio and video and receives the others.
- ``webinar``: 1 room, 1 publisher, subscribers added in ``--steps`` (default 1,5,10,20,40,70,100).
- ``audio``: 8 rooms x 4 participants, audio only, everyone receives everyone.
- ``soak``: 1 publisher; subscribers join and leave in batches for ``--soak-seconds``;
  server RSS, descriptors and threads at the start and the end.
- ``custom``: ``--rooms`` x (``--publishers`` + ``--subscribers``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import report
from .media import RESOLUTIONS, ClipTrack, clip
from .procstat import cpu_seconds, machine_busy_seconds, status, tree_cpu, tree_rss_kib, udp_errors
from .servers import loopback_ice
from .targets import TARGETS, Participant, Target, janus_installed, make_target, scratch_dir

REQUIRED_KEYS = (
    "target", "scenario", "publishers", "subscribers", "duration_s", "forwarded_packets",
    "server_cpu_s", "cpu_us_per_forwarded_packet", "loss_ratio", "join_latency_ms_p50",
    "join_latency_ms_p95", "first_frame_ms_p95", "forward_latency_ms_p99",
    "rss_mib_per_participant", "tracks_expected", "tracks_received",
)  # fmt: skip
MAX_PARTICIPANTS = 200
MAX_SECONDS = 600


@dataclass(frozen=True)
class Scenario:
    name: str
    rooms: int
    publishers: int  # per room
    steps: tuple[int, ...]  # subscribers per room (receive only), cumulative
    publishers_subscribe: bool  # publishers receive each other (a meeting)
    audio_only: bool = False


PRESETS = {
    "meeting": Scenario("meeting", 4, 5, (0,), True),
    "webinar": Scenario("webinar", 1, 1, (1, 5, 10, 20, 40, 70, 100), False),
    "audio": Scenario("audio", 8, 4, (0,), True, audio_only=True),
    "soak": Scenario("soak", 1, 1, (5,), False),
    "custom": Scenario("custom", 1, 1, (2,), False),
}


class Progress:
    """One status line on stderr, redrawn in place."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.label = ""

    def show(self, what: str, done: float, total: float) -> None:
        if not self.enabled:
            return
        width = 24
        filled = int(width * min(done / total, 1)) if total else width
        bar = "#" * filled + "." * (width - filled)
        line = f"\r{self.label:<28} [{bar}] {what} {done:.0f}/{total:.0f}"
        sys.stderr.write(line[:110].ljust(110))
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def stream_start(since: float, publisher: str, registry: dict[str, Any]) -> float:
    """When a subscriber's stream could start: when the subscriber saw the track (``since``),
    and no earlier than its publisher got its publish answer. A server that offers a track
    before its publisher has the answer (meetbox does) left the stream no publisher time
    yet, and it was measured from the subscriber's own join, seconds before (the meeting's
    p95 grew with the time between joins)."""
    participant = registry.get(publisher)
    published_at = participant.published_at if participant is not None else None
    return max(since, published_at or 0.0)


def pct(values: list[float], q: float, scale: float = 1000.0) -> float | None:
    """The ``q`` quantile (nearest rank) of ``values``, times ``scale``, rounded."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))
    return round(ordered[index] * scale, 2)


def ratio(a: Any, b: Any) -> float | None:
    if isinstance(a, int | float) and isinstance(b, int | float) and b:
        return round(a / b, 3)
    return None


class Run:
    """One target through one scenario's steps."""

    def __init__(self, target: Target, scenario: Scenario, args: argparse.Namespace,
                 progress: Progress) -> None:  # fmt: skip
        self.target = target
        self.scenario = scenario
        self.args = args
        self.progress = progress
        self.rooms: list[Any] = []
        self.publishers: list[list[Participant]] = []
        self.everyone: list[Participant] = []
        self.failures = 0
        self.tracks_per_publisher = 1 if scenario.audio_only else 2

    def tracks(self) -> list[ClipTrack]:
        out = [ClipTrack(clip("audio"))]
        if not self.scenario.audio_only:
            out.append(ClipTrack(clip("video", self.args.codec, self.args.video_resolution)))
        return out

    async def paced(self, label: str, jobs: list[Callable[[], Awaitable[None]]]) -> None:
        """Run ``jobs`` started ``--join-rate`` per second, all at most 60 s + 1 s each."""
        finished = 0

        async def one(i: int, job: Callable[[], Awaitable[None]]) -> None:
            nonlocal finished
            await asyncio.sleep(i / self.args.join_rate)  # the join rate
            try:
                async with asyncio.timeout(60):
                    await job()
            except Exception as exc:
                self.failures += 1
                logging.getLogger("bench").warning("%s failed: %r", label, exc)
            finished += 1
            self.progress.show(label, finished, len(jobs))

        async with asyncio.timeout(60 + len(jobs) / self.args.join_rate + len(jobs)):
            await asyncio.gather(*(one(i, job) for i, job in enumerate(jobs)))

    def expected(self, p: Participant, room: int) -> int:
        if not p.subscribes:
            return 0
        others = [q for q in self.publishers[room] if q is not p]
        return len(others) * self.tracks_per_publisher

    def counts(self) -> tuple[int, int]:
        expected = received = 0
        for room, members in enumerate(self.members):
            for p in members:
                expected += self.expected(p, room)
                received += sum(1 for s in p.streams.values() if s.first_rtp_at is not None)
        return expected, received

    async def wait_flowing(self) -> None:
        """Until every expected track has delivered a packet (at most ``--settle-timeout``)."""
        deadline = time.monotonic() + self.args.settle_timeout
        while time.monotonic() < deadline:
            expected, received = self.counts()
            self.progress.show("tracks flowing", received, expected)
            if received >= expected:
                break
            await asyncio.sleep(0.2)  # polling counters the media path updates
        await asyncio.sleep(self.args.settle)  # steady state after the last join

    async def setup(self) -> None:
        sc = self.scenario
        per_room = sc.publishers + max(sc.steps)
        self.rooms = [await self.target.room(i, per_room) for i in range(sc.rooms)]
        self.members: list[list[Participant]] = [[] for _ in self.rooms]
        codec = self.args.codec
        for i, room in enumerate(self.rooms):
            pubs = [
                self.target.participant(room, f"r{i}-p{j}", codec) for j in range(sc.publishers)
            ]
            self.publishers.append(pubs)
            self.members[i].extend(pubs)
        flat = [p for pubs in self.publishers for p in pubs]
        self.everyone.extend(flat)
        await self.paced("publishers join", [lambda p=p: p.join(self.tracks()) for p in flat])
        if sc.publishers_subscribe:
            jobs = [
                lambda p=p, i=i: p.subscribe(self.publishers[i])
                for i, pubs in enumerate(self.publishers)
                for p in pubs
            ]
            await self.paced("publishers subscribe", jobs)

    async def add_subscribers(self, per_room: int) -> list[Participant]:
        new = []
        for i, room in enumerate(self.rooms):
            have = len(self.members[i]) - self.scenario.publishers
            for k in range(have, per_room):
                p = self.target.participant(room, f"r{i}-s{k}", self.args.codec)
                self.members[i].append(p)
                new.append((i, p))
        self.everyone.extend(p for _, p in new)

        async def join(i: int, p: Participant) -> None:
            await p.join([])
            await p.subscribe(self.publishers[i])

        await self.paced("subscribers join", [lambda i=i, p=p: join(i, p) for i, p in new])
        return [p for _, p in new]

    async def measure(self, step: int, newcomers: list[Participant]) -> dict[str, Any]:
        args, pid = self.args, self.target.pid
        streams = [s for p in self.everyone for s in p.streams.values()]
        before = {id(s): (*s.snapshot(), len(s.latencies)) for s in streams}
        sent0 = sum(p.feedback.sent_packets for p in self.everyone)
        sentb0 = sum(p.feedback.sent_bytes for p in self.everyone)
        nacks0 = sum(p.feedback.nacks for p in self.everyone)
        plis0 = sum(p.feedback.plis for p in self.everyone)
        udp0, tree0, gen0 = udp_errors(), tree_cpu(pid), cpu_seconds()
        busy0 = machine_busy_seconds()
        t0 = time.monotonic()
        rtts: list[float] = []
        probe = next((p for p in self.everyone if p.pcs), self.everyone[0])
        while (elapsed := time.monotonic() - t0) < args.duration:
            self.progress.show("measuring (s)", elapsed, args.duration)
            with contextlib.suppress(Exception):
                rtts.append(await probe.ping())
            await asyncio.sleep(0.25)  # the window's pace: a signaling ping 4 times a second
        t1 = time.monotonic()
        tracks_expected, tracks_received = self.counts()
        tree1, gen = tree_cpu(pid), cpu_seconds() - gen0
        # Every process of the server (main and media workers), as each one spent it.
        by_process = {k: round(v - tree0.get(k, 0.0), 3) for k, v in tree1.items()}
        cpu = sum(by_process.values())
        busy = machine_busy_seconds() - busy0
        udp1 = udp_errors()
        window = t1 - t0
        packets = expected = nbytes = 0
        latencies: list[float] = []
        jitters: list[float] = []
        for s in streams:
            p0, e0, b0, l0 = before[id(s)]
            p1, e1, b1 = s.snapshot()
            packets, expected, nbytes = packets + p1 - p0, expected + e1 - e0, nbytes + b1 - b0
            latencies.extend(s.latencies[l0:])
            if s.packets:
                jitters.append(s.jitter / (90000 if s.kind == "video" else 48000))
        published = sum(p.feedback.sent_packets for p in self.everyone) - sent0
        published_bytes = sum(p.feedback.sent_bytes for p in self.everyone) - sentb0
        for s in (s for p in self.everyone for s in p.streams.values() if id(s) not in before):
            packets += s.packets  # a stream that started during the window (late)
        joins, firsts, ices = [], [], []
        registry = self.target.registry.by_key

        def since(s: Any) -> float:
            return stream_start(s.since, s.publisher, registry)

        for p in newcomers:
            got = [s for s in p.streams.values() if s.first_rtp_at is not None]
            if got:
                joins.append(min(s.first_rtp_at - since(s) for s in got))
            if p.ice_at is not None:
                ices.append(p.ice_at - p.started_at)
            kind = "audio" if self.scenario.audio_only else "video"
            firsts.extend(
                s.first_frame_at - since(s)
                for s in p.streams.values()
                if s.kind == kind and s.first_frame_at is not None
            )
        proc = {**status(pid), "rss_kib": tree_rss_kib(pid)}
        participants = len(self.everyone)
        subscribers = sum(1 for p in self.everyone if p.subscribes)
        return {
            "target": self.target.name,
            "scenario": self.scenario.name,
            "step": step,
            "rooms": len(self.rooms),
            "publishers": sum(len(p) for p in self.publishers),
            "subscribers": subscribers,
            "participants": participants,
            "codec": "opus" if self.scenario.audio_only else args.codec,
            "video_resolution": None if self.scenario.audio_only else args.video_resolution,
            "duration_s": round(window, 2),
            "published_packets": published,
            "forwarded_packets": packets,
            "in_packets_per_s": round(published / window, 1),
            "out_packets_per_s": round(packets / window, 1),
            "in_mbit_per_s": round(published_bytes * 8 / window / 1e6, 3),
            "out_mbit_per_s": round(nbytes * 8 / window / 1e6, 3),
            "server_cpu_s": round(cpu, 3),
            "server_cpu_s_by_process": by_process,
            "server_cpu_share_of_one_core": round(cpu / window, 3),
            "cpu_us_per_forwarded_packet": round(cpu / packets * 1e6, 1) if packets else None,
            "loss_ratio": (
                round(max(0.0, 1 - packets / expected), 4)
                if expected
                else (1.0 if tracks_expected else None)  # nothing flowed at all
            ),
            "jitter_ms_mean": round(sum(jitters) / len(jitters) * 1000, 2) if jitters else None,
            "join_latency_ms_p50": pct(joins, 0.5),
            "join_latency_ms_p95": pct(joins, 0.95),
            "ice_connected_ms_p50": pct(ices, 0.5),
            "first_frame_ms_p50": pct(firsts, 0.5),
            "first_frame_ms_p95": pct(firsts, 0.95),
            "forward_latency_ms_p50": pct(latencies, 0.5),
            "forward_latency_ms_p99": pct(latencies, 0.99),
            "nacks_received_by_publishers": sum(p.feedback.nacks for p in self.everyone) - nacks0,
            "plis_received_by_publishers": sum(p.feedback.plis for p in self.everyone) - plis0,
            "tracks_expected": tracks_expected,
            "tracks_received": tracks_received,
            "rss_mib": round(proc["rss_kib"] / 1024, 1),
            "rss_mib_idle": round(self.baseline["rss_kib"] / 1024, 1),
            "rss_mib_per_participant": round(
                (proc["rss_kib"] - self.baseline["rss_kib"]) / 1024 / participants, 3
            ),
            "server_fds": proc["fds"],
            "server_threads": proc["threads"],
            "signaling_rtt_ms_p50": pct(rtts, 0.5),
            "signaling_rtt_ms_p99": pct(rtts, 0.99),
            "udp_rcvbuf_errors": udp1["RcvbufErrors"] - udp0["RcvbufErrors"],
            "udp_in_errors": udp1["InErrors"] - udp0["InErrors"],
            "generator_cpu_s": round(gen, 3),
            "generator_cpu_share_of_one_core": round(gen / window, 3),
            # Everything else on the machine (other jobs: the figures are noisier when high).
            "other_cpu_share_of_one_core": round(max(0.0, busy - cpu - gen) / window, 3),
            "join_failures": self.failures,
            # Publisher connections that are no longer connected (an overloaded server fails
            # ICE consent checks and aiortc closes the connection: its tracks stop).
            "publisher_connections_lost": sum(
                1
                for p in self.everyone
                if p.published_at is not None
                and any(pc.connectionState in ("failed", "closed") for pc in p.pcs[:1])
            ),
        }

    async def go(self) -> list[dict[str, Any]]:
        self.progress.label = f"{self.target.name} {self.scenario.name}"
        self.baseline = {"rss_kib": tree_rss_kib(self.target.pid)}
        await self.setup()
        results = []
        newcomers = list(self.everyone)
        for step, per_room in enumerate(self.scenario.steps):
            newcomers += await self.add_subscribers(per_room)
            self.progress.label = f"{self.target.name} {self.scenario.name} +{per_room}"
            await self.wait_flowing()
            results.append(await self.measure(step, newcomers))
            newcomers = []
        return results

    async def soak(self) -> dict[str, Any]:
        """Join/leave churn for ``--soak-seconds``; the server's state at the start and end."""
        self.progress.label = f"{self.target.name} soak"
        self.baseline = {"rss_kib": tree_rss_kib(self.target.pid)}
        await self.setup()
        await self.wait_flowing()
        start = status(self.target.pid)
        tasks_start = await self.target.tasks()
        cycles = joins = 0
        deadline = time.monotonic() + self.args.soak_seconds
        while time.monotonic() < deadline and cycles < 1000:
            batch = await self.add_subscribers(self.scenario.steps[0])  # the rooms had none
            joins += len(batch)
            await self.wait_flowing()
            for p in batch:
                await p.close()
                for members in self.members:
                    if p in members:
                        members.remove(p)
                self.everyone.remove(p)
            cycles += 1
            self.progress.show("soak (s)", self.args.soak_seconds - deadline + time.monotonic(),
                               self.args.soak_seconds)  # fmt: skip
        await asyncio.sleep(5)  # the server notices the last leaves
        result = await self.measure(0, [])
        end = status(self.target.pid)
        tasks_end = await self.target.tasks()
        result.update(
            cycles=cycles,
            joins=joins,
            soak_s=self.args.soak_seconds,
            rss_mib_start=round(start["rss_kib"] / 1024, 1),
            rss_mib_end=round(end["rss_kib"] / 1024, 1),
            fds_start=start["fds"],
            fds_end=end["fds"],
            threads_start=start["threads"],
            threads_end=end["threads"],
            # The server's asyncio tasks (meetbox's /metrics; None for the others).
            tasks_start=tasks_start,
            tasks_end=tasks_end,
        )
        return result

    async def close(self) -> None:
        for p in self.everyone:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(10):
                    await p.close()


async def run_one(name: str, scenario: Scenario, args: argparse.Namespace,
                  progress: Progress) -> list[dict[str, Any]]:  # fmt: skip
    workdir = scratch_dir()
    target = make_target(name, workdir, args.codec)
    run = Run(target, scenario, args, progress)
    try:
        await target.start()
        if scenario.name == "soak":
            return [await run.soak()]
        return await run.go()
    finally:
        await run.close()
        await target.stop()
        progress.done()
        if args.keep_logs:
            print(f"{name} logs: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def add_ratios(results: list[dict[str, Any]]) -> None:
    """Give each peer's result ``meetbox_ratio``: meetbox's figure / the peer's, per key."""
    keys = ("cpu_us_per_forwarded_packet", "server_cpu_s", "loss_ratio", "join_latency_ms_p95",
            "first_frame_ms_p95", "forward_latency_ms_p99", "rss_mib_per_participant",
            "jitter_ms_mean", "signaling_rtt_ms_p99")  # fmt: skip
    ours = {(r["scenario"], r.get("step")): r for r in results if r["target"] == "meetbox"}
    for r in results:
        mine = ours.get((r["scenario"], r.get("step")))
        if r["target"].startswith("meetbox-w") and mine is not None:
            # N workers against 1, same load: what spreading costs per packet.
            r["vs_one_worker"] = {k: ratio(r.get(k), mine.get(k)) for k in keys}
        elif r["target"] != "meetbox" and mine is not None:
            r["meetbox_ratio"] = {k: ratio(mine.get(k), r.get(k)) for k in keys}


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    loopback_ice()
    progress = Progress(not args.no_progress)
    results: list[dict[str, Any]] = []
    for scenario in args.scenarios:
        for name in args.targets:
            results.extend(await run_one(name, scenario, args, progress))
    add_ratios(results)
    return results


def build_scenarios(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[Scenario]:
    out = []
    for name in args.scenario.split(","):
        if name not in PRESETS:
            parser.error(f"unknown scenario {name!r}; one of {', '.join(PRESETS)}")
        sc = PRESETS[name]
        if args.rooms is not None:
            sc = replace(sc, rooms=args.rooms)
        if args.publishers is not None:
            sc = replace(sc, publishers=args.publishers)
        if args.steps is not None and name in ("webinar", "custom"):  # the stepped ones
            sc = replace(sc, steps=tuple(int(s) for s in args.steps.split(",")))
        elif args.subscribers is not None:
            sc = replace(sc, steps=(args.subscribers,))
        if args.audio_only:
            sc = replace(sc, audio_only=True)
        total = sc.rooms * (sc.publishers + max(sc.steps))
        if not 1 <= total <= MAX_PARTICIPANTS or sc.publishers < 1 or min(sc.steps) < 0:
            parser.error(f"{name}: 1-{MAX_PARTICIPANTS} participants, at least 1 publisher")
        out.append(sc)
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument(
        "--scenario", default="webinar", help=f"comma-separated: {', '.join(PRESETS)}"
    )
    parser.add_argument(
        "--target", default="meetbox", help=f"comma-separated: {', '.join(TARGETS)}"
    )
    parser.add_argument(
        "--workers", default="1",
        help="meetbox's media worker counts, comma-separated (e.g. 1,2): meetbox runs once "
        "per count; 1 (the default) keeps the media in the server's process",
    )  # fmt: skip
    parser.add_argument("--rooms", type=int)
    parser.add_argument("--publishers", type=int, help="per room")
    parser.add_argument("--subscribers", type=int, help="receive-only participants per room")
    parser.add_argument(
        "--steps", help="webinar/custom: subscribers per room, cumulative steps, e.g. 1,5,10"
    )
    parser.add_argument("--audio-only", action="store_true")
    parser.add_argument("--video-resolution", default="180p", choices=sorted(RESOLUTIONS))
    parser.add_argument("--codec", default="vp8", choices=["vp8", "h264"])
    parser.add_argument("--duration", type=float, default=10.0, help="measurement window, s")
    parser.add_argument("--join-rate", type=float, default=5.0, help="joins per second")
    parser.add_argument("--settle", type=float, default=2.0, help="s after all tracks flow")
    parser.add_argument("--settle-timeout", type=float, default=30.0,
                        help="give up waiting for every track after this long, s")  # fmt: skip
    parser.add_argument("--soak-seconds", type=float, default=120.0)
    parser.add_argument("--json", type=Path, help="write the results (a list) here")
    parser.add_argument("--md", type=Path, help="write the Markdown tables here")
    parser.add_argument("--plot", type=Path, help="write a PNG plot here (needs matplotlib)")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--keep-logs", action="store_true", help="keep each server's work dir")
    args = parser.parse_args(argv)
    names = args.target.split(",")
    for name in names:
        if name not in TARGETS:
            parser.error(f"unknown target {name!r}; one of {', '.join(TARGETS)}")
    try:
        workers = [int(w) for w in args.workers.split(",")]
    except ValueError:
        parser.error("--workers is a comma-separated list of worker counts, e.g. 1,2")
    if not all(1 <= w <= 16 for w in workers):
        parser.error("--workers: 1-16 media workers")
    # meetbox once per worker count: "meetbox" (1 worker), "meetbox-w2", ...
    args.targets = [
        t
        for name in names
        for t in ([("meetbox" if w == 1 else f"meetbox-w{w}") for w in workers]
                  if name == "meetbox" else [name])
    ]  # fmt: skip
    if "janus" in args.targets and not janus_installed():
        parser.error("target janus needs the janus package (apt-get install janus)")
    if not 1 <= args.duration <= MAX_SECONDS or not 1 <= args.soak_seconds <= 3600:
        parser.error(f"duration 1-{MAX_SECONDS} s, soak-seconds 1-3600")
    if not 0.2 <= args.join_rate <= 50 or not 0 <= args.settle <= 60:
        parser.error("join-rate 0.2-50 per second, settle 0-60 s")
    if not 1 <= args.settle_timeout <= 300:
        parser.error("settle-timeout 1-300 s")
    args.scenarios = build_scenarios(args, parser)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("aioice").setLevel(logging.ERROR)
    try:
        results = asyncio.run(main_async(args))
    except KeyboardInterrupt:
        print("interrupted; every server started was stopped", file=sys.stderr)
        return 130
    text = report.markdown(results)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if args.md:
        args.md.write_text(text)
    if args.plot:
        report.plot(results, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
