"""Bytes written by sfu.rtpwrite read back identically with aiortc's own parser."""

from __future__ import annotations

import pytest
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from sfu.rtpwrite import abs_send_time_element, audio_level_element, build, element

MID, ABS, LEVEL = 1, 3, 2


def ext_map() -> HeaderExtensionsMap:
    m = HeaderExtensionsMap()
    m.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=MID, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
                RTCRtpHeaderExtensionParameters(
                    id=LEVEL, uri="urn:ietf:params:rtp-hdrext:ssrc-audio-level"
                ),
                RTCRtpHeaderExtensionParameters(
                    id=ABS, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
                ),
            ]
        )
    )
    return m


@pytest.mark.parametrize("mid", ["0", "12", "abcdefgh"])
def test_round_trip_through_aiortc(mid: str) -> None:
    elements = element(MID, mid.encode()) + abs_send_time_element(ABS, 0x123456)
    elements += audio_level_element(LEVEL, True, 42)
    data = build(True, 111, 65535, 4_000_000_000, 0xDEADBEEF, elements, b"payload!")
    packet = RtpPacket.parse(data, ext_map())
    assert (packet.marker, packet.payload_type, packet.sequence_number) == (1, 111, 65535)
    assert (packet.timestamp, packet.ssrc, packet.payload) == (
        4_000_000_000,
        0xDEADBEEF,
        b"payload!",
    )
    assert packet.extensions.mid == mid
    assert packet.extensions.abs_send_time == 0x123456
    assert packet.extensions.audio_level == (True, 42)
    # The same packet serialized by aiortc carries the same fields.
    again = RtpPacket.parse(packet.serialize(ext_map()), ext_map())
    assert (again.extensions.mid, again.payload, again.sequence_number) == (mid, b"payload!", 65535)


def test_no_extensions_means_no_extension_block() -> None:
    data = build(False, 96, 1, 2, 3, b"", b"x")
    assert len(data) == 13 and data[0] == 0x80
    packet = RtpPacket.parse(data, ext_map())
    assert packet.payload == b"x" and packet.extensions.mid is None


@pytest.mark.parametrize(("ext_id", "value"), [(0, b"a"), (15, b"a"), (1, b""), (1, b"x" * 17)])
def test_invalid_elements_are_refused(ext_id: int, value: bytes) -> None:
    with pytest.raises(ValueError):
        element(ext_id, value)
