"""CPU per packet of a pipe between two media workers (a big meeting spread over workers).

One process, one loop (uvloop, as in a worker), both ends of a real pipe (UDP on 127.0.0.1,
sfu.piping): a published video track is fed ``--packets`` RTP packets of ``--size`` bytes,
once with a pipe attached (the owner's ``PipeOutput`` writes each packet into it, the far
side's ``PipedTrack`` parses and routes it, to no subscriber) and once without, alternating
``--rounds`` times. The difference of CPU time (``time.process_time``) divided by the
packets piped is what the pipe adds per packet, both ends together; the second worker's
forwarding to its own subscribers is the same as the first worker's and not counted.
Bounded in count and time; loopback only.

    .venv/bin/python bench/pipe_cpu.py --packets 20000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from types import SimpleNamespace
from typing import Any

from aiortc import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from sfu.listener import TrackInfo
from sfu.piping import PipedTrack, PipeIn, PipeOut, open_end
from sfu.speaker import ActiveSpeaker
from sfu.track import PublishedTrack

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
KEY = bytes([0x10, 0x00, 0x00, 0x9D, 0x01, 0x2A])
BATCH = 40  # packets in flight at most: the receiving socket buffer never overflows


class _Counting(PipedTrack):
    """The far side's track, telling when it has received ``target`` packets."""

    __slots__ = ("arrived", "target")

    def receive(self, packet: RtpPacket) -> None:
        super().receive(packet)
        if self.router.packets >= self.target:
            self.arrived.set()


class _Receiver:
    async def _send_rtcp_pli(self, media_ssrc: int) -> None:
        pass

    async def _send_rtcp_nack(self, media_ssrc: int, lost: list[int]) -> None:
        pass


def _track() -> PublishedTrack:
    owner: Any = SimpleNamespace(id="pub", room=SimpleNamespace(speaker=ActiveSpeaker()))
    info = TrackInfo("pub:0", "pub", "video", "camera")
    return PublishedTrack(info, owner, _Receiver(), VP8)  # type: ignore[arg-type]


async def _feed(track: PublishedTrack, packets: int, size: int, far: _Counting | None) -> float:
    payload = KEY + bytes(size - len(KEY))
    start = time.process_time()
    seq = 0
    for first in range(0, packets, BATCH):
        for seq in range(first, min(first + BATCH, packets)):
            await track.on_rtp(RtpPacket(96, 0, seq & 0xFFFF, seq * 3000, 0xAAAA, payload))
        if far is not None:
            far.target, far.arrived = seq + 1, asyncio.Event()
            async with asyncio.timeout(10):
                await far.arrived.wait()
    return time.process_time() - start


async def run(packets: int, size: int, rounds: int) -> dict[str, Any]:
    with_pipe, without = [], []
    for _ in range(rounds):
        plain = _track()
        without.append(await _feed(plain, packets, size, None))

        owner = _track()
        out_end, in_end = await open_end(), await open_end()
        out_end.connect(in_end.port)
        in_end.connect(out_end.port)
        pipe_out, pipe_in = PipeOut(out_end), PipeIn(in_end)
        far = _Counting(owner.info, VP8, 1, in_end, ActiveSpeaker())
        pipe_in.tracks[1] = far
        pipe_out.attach(owner, 1)
        with_pipe.append(await _feed(owner, packets, size, far))
        assert far.router.packets == packets, "packets were lost on the pipe"
        pipe_out.close()
        pipe_in.close()
    extra = statistics.median(with_pipe) - statistics.median(without)
    return {
        "packets": packets,
        "payload_bytes": size,
        "rounds": rounds,
        "cpu_us_per_packet_without_pipe": round(statistics.median(without) / packets * 1e6, 2),
        "cpu_us_per_packet_with_pipe": round(statistics.median(with_pipe) / packets * 1e6, 2),
        "pipe_cpu_us_per_piped_packet": round(extra / packets * 1e6, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--packets", type=int, default=20000)
    parser.add_argument("--size", type=int, default=1000, help="payload bytes")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not 1000 <= args.packets <= 200_000 or not 1 <= args.rounds <= 20:
        parser.error("--packets 1000-200000, --rounds 1-20")
    if not 16 <= args.size <= 1200:
        parser.error("--size 16-1200")
    import uvloop  # the loop media workers run on

    print(json.dumps(uvloop.run(run(args.packets, args.size, args.rounds)), indent=2))


if __name__ == "__main__":
    main()
