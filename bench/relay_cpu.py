"""Server CPU per forwarded RTP packet: 1 publisher, N subscribers, on loopback.

Starts ``meetbox serve`` as its own process, joins one publisher (30 fps VP8 of a picture
that does not compress away, at a camera-like bitrate) and N subscribers that count packets
without decoding, lets it settle, then measures over a window: the server's CPU time from
/proc/PID/stat (user + system) divided by the RTP packets the subscribers received in that
window. Also reports loss (packets the publisher sent x N vs. packets received). Bounded in
time; targets only 127.0.0.1.

    .venv/bin/python bench/relay_cpu.py --subscribers 20 --seconds 20 --floor

``--floor`` then runs bench/floor.py (the leanest Python forwarder) at the same packet rate and
size, and reports meetbox's figure as a ratio to it: on this shared machine, a ratio taken in
one sitting means more than either figure alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import tempfile
import time
from typing import Any

import httpx
from aiortc.codecs import vpx
from floor import run as floor_run  # bench/floor.py, beside this script

from sfu.synthetic import ColorTrack
from signaling.client import MeetboxClient

API_KEY = "mbk_bench-key-0123456789abcdefghijkl"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class NoiseTrack(ColorTrack):
    """A fresh random picture each frame, so the encoder runs at its target bitrate."""

    async def recv(self) -> Any:
        frame = await super().recv()
        frame.planes[0].update(os.urandom(frame.planes[0].buffer_size))
        return frame


class Counting(MeetboxClient):
    """A subscriber that counts RTP packets and never decodes them."""

    packets = 0

    def _on_track(self, track: Any) -> None:
        for transceiver in self.subscriber.getTransceivers():
            if transceiver.receiver.track is track:
                transceiver.receiver._handle_rtp_packet = self._count  # type: ignore[method-assign]

    async def _count(self, packet: Any, arrival_time_ms: int = 0) -> None:
        self.packets += 1


async def run(args: argparse.Namespace) -> dict[str, Any]:
    vpx.DEFAULT_BITRATE = vpx.MIN_BITRATE = vpx.MAX_BITRATE = args.bitrate
    port = free_port()
    data = tempfile.mkdtemp(prefix="meetbox-bench-")
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "meetbox", "serve", "--port", str(port), "--data-dir", data,
        "--log-level", "warning",
        env={**os.environ, "MEETBOX_INITIAL_API_KEY": API_KEY},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    clients: list[MeetboxClient] = []
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": API_KEY}) as http:
            for _ in range(100):
                try:
                    await http.get("/healthz")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)  # the server process is starting
            room = (await http.post("/api/v1/rooms", json={"name": "bench"})).json()

            async def token(name: str) -> str:
                body = {"secret": room["links"]["speaker"]["secret"], "nickname": name}
                return str((await http.post("/api/v1/join", json=body)).json()["token"])

            ws = f"ws://127.0.0.1:{port}/ws"
            publisher = MeetboxClient(ws, await token("publisher"))
            clients.append(publisher)
            await publisher.connect()
            await publisher.publish({"camera": NoiseTrack((0, 0, 0), args.width, args.height)})
            subs = []
            for i in range(args.subscribers):
                sub = Counting(ws, await token(f"sub{i}"))
                clients.append(sub)
                await sub.connect()
                subs.append(sub)
        await asyncio.sleep(args.settle)  # every subscriber connects and reaches steady state

        async def sent() -> tuple[int, int]:
            stats = await publisher.publisher.getSenders()[0].getStats()
            out = [s for s in stats.values() if s.type == "outbound-rtp"]
            return sum(s.packetsSent for s in out), sum(s.bytesSent for s in out)

        cpu0, recv0 = cpu_seconds(server.pid), sum(s.packets for s in subs)
        sent0, bytes0 = await sent()
        t0 = time.monotonic()
        await asyncio.sleep(args.seconds)  # the measurement window
        cpu1, recv1 = cpu_seconds(server.pid), sum(s.packets for s in subs)
        sent1, bytes1 = await sent()
        t1 = time.monotonic()
        forwarded = recv1 - recv0
        expected = (sent1 - sent0) * args.subscribers
        cpu = cpu1 - cpu0
        return {
            "subscribers": args.subscribers,
            "publisher_bitrate": args.bitrate,
            "resolution": f"{args.width}x{args.height}",
            "window_s": round(t1 - t0, 2),
            "published_packets_per_s": round((sent1 - sent0) / (t1 - t0), 1),
            # payload bytes, plus the RTP header and extensions
            "mean_packet_bytes": round((bytes1 - bytes0) / max(sent1 - sent0, 1)) + 20,
            "forwarded_packets": forwarded,
            "loss": round(1 - forwarded / expected, 4) if expected else None,
            "server_cpu_s": round(cpu, 3),
            "server_cpu_share_of_one_core": round(cpu / (t1 - t0), 3),
            "us_per_forwarded_packet": round(cpu / forwarded * 1e6, 1) if forwarded else None,
        }
    finally:
        for client in clients:
            await client.close()
        server.terminate()
        async with asyncio.timeout(20):
            await server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=8.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--bitrate", type=int, default=1_500_000, help="publisher VP8 bit/s")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="then measure bench/floor.py at the same rate and packet size, and the ratio",
    )
    args = parser.parse_args()
    if not 1 <= args.subscribers <= 100 or not 1 <= args.seconds <= 300:
        parser.error("subscribers 1-100, seconds 1-300")
    result = asyncio.run(run(args))
    if args.floor and result["us_per_forwarded_packet"]:
        floor_args = argparse.Namespace(
            subscribers=args.subscribers,
            seconds=args.seconds,
            settle=2.0,
            rate=max(1, min(5000, round(result["published_packets_per_s"]))),
            size=max(100, min(1400, result["mean_packet_bytes"])),
        )
        floor = asyncio.run(floor_run(floor_args))
        result["floor"] = floor
        if floor["us_per_forwarded_packet"]:
            ratio = result["us_per_forwarded_packet"] / floor["us_per_forwarded_packet"]
            result["ratio_to_floor"] = round(ratio, 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
