"""Request body cap and deadline, as an ASGI wrapper outside the app.

Bodies are read up to the cap before the app sees them, so an oversize body is answered 413
without buffering more than the cap, whether or not it declares a Content-Length; a body
that has not all arrived within :data:`BODY_TIMEOUT` is answered 408 and its connection
closed, so a client cannot hold one open by sending its body slowly, or never.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signaling.api.problems import MEDIA_TYPE, PROBLEM_TYPE_BASE

__all__ = ["BODY_TIMEOUT", "MAX_BODY_BYTES", "BodyLimit"]

MAX_BODY_BYTES = 1024 * 1024
#: Seconds a request body may take to arrive in full (1 MiB in 30 s: 280 kbit/s).
BODY_TIMEOUT = 30.0


class BodyLimit:
    def __init__(
        self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, timeout: float = BODY_TIMEOUT
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    def __getattr__(self, name: str) -> Any:
        # Lets tests and tools reach the wrapped FastAPI app's attributes (``openapi()``).
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send, 413, "payload-too-large", "Payload too large", self._cap)
            return
        try:
            async with asyncio.timeout(self.timeout):
                body = await self._read(receive)
        except TimeoutError:
            detail = f"the request body did not arrive within {self.timeout:g} s"
            await self._refuse(send, 408, "request-timeout", "Request timeout", detail)
            return
        if body is None:
            return  # the client went away
        if len(body) > self.max_bytes:
            await self._refuse(send, 413, "payload-too-large", "Payload too large", self._cap)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @property
    def _cap(self) -> str:
        return f"request bodies are limited to {self.max_bytes} bytes"

    async def _read(self, receive: Receive) -> bytes | None:
        """The body, or as soon as it is over the cap, what was read so far (over the cap);
        ``None`` if the client disconnected."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            chunks.append(chunk)
            if size > self.max_bytes or not message.get("more_body", False):
                return b"".join(chunks)

    async def _refuse(self, send: Send, status: int, slug: str, title: str, detail: str) -> None:
        payload = json.dumps(
            {"type": PROBLEM_TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", MEDIA_TYPE.encode()),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
