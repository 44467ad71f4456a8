"""RELIABILITY 21 for the database: a real ``meetbox serve`` whose data dir is on a tmpfs
filled to the last byte (ENOSPC from the kernel) after the server started. Writes answer 507,
reads go on, a meeting in progress still ends with ``bye``, and SIGTERM still stops it at
once; once space is freed, nothing was lost."""

from __future__ import annotations

import contextlib
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.conftest import API_KEY
from tests.diskfull import fill, tmpfs
from tests.meetbox.conftest import run_meetbox, start_server

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "disk") as mount:
        yield mount


def test_a_full_data_disk_answers_507_reads_go_on_and_shutdown_is_clean(disk: Path) -> None:
    data = disk / "data"
    server = start_server(data, env={"MEETBOX_INITIAL_API_KEY": API_KEY})
    ws_url = server.url.replace("http", "ws") + "/ws"
    try:
        with httpx.Client(base_url=server.url, headers={"X-API-Key": API_KEY}) as http:
            room = http.post("/api/v1/rooms", json={"name": "Before"}).json()
            secret = room["links"]["speaker"]["secret"]
            token = httpx.post(
                f"{server.url}/api/v1/join", json={"secret": secret, "nickname": "Ada"}
            ).json()["token"]
            other = http.post("/api/v1/rooms", json={"name": "Quiet"}).json()
            other_token = httpx.post(
                f"{server.url}/api/v1/join",
                json={"secret": other["links"]["speaker"]["secret"], "nickname": "Bo"},
            ).json()["token"]
            # A key not used yet: its first use after the disk filled writes "last used".
            created_key = run_meetbox(
                "api-key", "create", "--name", "reader", "--data-dir", str(data)
            )
            assert created_key.returncode == 0, created_key.stderr
            reader = {"X-API-Key": created_key.stdout.strip().splitlines()[-1]}
            with connect(ws_url, open_timeout=10) as ws:
                ws.send(json.dumps({"type": "join", "token": token}))
                assert json.loads(ws.recv(timeout=10))["type"] == "joined"
                filler = fill(disk)

                # The key's "last used" cannot be saved: the read is answered all the same.
                listed = http.get("/api/v1/rooms", headers=reader)
                assert listed.status_code == 200, listed.text
                assert [r["name"] for r in listed.json()["items"]] == ["Quiet", "Before"]
                assert http.get(f"/api/v1/rooms/{room['id']}", headers=reader).status_code == 200

                created = http.post("/api/v1/rooms", json={"name": "After"})
                assert created.status_code == 507, created.text
                assert created.headers["content-type"] == "application/problem+json"
                problem = created.json()
                assert problem["type"] == "urn:meetbox:problem:insufficient-storage"
                assert problem["title"] == "Insufficient storage"
                assert "free" in problem["detail"] and "data dir" in problem["detail"]

                # A meeting that cannot be recorded in history does not start.
                with connect(ws_url, open_timeout=10) as refused:
                    refused.send(json.dumps({"type": "join", "token": other_token}))
                    answer = json.loads(refused.recv(timeout=10))
                    assert (answer["type"], answer["code"]) == ("error", "insufficient_storage")
                    with pytest.raises(ConnectionClosed):
                        refused.recv(timeout=10)
                    assert refused.close_code == 1011

                started_at = time.monotonic()
                server.process.send_signal(signal.SIGTERM)
                told = []
                with contextlib.suppress(ConnectionClosed):
                    while True:
                        told.append(json.loads(ws.recv(timeout=10)))
            assert {"type": "bye", "reason": "server_shutting_down"} in told, "".join(server.stderr)
        assert server.process.wait(timeout=15) in (0, -signal.SIGTERM)
        assert time.monotonic() - started_at < 5
    finally:
        server.stop()
    log = "".join(server.stderr)
    assert "Traceback" not in log, log
    assert "disk holding the database" in log
    assert log.count("last use is not being recorded") == 1

    # Space again: what was saved is there, and the meeting is closed in history.
    filler.unlink()
    again = start_server(data)
    try:
        with httpx.Client(base_url=again.url, headers={"X-API-Key": API_KEY}) as http:
            names = [r["name"] for r in http.get("/api/v1/rooms").json()["items"]]
            assert names == ["Quiet", "Before"]
            meetings = http.get(f"/api/v1/rooms/{room['id']}/meetings").json()["items"]
            assert meetings[0]["end_reason"] == "server_shutting_down"
    finally:
        again.stop()
