"""Durable webhooks across a restart of the real ``meetbox serve`` process (RELIABILITY 16):
an event accepted while the receiver is down is delivered after meetbox comes back."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from tests.conftest import API_KEY, Receiver
from tests.meetbox.conftest import free_port, start_server

ENV = {"MEETBOX_INITIAL_API_KEY": API_KEY}


async def first_failed_attempt(http: httpx.AsyncClient, hook_id: str) -> dict[str, Any]:
    """The delivery, once meetbox has tried it once (polling a separate process)."""
    for _ in range(100):
        items = (await http.get(f"/api/v1/webhooks/{hook_id}/deliveries")).json()["items"]
        if items and items[0]["attempts"] >= 1:
            delivery: dict[str, Any] = items[0]
            return delivery
        await asyncio.sleep(0.1)  # another process: nothing to await but its answers
    raise AssertionError("no delivery attempt within 10 s")


async def test_an_event_accepted_while_the_receiver_is_down_arrives_after_a_restart(
    tmp_path: Path,
) -> None:
    port = free_port()  # nothing listens here yet: the receiver is down
    data = tmp_path / "data"
    first = await asyncio.to_thread(start_server, data, env=ENV)
    try:
        async with httpx.AsyncClient(base_url=first.url, headers={"X-API-Key": API_KEY}) as http:
            url = f"http://127.0.0.1:{port}/hooks"
            hook = (await http.post("/api/v1/webhooks", json={"url": url})).json()
            room = (await http.post("/api/v1/rooms", json={"name": "Durable"})).json()
            failed = await first_failed_attempt(http, hook["id"])
        assert failed["status"] == "pending" and failed["last_status_code"] is None
        assert failed["last_error"] and failed["next_attempt_at"]
    finally:
        # uvicorn exits by re-raising SIGTERM once shut down gracefully.
        assert await asyncio.to_thread(first.stop) in (0, -15)

    receiver = Receiver()
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen(16)
    uv = uvicorn.Server(uvicorn.Config(receiver, lifespan="off", log_config=None))
    serving = asyncio.create_task(uv.serve(sockets=[sock]))
    second = await asyncio.to_thread(start_server, data, env=ENV)
    try:
        await receiver.wait_for(1)
        [delivered] = receiver.events()
        assert delivered["id"] == failed["event_id"] and delivered["type"] == "room.created"
        assert delivered["data"]["id"] == room["id"]
        async with httpx.AsyncClient(base_url=second.url, headers={"X-API-Key": API_KEY}) as http:
            for _ in range(50):
                [log] = (await http.get(f"/api/v1/webhooks/{hook['id']}/deliveries")).json()[
                    "items"
                ]
                if log["status"] == "delivered":
                    break
                await asyncio.sleep(0.1)  # the outcome is saved just after the answer
        assert log["status"] == "delivered" and log["attempts"] == 2
    finally:
        await asyncio.to_thread(second.stop)
        uv.should_exit = True
        await serving
        sock.close()
