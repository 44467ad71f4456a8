"""Recorder CPU: N participants publishing colour + tone, one recorder at 720p30.

Starts ``meetbox serve`` on a temporary data dir, joins N synthetic participants (a solid
colour with a moving square, so the encoders have something to do, and a tone), starts a
recording through the REST API (the server spawns ``python -m recorder``, which joins hidden),
lets it record for ``--seconds``, stops it through the API, and reads the recorder process's
CPU time (user + system, /proc/PID/stat) over the recording window. Prints CPU seconds per
recorded minute, cores used, the real-time factor (media duration / wall time), the mean
frame rate of the file (below 30 when the recorder fell behind and skipped frame slots) and
the file size. Bounded in time; targets only 127.0.0.1.

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

from sfu.synthetic import ColorTrack, ToneTrack
from signaling.client import MeetboxClient

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


async def wait_status(
    http: httpx.AsyncClient, recording_id: str, statuses: set[str], within: float
) -> dict[str, Any]:
    async with asyncio.timeout(within):
        while True:
            response = await http.get(f"/api/v1/recordings/{recording_id}")
            recording: dict[str, Any] = response.json()
            if recording["status"] in statuses:
                return recording
            if recording["status"] in ("complete", "failed", "aborted"):
                raise RuntimeError(f"the recording ended early: {recording}")
            await asyncio.sleep(0.2)  # polling the REST API, as an integrator would


def recorder_child(server_pid: int) -> int:
    """The ``python -m recorder`` process the server spawned."""
    for task in Path(f"/proc/{server_pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            if b"recorder" in Path(f"/proc/{child}/cmdline").read_bytes():
                return int(child)
    raise RuntimeError("the server has no recorder process")


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
            # Started the way a moderator or integrator starts one: the server spawns
            # ``python -m recorder`` with a hidden recorder token.
            response = await http.post(
                f"/api/v1/rooms/{room['id']}/recordings",
                json={"layout": args.layout, "preset": "720p"},
            )
            response.raise_for_status()
            recording_id = response.json()["id"]
            recording = await wait_status(http, recording_id, {"active"}, 30)
            recorder_pid = recorder_child(server.pid)
            cpu0, t0 = cpu_seconds(recorder_pid), time.monotonic()
            await asyncio.sleep(args.seconds)  # the measurement window
            cpu1, t1 = cpu_seconds(recorder_pid), time.monotonic()
            (await http.post(f"/api/v1/recordings/{recording_id}/stop")).raise_for_status()
            stopped_at = time.monotonic()
            recording = await wait_status(http, recording_id, {"complete", "failed"}, 60)
            output = Path(data) / "recording.mp4"
            async with http.stream("GET", f"/api/v1/recordings/{recording_id}/media") as media:
                with output.open("wb") as f:
                    async for chunk in media.aiter_bytes():
                        f.write(chunk)
        with av.open(str(output)) as container:
            duration = (container.duration or 0) / 1e6
            frames = container.streams.video[0].frames
        wall = t1 - t0
        cpu = cpu1 - cpu0
        return {
            "participants": args.participants,
            "published": f"{args.width}x{args.height}",
            "recording": "1280x720@30",
            "encoder": "libx264 superfast, 1 thread (the recorder's defaults)",
            "window_s": round(wall, 2),
            "recorder_cpu_s": round(cpu, 2),
            "cpu_s_per_recorded_minute": round(cpu / wall * 60, 2),
            "cores": round(cpu / wall, 3),
            "media_duration_s": round(duration, 2),
            "real_time_factor": round(duration / (stopped_at - t0), 3),
            "video_frames": frames,
            # Below 30: the recorder fell behind and skipped frame slots to stay on time.
            "mean_fps": round(frames / duration, 2) if duration else None,
            "frames_short_of_30fps": round(30 * duration) - frames,
            "file_bytes": output.stat().st_size,
            "status": recording["status"],
            "error": recording.get("error"),
        }
    finally:
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
    args = parser.parse_args()
    if not 1 <= args.participants <= 9 or not 5 <= args.seconds <= 600:
        parser.error("participants 1-9, seconds 5-600")
    print(json.dumps(asyncio.run(run(args)), indent=2))


if __name__ == "__main__":
    main()
