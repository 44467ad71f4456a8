"""The control pipe between the main process and a media worker (``python -m sfu.worker``):
framing and message shapes, sans-I/O.

A frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON holding one object.
Three kinds of object cross the pipe:

- a **request** (main -> worker): ``{"op": ..., "id": N, ...}``. ``id`` is present when the
  main waits for the answer; fire-and-forget requests (``remove_peer``, ``offer_again``,
  ``close_room``) have none.
- a **reply** (worker -> main): ``{"re": N, "ok": value}`` or
  ``{"re": N, "error": {"code": ..., "message": ...}}``; ``code`` is a
  :class:`sfu.errors.MediaError` code, or ``internal`` for a failure of the worker itself.
- an **event** (worker -> main): ``{"ev": ..., ...}``: what a media room reports (offers,
  tracks, speaker, media failed) with its channel number ``ch``, and ``ready`` / ``load``
  about the worker.

A channel (``ch``) is one meeting's media room, numbered by the main process; a room that
has a new meeting gets a new channel, so a late event of an old meeting is never taken for
the new one's. Only control crosses this pipe, never a media packet.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_FRAME",
    "FrameDecoder",
    "FrameTooLarge",
    "Load",
    "encode",
    "error_reply",
    "ok_reply",
]

#: Largest frame either side accepts. A subscribe offer with every m-line of a full room
#: is well under 1 MiB; anything bigger is a broken peer.
MAX_FRAME = 8 * 1024 * 1024

_HEADER = struct.Struct(">I")


class FrameTooLarge(ValueError):
    """A frame announced a length over :data:`MAX_FRAME` (the pipe is then unusable)."""


def encode(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode()
    if len(body) > MAX_FRAME:
        raise FrameTooLarge(f"a {len(body)}-byte control frame is over {MAX_FRAME}")
    return _HEADER.pack(len(body)) + body


class FrameDecoder:
    """Bytes in, whole messages out; keeps at most one partial frame."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self._buffer += data
        messages: list[dict[str, Any]] = []
        while len(self._buffer) >= _HEADER.size:
            (length,) = _HEADER.unpack_from(self._buffer)
            if length > MAX_FRAME:
                raise FrameTooLarge(f"a control frame announced {length} bytes")
            end = _HEADER.size + length
            if len(self._buffer) < end:
                break
            message = json.loads(bytes(self._buffer[_HEADER.size : end]))
            del self._buffer[:end]
            if not isinstance(message, dict):
                raise ValueError("a control frame must hold a JSON object")
            messages.append(message)
        return messages

    @property
    def pending(self) -> int:
        """Bytes of a frame not yet complete."""
        return len(self._buffer)


def ok_reply(request_id: int, value: Any = None) -> dict[str, Any]:
    return {"re": request_id, "ok": value}


def error_reply(request_id: int, code: str, message: str) -> dict[str, Any]:
    return {"re": request_id, "error": {"code": code, "message": message}}


@dataclass(frozen=True, slots=True)
class Load:
    """What a worker reports about itself every :data:`sfu.worker.LOAD_INTERVAL` seconds."""

    #: Media rooms (channels) open.
    rooms: int
    #: Participants with a peer.
    peers: int
    #: Tracks published.
    tracks: int
    #: User + system CPU seconds since the worker started.
    cpu_seconds: float
    #: Resident memory.
    rss_bytes: int
    #: The relay's counters (``sfu.stats.RelayStats`` fields), since the worker started.
    received_packets: int = 0
    forwarded_packets: int = 0
    dropped_packets: int = 0
    retransmitted_packets: int = 0
    keyframe_requests: int = 0
    #: Packets sent into pipes to other workers.
    piped_packets: int = 0
    #: Datagrams dropped before DTLS/SRTP, by reason.
    dropped_datagrams: tuple[tuple[str, int], ...] = ()

    def serialize(self) -> dict[str, Any]:
        return {
            "ev": "load",
            "rooms": self.rooms,
            "peers": self.peers,
            "tracks": self.tracks,
            "cpu_seconds": self.cpu_seconds,
            "rss_bytes": self.rss_bytes,
            "received_packets": self.received_packets,
            "forwarded_packets": self.forwarded_packets,
            "dropped_packets": self.dropped_packets,
            "retransmitted_packets": self.retransmitted_packets,
            "keyframe_requests": self.keyframe_requests,
            "piped_packets": self.piped_packets,
            "dropped_datagrams": [list(pair) for pair in self.dropped_datagrams],
        }

    @classmethod
    def parse(cls, message: dict[str, Any]) -> Load:
        return cls(
            rooms=int(message["rooms"]),
            peers=int(message["peers"]),
            tracks=int(message["tracks"]),
            cpu_seconds=float(message["cpu_seconds"]),
            rss_bytes=int(message["rss_bytes"]),
            received_packets=int(message.get("received_packets", 0)),
            forwarded_packets=int(message.get("forwarded_packets", 0)),
            dropped_packets=int(message.get("dropped_packets", 0)),
            retransmitted_packets=int(message.get("retransmitted_packets", 0)),
            keyframe_requests=int(message.get("keyframe_requests", 0)),
            piped_packets=int(message.get("piped_packets", 0)),
            dropped_datagrams=tuple(
                (str(reason), int(count)) for reason, count in message.get("dropped_datagrams", [])
            ),
        )
