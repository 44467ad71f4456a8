"""A small mutational fuzzer for the media path's parsers, and its corpus.

The corpus lives in ``tests/fixtures/media/``: ``seed-*.bin`` are well-formed packets of
each kind (written by :func:`write_seeds`, ``python -m tests.sfu.fuzzing``), ``crash-*.bin``
are inputs that once broke something, replayed by every run. The kind is the file name's
second word (``seed-rtp-vp8-key.bin`` is ``rtp``).

Mutations are those libFuzzer starts with: flip bits, overwrite, insert or delete bytes,
truncate, repeat a chunk, splice two inputs, and set length-like bytes to extremes. The
random seed comes from ``MEETBOX_FUZZ_SEED`` (else a fresh one, named in failures), the
count from ``MEETBOX_FUZZ_RUNS``.
"""

from __future__ import annotations

import os
import random
import struct
from pathlib import Path

__all__ = ["CORPUS", "Fuzzer", "corpus", "runs", "write_seeds"]

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "media"


def runs(default: int) -> int:
    return int(os.environ.get("MEETBOX_FUZZ_RUNS", default))


def corpus(kind: str) -> list[bytes]:
    """Every corpus file of ``kind``: seeds and crash reproducers."""
    files = sorted(CORPUS.glob(f"*-{kind}*.bin"))
    assert files, f"no {kind} corpus in {CORPUS}"
    return [f.read_bytes() for f in files]


class Fuzzer:
    def __init__(self, inputs: list[bytes], seed: int | None = None) -> None:
        env = os.environ.get("MEETBOX_FUZZ_SEED")
        self.seed = seed if seed is not None else int(env) if env else random.randrange(1 << 32)
        self.random = random.Random(self.seed)
        self.inputs = inputs
        self._verbatim = list(reversed(inputs))

    def __repr__(self) -> str:
        return f"Fuzzer(MEETBOX_FUZZ_SEED={self.seed})"

    def next(self) -> bytes:
        """Each input once as it is (crash reproducers replay exactly), then mutations."""
        if self._verbatim:
            return self._verbatim.pop()
        r = self.random
        data = bytearray(r.choice(self.inputs))
        for _ in range(r.randint(1, 4)):
            data = self._mutate(data)
        return bytes(data[:2000])

    def _mutate(self, data: bytearray) -> bytearray:
        r = self.random
        n = len(data)
        choice = r.randrange(8)
        if choice == 0 and n:
            i = r.randrange(n)
            data[i] ^= 1 << r.randrange(8)
        elif choice == 1 and n:
            data[r.randrange(n)] = r.randrange(256)
        elif choice == 2:
            i = r.randint(0, n)
            data[i:i] = bytes(r.randrange(256) for _ in range(r.randint(1, 8)))
        elif choice == 3 and n:
            i = r.randrange(n)
            del data[i : i + r.randint(1, 8)]
        elif choice == 4:
            data = data[: r.randint(0, n)]
        elif choice == 5 and n:
            i = r.randrange(n)
            chunk = data[i : i + r.randint(1, 16)]
            data[i:i] = chunk * r.randint(1, 4)
        elif choice == 6:
            other = r.choice(self.inputs)
            data = data[: r.randint(0, n)] + other[r.randint(0, len(other)) :]
        elif n:
            i = r.randrange(n)
            data[i] = r.choice((0, 1, 0x7F, 0x80, 0xFE, 0xFF))
        return data


def _rtp(pt: int, seq: int, ts: int, ssrc: int, payload: bytes, marker: bool = False) -> bytes:
    # One-byte header extensions (RFC 8285): mid (id 1), abs-send-time (2), audio level (3).
    ext = bytes([0x10]) + b"0" + bytes([0x22, 0x12, 0x34, 0x56]) + bytes([0x30, 0x85])
    ext += bytes(-len(ext) % 4)
    header = struct.pack("!BBHII", 0x90, (0x80 if marker else 0) | pt, seq, ts, ssrc) + struct.pack(
        "!HH", 0xBEDE, len(ext) // 4
    )
    return header + ext + payload


def _rtcp(pt: int, count: int, body: bytes) -> bytes:
    return struct.pack("!BBH", 0x80 | count, pt, len(body) // 4) + body


def seeds() -> dict[str, bytes]:
    ssrc, media = 0x11223344, 0xAABBCCDD
    vp8_key = bytes([0x90, 0x80, 0x81, 0x23]) + bytes([0x50, 0x2A, 0x01, 0x9D, 0x01, 0x2A])
    vp8_key += bytes([0x40, 0x01, 0xB4, 0x00]) + bytes(range(40))
    sps = bytes([0x67, 0x42, 0xC0, 0x1F, 0xDA, 0x01, 0x40, 0x16, 0xE8])
    pps = bytes([0x68, 0xCE, 0x3C, 0x80])
    stap = bytes([0x18]) + struct.pack("!H", len(sps)) + sps + struct.pack("!H", len(pps)) + pps
    sender_info = struct.pack("!IIIII", 0xE1234567, 0x89ABCDEF, 90000, 100, 12000)
    report = struct.pack("!IIIIII", media, 0x01000010, 1000, 20, 0x12345678, 9)
    remb = b"REMB" + bytes([1, 0x0B, 0xD0, 0x90]) + struct.pack("!I", media)
    return {
        "rtp-vp8-key": _rtp(96, 1000, 90000, ssrc, vp8_key, marker=True),
        "rtp-vp8-delta": _rtp(96, 1001, 93000, ssrc, bytes([0x90, 0x80, 0x81, 0x24, 0x11]) * 8),
        "rtp-rtx": _rtp(97, 7, 93000, ssrc + 1, struct.pack("!H", 1001) + vp8_key),
        "rtp-h264-stap": _rtp(102, 5, 90000, ssrc, stap),
        "rtp-h264-fu-idr": _rtp(102, 6, 90000, ssrc, bytes([0x7C, 0x85]) + bytes(60)),
        "rtp-opus": _rtp(111, 300, 48000, ssrc + 2, bytes([0xFC]) + bytes(range(60))),
        "rtp-padding": struct.pack("!BBHII", 0xA0, 96, 1002, 93000, ssrc) + b"\x00\x00\x03",
        "rtcp-sr": _rtcp(200, 1, struct.pack("!I", ssrc) + sender_info + report),
        "rtcp-rr": _rtcp(201, 1, struct.pack("!I", ssrc) + report),
        "rtcp-nack": _rtcp(205, 1, struct.pack("!IIHH", ssrc, media, 1000, 0x8001)),
        "rtcp-pli": _rtcp(206, 1, struct.pack("!II", ssrc, media)),
        "rtcp-fir": _rtcp(206, 4, struct.pack("!III", ssrc, 0, media) + bytes([7, 0, 0, 0])),
        "rtcp-remb": _rtcp(206, 15, struct.pack("!II", ssrc, 0) + remb),
        "rtcp-sdes-bye": (
            _rtcp(202, 1, struct.pack("!I", ssrc) + bytes([1, 4]) + b"meet" + bytes(2))
            + _rtcp(203, 1, struct.pack("!I", ssrc))
        ),
        "rtcp-compound": _rtcp(201, 0, struct.pack("!I", ssrc))
        + _rtcp(206, 1, struct.pack("!II", ssrc, media)),
        "stun-binding": (
            struct.pack("!HHI", 0x0001, 8 + 8, 0x2112A442)
            + bytes(range(12))
            + struct.pack("!HH", 0x0006, 4)
            + b"ab:c"
            + struct.pack("!HHI", 0x0024, 4, 0x6E7F00FF)
        ),
        "stun-response": (
            struct.pack("!HHI", 0x0101, 12, 0x2112A442)
            + bytes(range(12))
            + struct.pack("!HHBBH", 0x0020, 8, 0, 1, 0x1234)
            + bytes([0x5E, 0x12, 0xA4, 0x43])
        ),
        "dtls-client-hello": bytes([22, 0xFE, 0xFF])
        + bytes(8)
        + struct.pack("!H", 52)
        + bytes([1])
        + (40).to_bytes(3, "big")
        + bytes(2)
        + bytes(3)
        + (40).to_bytes(3, "big")
        + bytes([0xFE, 0xFD])
        + bytes(38),
        "dtls-alert": bytes([21, 0xFE, 0xFD]) + bytes(8) + struct.pack("!H", 2) + bytes([2, 40]),
        "dtls-appdata": bytes([23, 0xFE, 0xFD, 0, 1])
        + bytes(6)
        + struct.pack("!H", 32)
        + bytes(range(32)),
    }


def write_seeds() -> None:
    CORPUS.mkdir(parents=True, exist_ok=True)
    for name, data in seeds().items():
        (CORPUS / f"seed-{name}.bin").write_bytes(data)


if __name__ == "__main__":
    write_seeds()
