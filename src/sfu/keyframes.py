"""Is this RTP payload the start of a keyframe? Read from the payload headers only.

VP8 (RFC 7741): the payload descriptor, then on the first packet of a frame (S=1, PID=0)
the frame tag whose lowest bit is 0 for a key frame. H.264 (RFC 6184): an IDR slice (NAL
type 5) or SPS (7), alone, aggregated in STAP-A (24) or starting an FU-A (28).
"""

from __future__ import annotations

__all__ = ["h264_keyframe", "vp8_keyframe"]


def vp8_keyframe(payload: bytes) -> bool:
    if not payload:
        return False
    first = payload[0]
    start, pid = first & 0x10, first & 0x07
    if not start or pid != 0:
        return False
    i = 1
    if first & 0x80:  # X: extension byte follows
        if len(payload) < 2:
            return False
        ext = payload[1]
        i = 2
        if ext & 0x80:  # I: picture id, 1 or 2 bytes
            if len(payload) <= i:
                return False
            i += 2 if payload[i] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            i += 1
        if ext & 0x30:  # T or K: one byte
            i += 1
    return len(payload) > i and (payload[i] & 0x01) == 0


_KEY_NALS = (5, 7)


def h264_keyframe(payload: bytes) -> bool:
    if not payload:
        return False
    nal = payload[0] & 0x1F
    if nal in _KEY_NALS:
        return True
    if nal == 24:  # STAP-A: [size(2) NAL]...
        i = 1
        while i + 2 < len(payload):
            size = (payload[i] << 8) | payload[i + 1]
            if payload[i + 2] & 0x1F in _KEY_NALS:
                return True
            i += 2 + size
        return False
    if nal == 28 and len(payload) > 1:  # FU-A: start bit and original type
        return bool(payload[1] & 0x80) and (payload[1] & 0x1F) in _KEY_NALS
    return False
