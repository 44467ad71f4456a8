"""Running ``python -m recorder`` the way the server does, and reading what it wrote."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from sfu.synthetic import ColorTrack, ToneTrack
from signaling.client import MeetboxClient
from tests.conftest import Server

#: name -> (colour, tone Hz); saturated so they survive VP8 and H.264.
PEOPLE = {
    "Red": ((230, 20, 20), 440.0),
    "Green": ((20, 210, 40), 660.0),
    "Blue": ((20, 40, 230), 880.0),
}


class RecorderProcess:
    """A recorder subprocess: control lines in, status events out."""

    def __init__(self, proc: asyncio.subprocess.Process, output: Path) -> None:
        self.proc = proc
        self.output = output
        self.events: list[dict[str, Any]] = []

    async def next_event(self, within: float = 20.0) -> dict[str, Any]:
        assert self.proc.stdout is not None
        async with asyncio.timeout(within):
            line = await self.proc.stdout.readline()
        assert line, f"recorder stdout closed; events so far: {self.events}"
        event: dict[str, Any] = json.loads(line)
        self.events.append(event)
        return event

    async def wait_event(self, name: str, within: float = 20.0) -> dict[str, Any]:
        """The next ``name`` event, passing over progress (and before a final event,
        ``ending``) events."""
        async with asyncio.timeout(within):
            while True:
                event = await self.next_event(within)
                if event["event"] == name:
                    return event
                passable = (
                    {"progress", "ending"} if name in ("complete", "failed") else {"progress"}
                )
                assert event["event"] in passable, f"expected {name}, got {event}"

    async def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    async def wait(self, within: float = 20.0) -> int:
        async with asyncio.timeout(within):
            return await self.proc.wait()


@contextlib.asynccontextmanager
async def recorder(
    server: Server,
    room: Any,
    output: Path,
    *args: str,
    token: str | None = None,
    token_in_env: bool = False,
) -> AsyncIterator[RecorderProcess]:
    """The recorder on ``room``, with ``--token`` (or the token in its environment)."""
    if token is None:
        token = await server.token(room, "speaker", "Recorder")
    env = dict(os.environ)
    env.pop("MEETBOX_RECORDER_TOKEN", None)
    if token_in_env:
        env["MEETBOX_RECORDER_TOKEN"] = token
    else:
        args = ("--token", token, *args)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "recorder",
        "--ws-url", server.ws_url, "--output", str(output),
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    rec = RecorderProcess(proc, output)
    try:
        yield rec
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@contextlib.asynccontextmanager
async def participants(
    server: Server, room: Any, names: list[str] | None = None
) -> AsyncIterator[dict[str, MeetboxClient]]:
    """``names`` (from PEOPLE) joined in order, each publishing their colour and tone."""
    made: dict[str, MeetboxClient] = {}
    try:
        for name in names or list(PEOPLE):
            colour, tone = PEOPLE[name]
            client = MeetboxClient(server.ws_url, await server.token(room, "speaker", name))
            made[name] = client
            await client.connect()
            await client.publish({"camera": ColorTrack(colour), "microphone": ToneTrack(tone)})
        yield made
    finally:
        for client in made.values():
            await client.close()


def rgb_at(frame: av.VideoFrame, x: int, y: int, radius: int = 6) -> tuple[int, int, int]:
    """Mean colour of a small square around (x, y)."""
    rgb = frame.to_ndarray(format="rgb24")
    patch = rgb[y - radius : y + radius, x - radius : x + radius].reshape(-1, 3)
    r, g, b = (int(c) for c in patch.mean(axis=0))
    return r, g, b


def close_to(a: tuple[int, int, int], b: tuple[int, int, int], tolerance: int = 45) -> bool:
    return all(abs(x - y) < tolerance for x, y in zip(a, b, strict=True))


def decode_audio(path: Path) -> npt.NDArray[np.float32]:
    """All the audio of ``path``, first channel, float."""
    chunks = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            chunks.append(frame.to_ndarray()[0].astype(np.float32))
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


def band_energy(samples: npt.NDArray[np.float32], rate: int, freq: float, width: float) -> float:
    """Spectral energy within ``width``/2 Hz of ``freq``."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)))) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    band = (freqs >= freq - width / 2) & (freqs <= freq + width / 2)
    return float(spectrum[band].sum())
