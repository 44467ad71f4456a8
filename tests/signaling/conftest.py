"""A real uvicorn server on a loopback port, in the test's event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from signaling import Services
from signaling.api import create_app
from signaling.api.ws import WS_PING_INTERVAL, WS_PING_TIMEOUT
from signaling.models import RoomRecord
from signaling.protocol import MAX_MESSAGE_BYTES
from signaling.schemas import RoomCreate
from tests.conftest import API_KEY


class Server:
    def __init__(self, services: Services, port: int) -> None:
        self.services = services
        self.ws_url = f"ws://127.0.0.1:{port}/ws"
        self.http = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": API_KEY}
        )

    async def room(self, **spec: Any) -> RoomRecord:
        return await self.services.rooms.create(RoomCreate(**spec))

    async def token(self, room: RoomRecord, role: str = "speaker", nickname: str = "Ada") -> str:
        secret = next(link.secret for r, link in room.links.items() if r.value == role)
        return (await self.services.rooms.join(secret, nickname)).token


@pytest.fixture
async def server(services: Services) -> AsyncIterator[Server]:
    services.admission_timeout = 0.5
    app = create_app(services)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    config = uvicorn.Config(
        app,
        lifespan="on",
        log_config=None,
        ws_max_size=MAX_MESSAGE_BYTES,
        ws_ping_interval=WS_PING_INTERVAL,
        ws_ping_timeout=WS_PING_TIMEOUT,
    )
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve(sockets=[sock]))
    srv = Server(services, sock.getsockname()[1])
    try:
        yield srv
    finally:
        await srv.http.aclose()
        uv.should_exit = True
        await task
        sock.close()
