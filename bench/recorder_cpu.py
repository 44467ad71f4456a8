"""Recorder CPU: N participants publishing colour + tone, one recorder at 720p30.

Starts ``meetbox serve`` on a temporary data dir, joins N synthetic participants (a solid
colour with a moving square, so the encoders have something to do, and a tone), spawns
``python -m recorder`` the way the server does, lets it record for ``--seconds``, stops it,
and reads its CPU time (user + system, /proc/PID/stat) over the recording window. Prints
CPU seconds per recorded minute, cores used, the real-time factor (media duration / wall
time) and the file size. Bounded in time; targets only 127.0.0.1.

    .venv/bin/python bench/recorder_cpu.py --participants 4 --seconds 60
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
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np

from sfu.client import MeetboxClient
from sfu.synthetic import ColorTrack, ToneTrack

API_KEY = "mbk_bench-key-0123456789abcdefghijkl"
CLK_TCK = os.sysconf("SC_CLK_TCK")
COLOURS = [(220, 40, 40), (40, 200, 60), (40, 60, 220), (220, 200, 40), (200, 40, 200)]
TONES = [440.0, 550.0, 660.0, 880.0, 990.0]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class MovingTrack(ColorTrack):
    """A solid colour with a bright square moving across it, like a person moving a bit."""

    async def recv(self) -> Any:
        frame: av.VideoFrame = await super().recv()
        width, height = self._size
        luma = np.frombuffer(self._planes[0], dtype=np.uint8).reshape(height, width).copy()
        side = height // 4
        x = (int(frame.pts or 0) // 3000 * 4) % (width - side)
        luma[height // 3 : height // 3 + side, x : x + side] = 235
        frame.planes[0].update(luma.tobytes())
        return frame


async def events(stdout: asyncio.StreamReader) -> dict[str, Any]:
    line = await stdout.readline()
    if not line:
        raise RuntimeError("the recorder exited early")
    event: dict[str, Any] = json.loads(line)
    return event


async def run(args: argparse.Namespace) -> dict[str, Any]:
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
    recorder: asyncio.subprocess.Process | None = None
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
            for i in range(args.participants):
                client = MeetboxClient(ws, await token(f"Person {i + 1}"))
                clients.append(client)
                await client.connect()
                video = MovingTrack(COLOURS[i % len(COLOURS)], args.width, args.height)
                await client.publish(
                    {"camera": video, "microphone": ToneTrack(TONES[i % len(TONES)])}
                )
            output = Path(data) / "recording.mp4"
            recorder = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "recorder", "--ws-url", ws, "--output", str(output),
                "--layout", args.layout, "--width", "1280", "--height", "720", "--fps", "30",
                "--preset", args.preset, "--threads", str(args.threads),
                "--log-level", args.log_level,
                env={**os.environ, "MEETBOX_RECORDER_TOKEN": await token("Recorder")},
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
        assert recorder.stdout is not None and recorder.stdin is not None
        async with asyncio.timeout(30):
            while (await events(recorder.stdout))["event"] != "active":
                pass
        cpu0, t0 = cpu_seconds(recorder.pid), time.monotonic()
        await asyncio.sleep(args.seconds)  # the measurement window
        cpu1, t1 = cpu_seconds(recorder.pid), time.monotonic()
        recorder.stdin.write(b"stop\n")
        await recorder.stdin.drain()
        stopped_at = time.monotonic()
        async with asyncio.timeout(60):
            while (final := await events(recorder.stdout))["event"] not in ("complete", "failed"):
                pass
            cpu2 = cpu_seconds(recorder.pid)
            await recorder.wait()
        with av.open(str(output)) as container:
            duration = (container.duration or 0) / 1e6
            frames = container.streams.video[0].frames
        wall = t1 - t0
        cpu = cpu1 - cpu0
        return {
            "participants": args.participants,
            "published": f"{args.width}x{args.height}",
            "recording": "1280x720@30",
            "preset": args.preset,
            "threads": args.threads,
            "window_s": round(wall, 2),
            "recorder_cpu_s": round(cpu, 2),
            "cpu_s_per_recorded_minute": round(cpu / wall * 60, 2),
            "cores": round(cpu / wall, 3),
            "finalize_cpu_s": round(cpu2 - cpu1, 2),
            "media_duration_s": round(duration, 2),
            "real_time_factor": round(duration / (stopped_at - t0), 3),
            "video_frames": frames,
            "mean_fps": round(frames / duration, 2) if duration else None,
            "file_bytes": output.stat().st_size,
            "final_event": final,
        }
    finally:
        if recorder is not None and recorder.returncode is None:
            recorder.kill()
            await recorder.wait()
        for client in clients:
            await client.close()
        server.terminate()
        async with asyncio.timeout(20):
            await server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--layout", default="grid", choices=["grid", "speaker", "single_speaker"])
    parser.add_argument("--preset", default="superfast", help="libx264 preset of the recorder")
    parser.add_argument("--threads", type=int, default=1, help="libx264 threads")
    parser.add_argument("--log-level", default="warning", help="the recorder's (on stderr)")
    args = parser.parse_args()
    if not 1 <= args.participants <= 9 or not 5 <= args.seconds <= 600:
        parser.error("participants 1-9, seconds 5-600")
    print(json.dumps(asyncio.run(run(args)), indent=2))


if __name__ == "__main__":
    main()
