"""``meetbox`` as a self-hoster runs it: real processes, real ports, real files."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from tests.conftest import API_KEY
from tests.meetbox.conftest import Server, run_meetbox, start_server


def _credentials(server: Server) -> dict[str, str]:
    found = {}
    for line in server.stdout:
        if "admin password:" in line:
            found["password"] = line.split(":", 1)[1].strip()
        if "API key:" in line:
            found["key"] = line.split(":", 1)[1].strip()
    return found


def test_first_start_prints_credentials_once_and_the_readme_tour_works(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    try:
        creds = _credentials(server)
        assert creds["key"].startswith("mbk_") and len(creds["password"]) >= 12
        with httpx.Client(base_url=server.url, headers={"X-API-Key": creds["key"]}) as http:
            # The README's curl tour: create a room, read its links, join.
            room = http.post("/api/v1/rooms", json={"name": "Weekly sync"}).json()
            again = http.get(f"/api/v1/rooms/{room['id']}").json()
            assert set(again["links"]) == {"moderator", "speaker", "recordings"}
            assert again["links"]["speaker"]["url"].startswith(
                server.url.replace("127.0.0.1", "localhost")
            )
            joined = httpx.post(
                f"{server.url}/api/v1/join",
                json={"secret": again["links"]["speaker"]["secret"], "nickname": "Ada"},
            )
            assert joined.status_code == 200 and joined.json()["role"] == "speaker"
    finally:
        # uvicorn shuts down gracefully on SIGTERM, then re-raises it as its exit status.
        assert server.stop() in (0, -15)
    log = "".join(server.stderr)
    assert "Application shutdown complete" in log
    assert creds["key"] not in log and creds["password"] not in log  # printed, never logged

    # Second start on the same data: the room is still there, nothing secret is printed.
    server = start_server(data)
    try:
        assert _credentials(server) == {}
        with httpx.Client(base_url=server.url, headers={"X-API-Key": creds["key"]}) as http:
            assert [r["name"] for r in http.get("/api/v1/rooms").json()["items"]] == ["Weekly sync"]
    finally:
        server.stop()


def test_initial_credentials_from_the_environment(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "data",
        env={
            "MEETBOX_INITIAL_API_KEY": API_KEY,
            "MEETBOX_INITIAL_ADMIN_PASSWORD": "correct horse battery",
        },
    )
    try:
        assert _credentials(server) == {}
        response = httpx.get(f"{server.url}/api/v1/rooms", headers={"X-API-Key": API_KEY})
        assert response.status_code == 200
    finally:
        server.stop()


def test_too_short_initial_key_is_refused(tmp_path: Path) -> None:
    result = run_meetbox(
        "serve",
        "--data-dir",
        str(tmp_path / "d"),
        "--port",
        "1",
        env={"MEETBOX_INITIAL_API_KEY": "short"},
    )
    assert result.returncode == 1
    assert "at least 24 characters" in result.stderr
    assert "Traceback" not in result.stderr


def test_second_server_on_the_same_data_dir_is_refused(live_server: Server) -> None:
    result = run_meetbox("serve", "--data-dir", str(live_server.data_dir), "--port", "1")
    assert result.returncode == 1
    assert f"another meetbox server (pid {live_server.process.pid})" in result.stderr


def _db(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    return data / "meetbox.db"


def test_corrupt_database_refuses_to_start(tmp_path: Path) -> None:
    db = _db(tmp_path)
    db.write_bytes(b"\x00garbage" * 1000)
    result = run_meetbox("serve", "--data-dir", str(db.parent))
    assert result.returncode == 1
    assert "corrupt" in result.stderr and "backup" in result.stderr
    assert "Traceback" not in result.stderr


def test_newer_schema_refuses_to_start(tmp_path: Path) -> None:
    db = _db(tmp_path)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 999")
    result = run_meetbox("serve", "--data-dir", str(db.parent))
    assert result.returncode == 1 and "newer meetbox" in result.stderr


def test_locked_database_refuses_to_start(tmp_path: Path) -> None:
    db = _db(tmp_path)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = run_meetbox("serve", "--data-dir", str(db.parent))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 1 and "locked by another process" in result.stderr


@pytest.mark.skipif(not shutil.which("setpriv"), reason="needs setpriv to drop root")
def test_read_only_data_dir_refuses_to_start() -> None:
    # Root writes anywhere, so the server runs as nobody on a folder nobody cannot write.
    data = Path(tempfile.mkdtemp(prefix="meetbox-ro-"))
    try:
        (data / "meetbox.db").touch()
        data.chmod(0o755)
        cmd = [sys.executable, "-m", "meetbox", "serve", "--data-dir", str(data), "--port", "1"]
        if os.geteuid() == 0:
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
        else:
            data.chmod(0o555)
        result = subprocess.run(
            cmd, capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": "/tmp"}
        )
        assert result.returncode == 1, result.stderr
        assert "cannot be written" in result.stderr and "write access" in result.stderr
    finally:
        data.chmod(0o755)
        shutil.rmtree(data)


def test_api_key_commands_work_beside_a_running_server(live_server: Server) -> None:
    data = ["--data-dir", str(live_server.data_dir)]
    created = run_meetbox("api-key", "create", "--name", "deploy-bot", *data)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    key_id = created.stdout.split()[3]
    assert (
        httpx.get(f"{live_server.url}/api/v1/rooms", headers={"X-API-Key": key}).status_code == 200
    )

    listing = run_meetbox("api-key", "list", *data)
    assert "deploy-bot" in listing.stdout and "initial" in listing.stdout
    assert key not in listing.stdout

    revoked = run_meetbox("api-key", "revoke", key_id, *data)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert (
        httpx.get(f"{live_server.url}/api/v1/rooms", headers={"X-API-Key": key}).status_code == 401
    )
    missing = run_meetbox("api-key", "revoke", "key_nope", *data)
    assert missing.returncode == 1 and "no API key" in missing.stderr


def test_json_logs(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "data", "--log-format", "json", env={"MEETBOX_INITIAL_API_KEY": API_KEY}
    )
    server.stop()
    entries = [json.loads(line) for line in server.stderr if line.startswith("{")]
    assert any(e["msg"].startswith("Uvicorn running on") for e in entries)
    assert all({"ts", "level", "logger", "msg"} <= set(e) for e in entries)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--port", "99999"], {}, "port must be between 1 and 65535"),
        (["--port", "http"], {}, "port must be a number"),
        ([], {"MEETBOX_PUBLIC_URL": "meet.example.com"}, "public_url must be an http(s) URL"),
    ],
)
def test_bad_settings_exit_2_with_the_setting_named(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    result = run_meetbox("serve", "--data-dir", str(tmp_path), *args, env=env)
    assert result.returncode == 2 and message in result.stderr


def test_sigterm_mid_meeting_tells_everyone_and_closes_history(tmp_path: Path) -> None:
    from websockets.sync.client import connect

    server = start_server(tmp_path / "data", env={"MEETBOX_INITIAL_API_KEY": API_KEY})
    try:
        with httpx.Client(base_url=server.url, headers={"X-API-Key": API_KEY}) as http:
            room = http.post("/api/v1/rooms", json={}).json()
            secret = room["links"]["speaker"]["secret"]
            token = http.post("/api/v1/join", json={"secret": secret, "nickname": "Ada"}).json()
        ws_url = server.url.replace("http", "ws") + "/ws"
        with connect(ws_url, open_timeout=10) as ws:
            ws.send(json.dumps({"type": "join", "token": token["token"]}))
            assert json.loads(ws.recv(timeout=10))["type"] == "joined"
            server.process.terminate()
            messages = []
            try:
                while True:
                    messages.append(json.loads(ws.recv(timeout=10)))
            except Exception:
                pass
        assert {"type": "bye", "reason": "server_shutting_down"} in messages
        assert server.process.wait(timeout=20) in (0, -15)
    finally:
        server.stop()
    # History, read from the data dir by a fresh server, says why the meeting ended.
    again = start_server(tmp_path / "data")
    try:
        with httpx.Client(base_url=again.url, headers={"X-API-Key": API_KEY}) as http:
            meetings = http.get(f"/api/v1/rooms/{room['id']}/meetings").json()["items"]
        assert meetings[0]["end_reason"] == "server_shutting_down"
        assert meetings[0]["participants"][0]["leave_reason"] == "server_shutting_down"
    finally:
        again.stop()
