"""Pipes between workers: the datagrams (sfu.pipe) round trip and refuse garbage, and a pipe
end (sfu.piping) takes datagrams from the other end only."""

from __future__ import annotations

import asyncio
import socket

import pytest

from sfu import pipe
from sfu.guard import Drop
from sfu.piping import PipeEnd, open_end
from sfu.rtpwrite import abs_send_time_element, audio_level_element
from sfu.stats import STATS


def test_an_rtp_datagram_round_trips_with_its_extensions() -> None:
    elements = abs_send_time_element(pipe.ABS_SEND_TIME_ID, 0x123456) + audio_level_element(
        pipe.AUDIO_LEVEL_ID, True, 42
    )
    data = pipe.encode_rtp(7, 0x80 | 96, 65535, 0xFFFFFFFF, elements, b"\x10payload")
    index, packet = pipe.parse(data)  # type: ignore[misc]
    assert index == 7
    assert (packet.marker, packet.payload_type) == (1, 96)
    assert (packet.sequence_number, packet.timestamp) == (65535, 0xFFFFFFFF)
    assert packet.payload == b"\x10payload"
    assert packet.extensions.abs_send_time == 0x123456
    assert packet.extensions.audio_level == (True, 42)


def test_control_datagrams_round_trip() -> None:
    assert pipe.parse(pipe.encode_keyframe(3)) == pipe.KeyframeWanted(3)
    assert pipe.parse(pipe.encode_nack(3, [1, 2, 65535])) == pipe.Missing(3, (1, 2, 65535))
    many = pipe.parse(pipe.encode_nack(3, list(range(200))))
    assert isinstance(many, pipe.Missing) and len(many.seqs) == pipe.MAX_NACKS
    assert pipe.parse(pipe.encode_sender_time(9, 2**63 + 5, 90000)) == pipe.SenderTime(
        9, 2**63 + 5, 90000
    )


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"X\x00\x01",
        b"R\x00\x01\x60",  # truncated header
        pipe.encode_rtp(1, 96, 1, 1, b"", b"")[:-1] + b"\x09",  # elements past the end
        pipe.encode_rtp(1, 96, 1, 1, b"\x13\x01", b""),  # an element cut short
        b"N\x00\x01\x00",  # odd NACK list
        b"S\x00\x01" + b"\x00" * 5,
    ],
)
def test_garbage_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        pipe.parse(data)


async def test_a_pipe_end_takes_datagrams_from_its_other_end_only() -> None:
    a, b = await open_end(), await open_end()
    got: list[object] = []
    arrived = asyncio.Event()

    def handler(message: object) -> None:
        got.append(message)
        arrived.set()

    b.handler = handler
    b.connect(a.port)
    a.connect(b.port)
    strangers = STATS.dropped_datagrams[Drop.STRANGER.value]
    malformed = STATS.dropped_datagrams[Drop.MALFORMED_RTP.value]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        stranger.sendto(pipe.encode_keyframe(1), ("127.0.0.1", b.port))
        a.send(b"garbage")
        a.send(pipe.encode_keyframe(2))
        async with asyncio.timeout(5):
            await arrived.wait()
    assert got == [pipe.KeyframeWanted(2)]
    assert STATS.dropped_datagrams[Drop.MALFORMED_RTP.value] == malformed + 1
    # The stranger's datagram was sent first: on loopback it has arrived by now.
    assert STATS.dropped_datagrams[Drop.STRANGER.value] == strangers + 1
    a.close()
    b.close()
    assert isinstance(a, PipeEnd)
