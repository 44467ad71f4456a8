"""RELIABILITY 19 on a real ``meetbox serve`` process and real signals: from the first SIGTERM
on, joins are refused (REST 503, WebSocket ``server_shutting_down``), participants get
``bye``; a second signal ends the process at once, even with a recorder that never finishes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.conftest import API_KEY
from tests.meetbox.conftest import Server, start_server

pytestmark = pytest.mark.timeout(60)

#: Stands in for ``python -m recorder``: it ignores ``stop`` (a recorder stuck finishing its
#: file) and only goes when its control pipe closes, so the server's drain waits for it.
STUCK_RECORDER = """\
import sys

for _line in sys.stdin:
    pass
"""


def stuck_recorder_env(tmp_path: Path) -> dict[str, str]:
    package = tmp_path / "stub" / "recorder"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(STUCK_RECORDER)
    path = os.pathsep.join(p for p in (str(package.parent), os.environ.get("PYTHONPATH")) if p)
    return {"MEETBOX_INITIAL_API_KEY": API_KEY, "PYTHONPATH": path}


def until_closed(ws: ClientConnection) -> list[dict[str, Any]]:
    """Every message until the server closes the socket."""
    messages = []
    try:
        while True:
            messages.append(json.loads(ws.recv(timeout=10)))
    except ConnectionClosed:
        return messages


def join_token(server: Server, secret: str, nickname: str) -> str:
    response = httpx.post(
        f"{server.url}/api/v1/join", json={"secret": secret, "nickname": nickname}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def assert_refused(ws: ClientConnection, token: str) -> None:
    """A join on ``ws`` is refused: an error, then close 1001 (it may be refused before it
    gets to ask)."""
    with contextlib.suppress(ConnectionClosed):
        ws.send(json.dumps({"type": "join", "token": token}))
    messages = until_closed(ws)
    assert [m["type"] for m in messages] == ["error"], messages
    assert messages[0]["code"] == "server_shutting_down"
    assert ws.close_code == 1001


@pytest.mark.parametrize("second", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_refuses_joins_tells_everyone_and_a_second_signal_exits_at_once(
    tmp_path: Path, second: signal.Signals
) -> None:
    # No free-space floor: the recording must start on whatever disk the tests run on.
    server = start_server(
        tmp_path / "data", "--recording-min-free-mb", "0", env=stuck_recorder_env(tmp_path)
    )
    ws_url = server.url.replace("http", "ws") + "/ws"
    try:
        with (
            httpx.Client(base_url=server.url, headers={"X-API-Key": API_KEY}) as http,
            contextlib.ExitStack() as sockets,
        ):
            room = http.post("/api/v1/rooms", json={}).json()
            secret = room["links"]["speaker"]["secret"]
            in_meeting = sockets.enter_context(connect(ws_url, open_timeout=10))
            in_meeting.send(
                json.dumps({"type": "join", "token": join_token(server, secret, "Ada")})
            )
            assert json.loads(in_meeting.recv(timeout=10))["type"] == "joined"
            started = http.post(f"/api/v1/rooms/{room['id']}/recordings", json={})
            assert started.status_code == 201, started.text
            # Open before the signal, joining after it.
            waiting = sockets.enter_context(connect(ws_url, open_timeout=10))
            late_token = join_token(server, secret, "Bo")

            server.process.send_signal(signal.SIGTERM)
            refused = httpx.post(
                f"{server.url}/api/v1/join", json={"secret": secret, "nickname": "Cy"}
            )
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["type"] == "urn:meetbox:problem:server-shutting-down"
            assert int(refused.headers["retry-after"]) > 0
            assert_refused(waiting, late_token)
            with connect(ws_url, open_timeout=10) as fresh:
                assert_refused(fresh, late_token)
            told = until_closed(in_meeting)
            assert {"type": "bye", "reason": "server_shutting_down"} in told
            assert not any(m["type"] == "joined" for m in told)

        # The stuck recorder holds the drain open (20 s); a second signal does not wait.
        assert server.process.poll() is None
        forced_at = time.monotonic()
        server.process.send_signal(second)
        status = server.process.wait(timeout=10)
        assert time.monotonic() - forced_at < 3
        assert status == 1
    finally:
        server.stop()
    log = "".join(server.stderr)
    assert "Traceback" not in log
    assert "exiting at once" in log


def test_sigterm_alone_still_exits_by_itself(tmp_path: Path) -> None:
    """One signal and nothing stuck: the drain ends and the process exits on its own."""
    server = start_server(tmp_path / "data", env={"MEETBOX_INITIAL_API_KEY": API_KEY})
    try:
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=15) in (0, -signal.SIGTERM)
    except subprocess.TimeoutExpired:
        pytest.fail("the server did not exit after SIGTERM")
    finally:
        server.stop()


def worker_pids(pid: int) -> list[int]:
    """The media worker processes of the server ``pid``."""
    found = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as f:
            for child in f.read().split():
                with open(f"/proc/{child}/cmdline", "rb") as cmd:
                    if b"meetbox.worker" in cmd.read():
                        found.append(int(child))
    return found


def gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"  # a zombie has exited
    except FileNotFoundError:
        return True


def test_sigterm_stops_the_media_workers_with_the_server(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "data", "--workers", "2", env={"MEETBOX_INITIAL_API_KEY": API_KEY}
    )
    try:
        workers = worker_pids(server.process.pid)
        assert len(workers) == 2
        # A worker ignores SIGTERM itself (a service manager signals the whole group):
        os.kill(workers[0], signal.SIGTERM)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=20) in (0, -signal.SIGTERM)
        assert all(gone(w) for w in workers)
    finally:
        server.stop()
    log = "".join(server.stderr)
    assert "exited with" not in log, log  # no worker died before it was told to stop


def test_workers_of_a_killed_server_exit_by_themselves(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "data", "--workers", "2", env={"MEETBOX_INITIAL_API_KEY": API_KEY}
    )
    try:
        workers = worker_pids(server.process.pid)
        assert len(workers) == 2
        server.process.kill()
        server.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while not all(gone(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)  # polling other processes' exit: nothing to await
        assert all(gone(w) for w in workers)
    finally:
        server.stop()
