"""Webhook deliveries on a real full disk (a tmpfs holding the database, filled until
ENOSPC): an attempt whose outcome cannot be saved is not sent again at once, over and over,
for as long as the disk is full; it goes again once the disk has room (at least once)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ..conftest import Server, serve_receiver
from ..diskfull import db_on_small_disk, fill, small_disk

__all__ = ["db_on_small_disk", "small_disk"]  # the fixtures disk and db_path

pytestmark = pytest.mark.timeout(30)

API = "/api/v1"


async def test_an_attempt_the_full_disk_cannot_record_is_held_back_not_repeated(
    server: Server, disk: Path
) -> None:
    webhooks = server.services.webhooks
    webhooks.full_disk_pause = 1.0
    async with serve_receiver() as receiver:
        receiver.gate = asyncio.Event()  # holds the answer until the disk is full
        hook = await server.http.post(
            f"{API}/webhooks", json={"url": receiver.url, "events": ["room.created"]}
        )
        assert hook.status_code == 201, hook.text
        assert (await server.http.post(f"{API}/rooms", json={"name": "Full"})).status_code == 201
        await receiver.wait_for(1)
        filler = await asyncio.to_thread(fill, disk)
        receiver.gate.set()
        await asyncio.sleep(0.5)  # time for a flood to show (nothing to await: none is due)
        assert len(receiver.requests) == 1

        await asyncio.to_thread(filler.unlink)
        await receiver.wait_for(2)  # sent again, once held back long enough
        async with asyncio.timeout(5):
            await webhooks.wait_attempts(2)
        log = (await server.http.get(f"{API}/webhooks/{hook.json()['id']}/deliveries")).json()
        assert [d["status"] for d in log["items"]] == ["delivered"]
        assert len(receiver.requests) == 2
