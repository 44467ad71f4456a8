"""A real ``meetbox serve`` process on a loopback port, for tests that need the real thing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, Queue

import pytest

from tests.conftest import API_KEY

STARTUP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    data_dir: Path
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return self.process.returncode


def run_meetbox(
    *args: str, env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meetbox", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def start_server(data_dir: Path, *extra: str, env: dict[str, str] | None = None) -> Server:
    """Start ``meetbox serve`` and return once it accepts connections (or has exited)."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "meetbox",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    server = Server(process, f"http://127.0.0.1:{port}", data_dir)
    ready: Queue[bool] = Queue()

    def pump(stream: object, sink: list[str], marker: str | None) -> None:
        for line in stream:  # type: ignore[attr-defined]
            sink.append(line)
            if marker and marker in line:
                ready.put(True)
        ready.put(False)

    assert process.stdout is not None and process.stderr is not None
    threading.Thread(target=pump, args=(process.stdout, server.stdout, None), daemon=True).start()
    threading.Thread(
        target=pump, args=(process.stderr, server.stderr, "Uvicorn running on"), daemon=True
    ).start()
    try:
        ready.get(timeout=STARTUP_TIMEOUT)
    except Empty:
        server.stop()
        raise AssertionError("meetbox did not start: " + "".join(server.stderr)) from None
    return server


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[Server]:
    # Fuzzed webhook URLs must not send anything off this machine.
    env = {"MEETBOX_INITIAL_API_KEY": API_KEY, "MEETBOX_WEBHOOK_HOSTS": "127.0.0.1"}
    server = start_server(tmp_path / "data", env=env)
    assert server.process.poll() is None, "".join(server.stderr)
    yield server
    server.stop()
