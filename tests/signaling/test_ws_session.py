"""The per-client outbox: bounded, so a client that never reads is closed, not buffered."""

from __future__ import annotations

import asyncio
from typing import Any

from signaling.api.ws import OUTBOX_SIZE, WsSession
from signaling.wire import ByeReason, CloseCode, Pong


class StuckSocket:
    """A socket whose peer never reads: the first send never completes."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed_with: tuple[int, str] | None = None

    async def send_text(self, text: str) -> None:
        self.sent.append(text)
        await asyncio.Event().wait()

    async def close(self, code: int, reason: str = "") -> None:
        self.closed_with = (code, reason)


async def test_a_client_that_never_reads_is_closed_and_memory_stays_bounded() -> None:
    socket = StuckSocket()
    session = WsSession(socket)  # type: ignore[arg-type]
    writer = asyncio.create_task(session.write())
    for _ in range(OUTBOX_SIZE * 10):
        session.send(Pong())
    assert session.closing
    assert session._outbox.qsize() <= OUTBOX_SIZE + 2
    writer.cancel()
    await asyncio.gather(writer, return_exceptions=True)


async def test_bye_goes_out_before_the_close() -> None:
    sent: list[Any] = []

    class Socket:
        async def send_text(self, text: str) -> None:
            sent.append(text)

        async def close(self, code: int, reason: str = "") -> None:
            sent.append((code, reason))

    session = WsSession(Socket())  # type: ignore[arg-type]
    session.send(Pong())
    session.close(ByeReason.KICKED, CloseCode.NORMAL)
    session.send(Pong())  # after close: dropped
    await session.write()
    assert sent == ['{"type":"pong"}', '{"type":"bye","reason":"kicked"}', (1000, "kicked")]
