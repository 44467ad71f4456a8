"""The Python client against a scripted server: what it writes is the client models'
``serialize()``; what it reads goes through the server models, and a newer server's unknown
type (or a frame that does not fit) is skipped and logged, not a dead reader."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from websockets.asyncio.server import ServerConnection, serve

from signaling.client import MeetboxClient
from signaling.wire import Error, Joined, Ping, Pong, ServerMessage
from tests.signaling.test_protocol_server import SERVER_EXAMPLES

JOINED = next(m for m in SERVER_EXAMPLES if isinstance(m, Joined))
Script = Callable[[ServerConnection, list[str]], Awaitable[None]]


@asynccontextmanager
async def scripted(script: Script) -> AsyncIterator[tuple[str, list[str]]]:
    """A WebSocket server that runs ``script`` per connection; yields its URL and the frames
    the client sent."""
    received: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        await script(ws, received)

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ws", received


async def recv(ws: ServerConnection, received: list[str]) -> None:
    frame = await ws.recv()
    assert isinstance(frame, str)
    received.append(frame)


async def test_the_client_skips_what_it_cannot_read(caplog: pytest.LogCaptureFixture) -> None:
    done = asyncio.Event()

    async def newer_server(ws: ServerConnection, received: list[str]) -> None:
        await recv(ws, received)
        await ws.send(JOINED.serialize())
        await ws.send('{"type": "reaction", "emoji": "tada"}')  # from a newer server
        await ws.send('{"type": "bye"}')  # does not fit: no reason
        await ws.send("{not json")
        await recv(ws, received)
        await ws.send(Pong().serialize())
        await done.wait()

    typed: list[ServerMessage] = []
    caplog.set_level(logging.DEBUG, logger="signaling.client")
    async with scripted(newer_server) as (url, received):
        client = MeetboxClient(url, "the-token", on_message=typed.append)
        try:
            async with asyncio.timeout(10):
                joined = await client.connect()
                await client.send(type="ping", ref="p1")
                await client.wait_for(
                    lambda c: bool(c.messages) and c.messages[-1]["type"] == "pong"
                )
        finally:
            done.set()
            await client.close()
    assert received == ['{"type":"join","token":"the-token"}', '{"ref":"p1","type":"ping"}']
    assert joined == json.loads(JOINED.serialize()) == client.joined
    assert client.snapshot == JOINED
    assert [m["type"] for m in client.messages] == ["reaction", "bye", "pong"]
    assert typed == [Pong()]
    logged = {(r.levelno, r.getMessage()) for r in caplog.records if r.name == "signaling.client"}
    assert (logging.DEBUG, "skipped a 'reaction' message: unknown to this client") in logged
    assert any(level == logging.WARNING and "bye" in text for level, text in logged)
    assert any(level == logging.WARNING and "unreadable" in text for level, text in logged)


async def test_a_refusal_is_a_connection_error() -> None:
    async def refusing(ws: ServerConnection, received: list[str]) -> None:
        await recv(ws, received)
        await ws.send(Error(code="room_full", message="the room is full (2 people)").serialize())
        await ws.close(4003)

    async with scripted(refusing) as (url, _):
        client = MeetboxClient(url, "t")
        try:
            with pytest.raises(ConnectionError, match=r"not admitted: .*room_full"):
                await client.connect()
        finally:
            await client.close()
    assert client.snapshot is None


async def test_a_joined_that_does_not_fit_is_a_connection_error() -> None:
    async def broken(ws: ServerConnection, received: list[str]) -> None:
        await recv(ws, received)
        await ws.send('{"type": "joined", "meeting_id": "m1"}')
        await ws.close()

    async with scripted(broken) as (url, _):
        client = MeetboxClient(url, "t")
        try:
            with pytest.raises(ConnectionError, match="unreadable joined"):
                await client.connect()
        finally:
            await client.close()


async def test_fields_are_validated_before_sending() -> None:
    async def quiet(ws: ServerConnection, received: list[str]) -> None:
        await recv(ws, received)
        await ws.send(JOINED.serialize())
        async for frame in ws:
            received.append(str(frame))

    async with scripted(quiet) as (url, received):
        client = MeetboxClient(url, "t")
        try:
            await client.connect()
            with pytest.raises(ValueError):
                await client.send(type="raise_hand", raised="yes")
            with pytest.raises(TypeError):
                await client.send(Ping(), ref="x")
        finally:
            await client.close()
    assert received == ['{"type":"join","token":"t"}']  # nothing else went out
