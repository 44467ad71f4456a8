"""Write an outgoing RTP packet straight to bytes: the 12-byte header, a one-byte header
extension block (RFC 8285) assembled from ready-made elements, and the payload.

Per subscriber, only the header fields and the ``mid`` element differ, so the relay builds
the subscriber-independent elements once per incoming packet and this function glues the
pieces; it replaces a full ``RtpPacket.serialize`` per subscriber.
"""

from __future__ import annotations

import struct

__all__ = ["abs_send_time_element", "audio_level_element", "build", "element"]

_HEADER = struct.Struct("!BBHII")
_EXT_HEADER = struct.Struct("!HH")
_ONE_BYTE_PROFILE = 0xBEDE


def element(ext_id: int, value: bytes) -> bytes:
    """One one-byte-header element: ``ext_id`` 1-14, 1-16 bytes of value."""
    if not 1 <= ext_id <= 14 or not 1 <= len(value) <= 16:
        raise ValueError("one-byte header extensions take ids 1-14 and 1-16 bytes")
    return bytes([(ext_id << 4) | (len(value) - 1)]) + value


def abs_send_time_element(ext_id: int, value: int) -> bytes:
    return element(ext_id, (value & 0xFFFFFF).to_bytes(3, "big"))


def audio_level_element(ext_id: int, vad: bool, level: int) -> bytes:
    return element(ext_id, bytes([(0x80 if vad else 0) | (level & 0x7F)]))


def build(
    marker: bool,
    payload_type: int,
    sequence_number: int,
    timestamp: int,
    ssrc: int,
    elements: bytes,
    payload: bytes,
) -> bytes:
    """The packet's bytes (no CSRCs, no padding)."""
    second = (0x80 if marker else 0) | (payload_type & 0x7F)
    if not elements:
        return _HEADER.pack(0x80, second, sequence_number, timestamp, ssrc) + payload
    pad = -len(elements) % 4
    return b"".join(
        (
            _HEADER.pack(0x90, second, sequence_number, timestamp, ssrc),
            _EXT_HEADER.pack(_ONE_BYTE_PROFILE, (len(elements) + pad) // 4),
            elements,
            b"\x00" * pad,
            payload,
        )
    )
