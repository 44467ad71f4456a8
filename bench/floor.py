"""The floor: CPU per forwarded packet of the leanest Python forwarder, on this machine, now.

A baseline for ``relay_cpu.py`` to be read against in the same sitting. A child process runs
a forwarder with no WebRTC at all: for each plaintext RTP packet arriving on one UDP socket
it writes a new SSRC and sequence number, SRTP-encrypts the packet (pylibsrtp, as aiortc)
and sends it to each of N subscriber sockets (one sending socket per subscriber, like one
ICE transport per peer connection; a plain non-blocking ``sendto``). This process sends the
packets at a fixed rate and counts what the subscribers receive; the forwarder's CPU comes
from /proc/PID/stat.

    .venv/bin/python bench/floor.py --subscribers 20 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import struct
import sys
import time
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def forwarder(listen_port: int, targets: list[int]) -> None:
    """The child: receive, rewrite, protect, send. Runs until killed."""
    import uvloop
    from pylibsrtp import Policy, Session

    class Out:
        def __init__(self, port: int, index: int) -> None:
            policy = Policy(key=os.urandom(30), ssrc_type=Policy.SSRC_ANY_OUTBOUND)
            self.session = Session(policy=policy)
            self.addr = ("127.0.0.1", port)
            self.ssrc = struct.pack("!I", 1000 + index)
            self.seq = 0
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(("127.0.0.1", 0))
            self.sock.setblocking(False)

    class In(asyncio.DatagramProtocol):
        def __init__(self, outs: list[Out]) -> None:
            self.outs = outs

        def datagram_received(self, data: bytes, addr: Any) -> None:
            head, rest = data[:2], data[12:]
            ts = data[4:8]
            for out in self.outs:
                out.seq = (out.seq + 1) & 0xFFFF
                packet = head + struct.pack("!H", out.seq) + ts + out.ssrc + rest
                with contextlib.suppress(BlockingIOError):  # dropped, as a forwarder would
                    out.sock.sendto(out.session.protect(packet), out.addr)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        outs = [Out(port, i) for i, port in enumerate(targets)]
        await loop.create_datagram_endpoint(lambda: In(outs), local_addr=("127.0.0.1", listen_port))
        print("ready", flush=True)
        await asyncio.Event().wait()

    uvloop.run(main())


class Count(asyncio.DatagramProtocol):
    packets = 0

    def datagram_received(self, data: bytes, addr: Any) -> None:
        Count.packets += 1


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Measure the floor; ``args`` needs subscribers, seconds, settle, rate and size."""
    loop = asyncio.get_running_loop()
    sinks = []
    for _ in range(args.subscribers):
        transport, _ = await loop.create_datagram_endpoint(Count, local_addr=("127.0.0.1", 0))
        sinks.append(transport)
    ports = [t.get_extra_info("sockname")[1] for t in sinks]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        listen = probe.getsockname()[1]
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--child", str(listen), *map(str, ports),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdout is not None
    try:
        async with asyncio.timeout(20):
            await child.stdout.readline()  # "ready"
        source, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, remote_addr=("127.0.0.1", listen)
        )
        payload = os.urandom(args.size - 12)
        sent = 0

        async def pace(seconds: float) -> None:
            nonlocal sent
            start, first = time.monotonic(), sent
            while (elapsed := time.monotonic() - start) < seconds:
                due = first + int(elapsed * args.rate)
                while sent < due:
                    header = struct.pack(
                        "!BBHII", 0x80, 96, sent & 0xFFFF, (sent * 300) & 0xFFFFFFFF, 42
                    )
                    source.sendto(header + payload)
                    sent += 1
                await asyncio.sleep(0.002)  # pacing the bench's own source

        await pace(args.settle)
        cpu0, recv0, sent0, t0 = cpu_seconds(child.pid), Count.packets, sent, time.monotonic()
        await pace(args.seconds)
        sent1, t1 = sent, time.monotonic()
        await asyncio.sleep(0.2)  # the last packets reach the subscribers
        cpu1, recv1 = cpu_seconds(child.pid), Count.packets
        forwarded = recv1 - recv0
        cpu = cpu1 - cpu0
        return {
            "subscribers": args.subscribers,
            "packet_bytes": args.size,
            "window_s": round(t1 - t0, 2),
            "published_packets_per_s": round((sent1 - sent0) / (t1 - t0), 1),
            "forwarded_packets": forwarded,
            "loss": round(1 - forwarded / ((sent1 - sent0) * args.subscribers), 4),
            "forwarder_cpu_share_of_one_core": round(cpu / (t1 - t0), 3),
            "us_per_forwarded_packet": round(cpu / forwarded * 1e6, 1) if forwarded else None,
        }
    finally:
        child.kill()
        await child.wait()


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        forwarder(int(sys.argv[2]), [int(p) for p in sys.argv[3:]])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=2.0)
    parser.add_argument("--rate", type=int, default=300, help="published packets per second")
    parser.add_argument("--size", type=int, default=800, help="RTP packet bytes")
    args = parser.parse_args()
    if not 1 <= args.subscribers <= 100 or not 1 <= args.seconds <= 300:
        parser.error("subscribers 1-100, seconds 1-300")
    if not 1 <= args.rate <= 5000 or not 100 <= args.size <= 1400:
        parser.error("rate 1-5000, size 100-1400")
    print(json.dumps(asyncio.run(run(args)), indent=2))


if __name__ == "__main__":
    main()
