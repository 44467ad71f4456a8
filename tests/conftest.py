"""Shared fixtures: a fake clock, services on a real SQLite file, the real ASGI app.

Asyncio hygiene (STYLE.md): an async test fails if its loop logged an unhandled exception or
if it left tasks running. ``MEETBOX_TEST_LOOP=uvloop`` runs the suite on uvloop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from signaling.api import create_app
from signaling.api.schemas import RoomCreate
from signaling.api.ws import WS_PING_INTERVAL, WS_PING_TIMEOUT
from signaling.clock import FakeClock
from signaling.models import RoomRecord
from signaling.placement.workers import WorkerPlacement
from signaling.services import Services, build_services
from signaling.store import SqliteStore
from signaling.wire import MAX_MESSAGE_BYTES

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


@contextlib.asynccontextmanager
async def serve_services(services: Services) -> AsyncIterator[Server]:
    """The real app on a real uvicorn on a loopback port, over ``services``."""
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
    services.recordings.ws_url = srv.ws_url
    try:
        yield srv
    finally:
        await srv.http.aclose()
        uv.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def server(services: Services) -> AsyncIterator[Server]:
    async with serve_services(services) as srv:
        yield srv


class Receiver:
    """A real HTTP server on loopback that records webhook deliveries. ``statuses`` are
    answered in turn (then 200); while ``gate`` is set and not open, answers wait."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.gate: asyncio.Event | None = None
        self._changed = asyncio.Condition()
        self.url = ""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append((headers, body))
        async with self._changed:
            self._changed.notify_all()
        if self.gate is not None:
            await self.gate.wait()
        status = self.statuses.pop(0) if self.statuses else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def wait_for(self, count: int) -> None:
        """Until ``count`` requests have arrived (10 s at most)."""
        async with asyncio.timeout(10), self._changed:
            await self._changed.wait_for(lambda: len(self.requests) >= count)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.requests]


@contextlib.asynccontextmanager
async def serve_receiver() -> AsyncIterator[Receiver]:
    """A :class:`Receiver` listening on a loopback port, for the duration."""
    rec = Receiver()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    uv = uvicorn.Server(uvicorn.Config(rec, lifespan="off", log_config=None))
    task = asyncio.create_task(uv.serve(sockets=[sock]))
    rec.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks?token=abc"
    try:
        yield rec
    finally:
        if rec.gate is not None:
            rec.gate.set()
        uv.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serve_receiver() as rec:
        yield rec


WORKER = [sys.executable, "-m", "meetbox.worker", "--log-level", "warning"]


@pytest.fixture
async def placement() -> AsyncIterator[WorkerPlacement]:
    """Two real media worker processes (``python -m meetbox.worker``)."""
    placement = WorkerPlacement(WORKER, [None, None])
    await placement.start()
    try:
        yield placement
    finally:
        await placement.close()


@pytest.fixture
async def worker_server(
    placement: WorkerPlacement, db_path: Path, clock: FakeClock
) -> AsyncIterator[Server]:
    store = await SqliteStore.open(db_path)
    services = await build_services(
        store,
        public_url="https://meet.example.test",
        clock=clock,
        initial_api_key=API_KEY,
        placement=placement,
    )
    try:
        async with serve_services(services) as server:
            yield server
    finally:
        await store.close()
