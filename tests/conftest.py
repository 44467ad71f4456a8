"""Shared fixtures: a fake clock, services on a real SQLite file, the real ASGI app.

Asyncio hygiene (STYLE.md): an async test fails if its loop logged an unhandled exception or
if it left tasks running. ``MEETBOX_TEST_LOOP=uvloop`` runs the suite on uvloop.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from signaling import FakeClock, Services, build_services
from signaling.api import create_app
from signaling.api.ws import WS_PING_INTERVAL, WS_PING_TIMEOUT
from signaling.models import RoomRecord
from signaling.protocol import MAX_MESSAGE_BYTES
from signaling.schemas import RoomCreate
from signaling.store import SqliteStore

API_KEY = "mbk_test-key-0123456789abcdefghijklmnop"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    if os.environ.get("MEETBOX_TEST_LOOP") == "uvloop":
        import uvloop

        return {"uvloop": uvloop.new_event_loop}
    return {"asyncio": asyncio.new_event_loop}


@pytest.fixture(autouse=True)
async def asyncio_hygiene() -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    before = asyncio.all_tasks()
    yield
    leftover = [
        t for t in asyncio.all_tasks() - before if t is not asyncio.current_task() and not t.done()
    ]
    loop.set_exception_handler(previous)
    assert not errors, f"unhandled exceptions on the loop: {errors}"
    assert not leftover, f"tasks left running: {leftover}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "meetbox.db"


@pytest.fixture
async def services(db_path: Path, clock: FakeClock) -> AsyncIterator[Services]:
    store = await SqliteStore.open(db_path)
    services = await build_services(
        store, public_url="https://meet.example.test", clock=clock, initial_api_key=API_KEY
    )
    yield services
    await store.close()


@pytest.fixture
async def app_client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the real ASGI app (lifespan running), authenticated."""
    app = create_app(services)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers={"X-API-Key": API_KEY}
    ) as client:
        yield client
    await lifespan.__aexit__(None, None, None)


WEB_DIR = Path(__file__).resolve().parents[1] / "web"


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
    app = create_app(services, web_dir=WEB_DIR)
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
