"""The body cap and deadline in front of the app (``BodyLimit``), driven as ASGI."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from signaling.api.limits import BodyLimit


async def _answer(limit: BodyLimit, chunks: list[bytes], then_stall: bool) -> list[Any]:
    """Feed ``chunks`` as a request body (then nothing more, if ``then_stall``)."""
    sent: list[Any] = []
    stalled = asyncio.Event()  # never set: the client stops sending

    async def receive() -> dict[str, Any]:
        if chunks:
            return {"type": "http.request", "body": chunks.pop(0), "more_body": True}
        if then_stall:
            await stalled.wait()
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    await limit(scope, receive, send)
    return sent


async def _echo(scope: Any, receive: Any, send: Any) -> None:
    body = (await receive())["body"]
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def test_a_body_that_stops_arriving_is_answered_408_and_the_connection_closed() -> None:
    limit = BodyLimit(_echo, timeout=0.2)
    start, body = await _answer(limit, [b'{"name": '], then_stall=True)
    assert start["status"] == 408
    assert (b"connection", b"close") in start["headers"]
    assert json.loads(body["body"])["type"] == "urn:meetbox:problem:request-timeout"


async def test_a_body_in_pieces_reaches_the_app_whole() -> None:
    pieces = [b"a" * 10 for _ in range(5)]
    start, body = await _answer(BodyLimit(_echo, timeout=5), pieces, then_stall=False)
    assert start["status"] == 200 and body["body"] == b"a" * 50


async def test_a_body_over_the_cap_in_pieces_is_413() -> None:
    limit = BodyLimit(_echo, max_bytes=25, timeout=5)
    start, _ = await _answer(limit, [b"a" * 10 for _ in range(5)], then_stall=True)
    assert start["status"] == 413
