"""``meetbox serve --rtc-ips 127.0.0.1``: media on loopback only, end to end."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sfu import ports
from sfu.synthetic import ColorTrack
from signaling.client import MeetboxClient
from tests.conftest import API_KEY
from tests.meetbox.conftest import start_server


@pytest.fixture
def loopback_clients() -> Iterator[None]:
    """This process's clients gather on loopback too, as clients on the server's machine."""
    ports.install_host_addresses(("127.0.0.1",))
    yield
    ports.install_host_addresses(None)


async def test_media_flows_on_the_addresses_named(tmp_path: Path, loopback_clients: None) -> None:
    env = {"MEETBOX_INITIAL_API_KEY": API_KEY}
    server = await asyncio.to_thread(
        start_server, tmp_path / "data", "--rtc-ips", "127.0.0.1", env=env
    )
    made: list[MeetboxClient] = []
    try:
        async with httpx.AsyncClient(base_url=server.url, headers={"X-API-Key": API_KEY}) as http:
            room = (await http.post("/api/v1/rooms", json={"name": "Loopback"})).json()
            for name in ("Red", "Viewer"):
                joined = (
                    await http.post(
                        "/api/v1/join",
                        json={"secret": room["links"]["speaker"]["secret"], "nickname": name},
                    )
                ).json()
                client = MeetboxClient(joined["ws_url"], joined["token"])
                made.append(client)
                await client.connect()
        red, viewer = made
        await red.publish({"camera": ColorTrack((200, 30, 30))})
        async with asyncio.timeout(20):
            await viewer.wait_for(lambda c: any(t.frames >= 10 for t in c.received.values()))
        for pc in (red.publisher, viewer.subscriber):
            sdp = pc.remoteDescription.sdp
            hosts = set(re.findall(r"a=candidate:\S+ \d+ udp \d+ (\S+) \d+ typ host", sdp))
            assert hosts == {"127.0.0.1"}, sdp
    finally:
        for client in made:
            await client.close()
        await asyncio.to_thread(server.stop)
