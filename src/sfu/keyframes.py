"""Is this RTP payload the start of a keyframe? Read from the payload headers only.

VP8 (RFC 7741): the payload descriptor, then on the first packet of a frame (S=1, PID=0)
the frame tag whose lowest bit is 0 for a key frame. H.264 (RFC 6184): an IDR slice (NAL
type 5) or SPS (7), alone, aggregated in STAP-A (24) or starting an FU-A (28).
:func:`h264_start` tells the two apart: an IDR is only decodable after the SPS and PPS,
which WebRTC senders put in-band before every IDR, in packets of their own or aggregated.
"""

from __future__ import annotations

__all__ = ["H264_IDR", "H264_SPS", "h264_keyframe", "h264_start", "vp8_keyframe"]


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
#: :func:`h264_start` results
H264_SPS, H264_IDR = 2, 1


def h264_start(payload: bytes) -> int:
    """:data:`H264_SPS` if the packet carries an SPS (a keyframe starts here, parameter
    sets included), :data:`H264_IDR` if it starts an IDR slice without one, else 0."""
    if not payload:
        return 0
    nal = payload[0] & 0x1F
    if nal == 7:
        return H264_SPS
    if nal == 5:
        return H264_IDR
    if nal == 24:  # STAP-A: [size(2) NAL]...
        found = 0
        i = 1
        while i + 2 < len(payload):
            size = (payload[i] << 8) | payload[i + 1]
            inner = payload[i + 2] & 0x1F
            if inner == 7:
                return H264_SPS
            if inner == 5:
                found = H264_IDR
            i += 2 + size
        return found
    if nal == 28 and len(payload) > 1 and payload[1] & 0x80:  # FU-A start: original type
        inner = payload[1] & 0x1F
        return H264_SPS if inner == 7 else H264_IDR if inner == 5 else 0
    return 0


def h264_keyframe(payload: bytes) -> bool:
    return h264_start(payload) != 0
