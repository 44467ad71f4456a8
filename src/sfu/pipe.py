"""The datagrams of a pipe between two media workers, sans-I/O.

A room bigger than one worker is spread (mediasoup's ``pipeToRouter``): the worker that owns
it pipes every published track to a worker serving more of its subscribers, which relays them
as if they were published there. A pipe is a pair of connected UDP sockets on loopback (each
end only takes datagrams from the other); packets cross it as the owner's router rewrote them
for the pipe, in plain RTP terms: no SRTP, no decoding, one copy per packet per pipe however
many subscribers the far worker serves.

Datagrams, all big-endian, ``index`` being the owner's number for the track:

- ``R`` index:u16 second:u8 seq:u16 ts:u32 elen:u8 elements payload -- one RTP packet;
  ``second`` is RTP header byte 1 (marker | payload type); ``elements`` one-byte header
  extension elements with the pipe's own ids (:data:`ABS_SEND_TIME_ID`, :data:`AUDIO_LEVEL_ID`).
- ``K`` index:u16 -- the far side needs a keyframe.
- ``N`` index:u16 seq:u16... -- the far side misses these packets (at most :data:`MAX_NACKS`).
- ``S`` index:u16 ntp:u64 ts:u32 -- the publisher's sender report, in the pipe's timestamps.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from aiortc.rtp import RtpPacket

__all__ = [
    "ABS_SEND_TIME_ID",
    "AUDIO_LEVEL_ID",
    "MAX_NACKS",
    "PIPE_EXT_IDS",
    "KeyframeWanted",
    "Missing",
    "PipeMessage",
    "SenderTime",
    "encode_keyframe",
    "encode_nack",
    "encode_rtp",
    "encode_sender_time",
    "parse",
]

#: Header extension ids on the pipe (whatever each subscriber negotiated).
ABS_SEND_TIME_ID = 1
AUDIO_LEVEL_ID = 2
#: What a pipe output asks the router for: (abs-send-time, audio-level).
PIPE_EXT_IDS = (ABS_SEND_TIME_ID, AUDIO_LEVEL_ID)
#: Sequence numbers in one ``N`` datagram.
MAX_NACKS = 64

_RTP = struct.Struct("!cHBHIB")
_INDEX = struct.Struct("!cH")
_SENDER = struct.Struct("!cHQI")


@dataclass(frozen=True, slots=True)
class KeyframeWanted:
    index: int


@dataclass(frozen=True, slots=True)
class Missing:
    index: int
    seqs: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SenderTime:
    index: int
    ntp_timestamp: int
    rtp_timestamp: int


PipeMessage = tuple[int, RtpPacket] | KeyframeWanted | Missing | SenderTime


def encode_rtp(
    index: int, second: int, seq: int, ts: int, elements: bytes, payload: bytes
) -> bytes:
    return _RTP.pack(b"R", index, second, seq, ts, len(elements)) + elements + payload


def encode_keyframe(index: int) -> bytes:
    return _INDEX.pack(b"K", index)


def encode_nack(index: int, seqs: list[int]) -> bytes:
    seqs = seqs[:MAX_NACKS]
    return _INDEX.pack(b"N", index) + struct.pack(f"!{len(seqs)}H", *seqs)


def encode_sender_time(index: int, ntp_timestamp: int, rtp_timestamp: int) -> bytes:
    return _SENDER.pack(b"S", index, ntp_timestamp & (2**64 - 1), rtp_timestamp & 0xFFFFFFFF)


def _extensions(packet: RtpPacket, elements: bytes) -> None:
    i, end = 0, len(elements)
    while i < end:
        ext_id, size = elements[i] >> 4, (elements[i] & 0x0F) + 1
        value = elements[i + 1 : i + 1 + size]
        if len(value) < size:
            raise ValueError("a header extension element runs past its block")
        if ext_id == ABS_SEND_TIME_ID and size == 3:
            packet.extensions.abs_send_time = int.from_bytes(value, "big")
        elif ext_id == AUDIO_LEVEL_ID and size == 1:
            packet.extensions.audio_level = (bool(value[0] & 0x80), value[0] & 0x7F)
        i += 1 + size


def parse(data: bytes) -> PipeMessage:
    """One datagram; ValueError if it is not one of the pipe's."""
    kind = data[:1]
    if kind == b"R":
        if len(data) < _RTP.size:
            raise ValueError("a truncated pipe RTP datagram")
        _, index, second, seq, ts, elen = _RTP.unpack_from(data)
        start = _RTP.size + elen
        if len(data) < start:
            raise ValueError("a pipe RTP datagram's elements run past its end")
        packet = RtpPacket(second & 0x7F, second >> 7, seq, ts, 0, data[start:])
        _extensions(packet, data[_RTP.size : start])
        return index, packet
    if kind == b"S" and len(data) == _SENDER.size:
        _, index, ntp, ts = _SENDER.unpack(data)
        return SenderTime(index, ntp, ts)
    if kind in (b"K", b"N") and len(data) >= _INDEX.size:
        _, index = _INDEX.unpack_from(data)
        if kind == b"K":
            return KeyframeWanted(index)
        rest = data[_INDEX.size :]
        if len(rest) % 2 or len(rest) > 2 * MAX_NACKS:
            raise ValueError("a pipe NACK datagram with a broken list")
        return Missing(index, struct.unpack(f"!{len(rest) // 2}H", rest))
    raise ValueError("not a pipe datagram")
