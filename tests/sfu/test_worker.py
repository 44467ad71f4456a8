"""sfu.worker's request handling in-process (the pipe replaced by a recording transport):
replies, errors, and a peer set up for a room that closed meanwhile is not left behind."""

from __future__ import annotations

import asyncio
from typing import Any

from sfu.control import FrameDecoder
from sfu.worker import Worker


class Transport:
    def __init__(self) -> None:
        self.decoder = FrameDecoder()
        self.messages: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def write(self, data: bytes) -> None:
        self.messages += self.decoder.feed(data)
        self.arrived.set()

    async def reply(self, request_id: int) -> dict[str, Any]:
        async with asyncio.timeout(10):
            while True:
                for m in self.messages:
                    if m.get("re") == request_id:
                        return m
                self.arrived.clear()
                await self.arrived.wait()


async def test_requests_are_answered_and_errors_carry_their_code() -> None:
    transport = Transport()
    worker = Worker(transport)  # type: ignore[arg-type]
    worker.handle({"op": "open_room", "ch": 1})
    worker.handle({"op": "add_peer", "id": 1, "ch": 1, "pid": "p_a", "may_publish": True})
    assert (await transport.reply(1))["ok"] is None
    assert set(worker.rooms[1].peers) == {"p_a"}
    worker.handle({"op": "subscribe_answer", "id": 2, "ch": 1, "pid": "p_b", "sdp": "v=0"})
    assert (await transport.reply(2))["error"]["code"] == "not_in_meeting"
    worker.handle({"op": "no_such_thing", "id": 3})
    assert (await transport.reply(3))["error"]["code"] == "internal"
    worker.handle({"op": "close_room", "ch": 1})
    worker.handle({"op": "drain", "id": 4})
    assert (await transport.reply(4))["ok"] is None
    assert worker.rooms == {}


async def test_a_peer_set_up_for_a_room_that_closed_meanwhile_is_taken_out() -> None:
    transport = Transport()
    worker = Worker(transport)  # type: ignore[arg-type]
    worker.handle({"op": "open_room", "ch": 1})
    room = worker.rooms[1]
    setting_up = asyncio.Event()
    go_on = asyncio.Event()
    original = room.add_peer

    async def slow_add_peer(*args: Any) -> Any:
        setting_up.set()
        await go_on.wait()  # negotiating, as a real join does
        return await original(*args)

    room.add_peer = slow_add_peer  # type: ignore[method-assign]
    worker.handle({"op": "add_peer", "id": 1, "ch": 1, "pid": "p_a", "may_publish": True})
    await setting_up.wait()
    worker.handle({"op": "close_room", "ch": 1})  # the meeting ended meanwhile
    go_on.set()
    assert (await transport.reply(1))["error"]["code"] == "not_in_meeting"
    await worker.drain()
    assert room.peers == {}
