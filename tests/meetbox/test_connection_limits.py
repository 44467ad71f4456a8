"""Connections a client opens and then starves, against a real ``meetbox serve`` with raw
sockets (RELIABILITY 9): each is closed by the server within its documented time, and
X-Forwarded-For only counts when it comes from a proxy the operator named."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from meetbox.timeouts import HEAD_TIMEOUT, KEEP_ALIVE_TIMEOUT
from tests.meetbox.conftest import Server, start_server

#: How long past its deadline a connection may take to be closed (a loaded CI machine).
SLACK = 3.0


@pytest.fixture
def plain_server(tmp_path: Path) -> Iterator[Server]:
    server = start_server(tmp_path / "data")
    yield server
    server.stop()


async def _open(server: Server) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(server.url)
    assert parts.hostname is not None and parts.port is not None
    return await asyncio.open_connection(parts.hostname, parts.port)


async def _seconds_until_closed(
    reader: asyncio.StreamReader, limit: float, trickle: asyncio.StreamWriter | None = None
) -> float:
    """Read until the server closes (EOF); how long that took. With ``trickle``, one more
    header byte goes out each second while waiting, as a slowloris client does."""
    start = time.monotonic()
    async with asyncio.timeout(limit):
        while True:
            try:
                if trickle is not None:
                    trickle.write(b"x")
                    await trickle.drain()
                chunk = await asyncio.wait_for(reader.read(65536), 1.0 if trickle else None)
            except TimeoutError:
                continue  # still open: trickle on
            except (ConnectionResetError, BrokenPipeError):
                break
            if not chunk:
                break
    return time.monotonic() - start


async def test_idle_and_half_sent_connections_are_closed_in_time(plain_server: Server) -> None:
    limit = HEAD_TIMEOUT + SLACK

    async def silent() -> float:
        reader, writer = await _open(plain_server)  # connects, then sends nothing
        try:
            return await _seconds_until_closed(reader, limit)
        finally:
            writer.close()

    async def slowloris() -> float:
        reader, writer = await _open(plain_server)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: meetbox\r\nX-Slow: ")
        try:
            return await _seconds_until_closed(reader, limit, trickle=writer)
        finally:
            writer.close()

    async def kept_alive() -> float:
        reader, writer = await _open(plain_server)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: meetbox\r\n\r\n")
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert head.startswith(b"HTTP/1.1 200")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            return await _seconds_until_closed(reader, KEEP_ALIVE_TIMEOUT + SLACK)
        finally:
            writer.close()

    silent_s, slow_s, idle_s = await asyncio.gather(silent(), slowloris(), kept_alive())
    # Closed by the server (a timeout above would have failed the test), at its deadline.
    assert HEAD_TIMEOUT - 1 <= silent_s <= limit
    assert HEAD_TIMEOUT - 1 <= slow_s <= limit  # the trickle does not extend the deadline
    assert KEEP_ALIVE_TIMEOUT - 1 <= idle_s <= KEEP_ALIVE_TIMEOUT + SLACK
    # The server is unharmed.
    async with httpx.AsyncClient(base_url=plain_server.url) as http:
        assert (await http.get("/healthz")).status_code == 200


async def _login_statuses(server: Server, forwarded_for: list[str]) -> list[int]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        return [
            (
                await http.post(
                    "/api/v1/admin/login",
                    json={"password": "wrong-password"},
                    headers={"X-Forwarded-For": address},
                )
            ).status_code
            for address in forwarded_for
        ]


SPOOFED = [f"198.51.100.{n}" for n in range(1, 7)]


async def test_x_forwarded_for_from_a_direct_client_is_ignored(plain_server: Server) -> None:
    # A local client rotating X-Forwarded-For is still one address: the login limit
    # (5 attempts) holds.
    statuses = await _login_statuses(plain_server, SPOOFED)
    assert statuses == [401] * 5 + [429]


async def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", "--trusted-proxies", "127.0.0.0/8")
    try:
        # Six clients behind the proxy: each has its own limit.
        assert await _login_statuses(server, SPOOFED) == [401] * 6
        # One client behind it: limited as one.
        assert await _login_statuses(server, ["203.0.113.9"] * 6) == [401] * 5 + [429]
    finally:
        server.stop()
