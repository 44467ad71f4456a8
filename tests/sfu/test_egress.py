"""The egress decides once per subscriber connection how packets leave: a TURN-relayed
subscriber gets its packets through aiortc's send path, not a probe of its ICE pair each
time; a direct one through the C path (sfu._wire), whose packets decrypt to exactly what
the Python builder writes. (The media tests cover the same with real peers.)"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtp import RtpPacket
from pylibsrtp import Policy, Session

from sfu import egress as egress_module
from sfu.egress import Egress, fast_path, sockaddr
from sfu.rtpwrite import build


class RelayedDtls:
    """A connected DTLS transport whose nominated pair goes through a TURN allocation."""

    def __init__(self) -> None:
        self._state = DtlsState.CONNECTED
        self._tx_srtp = SimpleNamespace(_srtp=[object()], _cdata=object(), _buffer=bytearray(1500))
        pair = SimpleNamespace(protocol=object(), remote_addr=("198.51.100.7", 3478))
        self.transport = SimpleNamespace(_connection=SimpleNamespace(_nominated={1: pair}))
        self.sent: list[bytes] = []

    async def _send_rtp(self, data: bytes) -> None:
        self.sent.append(data)


async def test_a_relayed_subscriber_goes_through_aiortc() -> None:
    dtls: Any = RelayedDtls()
    egress = Egress.open(dtls)
    assert egress is not None
    assert egress.send(b"one") and egress.send(b"two")
    await asyncio.sleep(0)  # one loop turn: the sends are tasks
    assert dtls.sent == [b"one", b"two"]
    egress.close()  # nothing of ours to close


async def test_no_egress_before_the_connection_is_up() -> None:
    dtls: Any = RelayedDtls()
    dtls._state = DtlsState.CONNECTING
    assert Egress.open(dtls) is None


KEY = bytes(range(30))


class ConnectedDtls:
    """A connected DTLS transport carrying a real libsrtp session."""

    def __init__(self) -> None:
        self._state = DtlsState.CONNECTED
        self._tx_srtp = Session(
            Policy(key=KEY, ssrc_type=Policy.SSRC_ANY_OUTBOUND, srtp_profile=PROFILE)
        )


PROFILE = Policy.SRTP_PROFILE_AES128_CM_SHA1_80


@contextlib.contextmanager
def udp_pair(
    family: socket.AddressFamily, host: str
) -> Iterator[tuple[socket.socket, socket.socket]]:
    with (
        socket.socket(family, socket.SOCK_DGRAM) as rx,
        socket.socket(family, socket.SOCK_DGRAM) as tx,
    ):
        rx.bind((host, 0))
        rx.settimeout(5)
        tx.bind((host, 0))
        tx.setblocking(False)
        yield tx, rx


def test_the_c_path_is_built_in_ci() -> None:
    if os.environ.get("CI") == "true":
        assert fast_path(), "sfu._wire did not build: the relay would use the slow path"


@pytest.mark.parametrize(
    ("family", "host"), [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")]
)
@pytest.mark.parametrize("elements", [b"", b"\x10\x07", b"\x32\x01\x02\x03\x40\x0f"])
@pytest.mark.parametrize("marker", [0, 0x80])
@pytest.mark.parametrize("path", ["c", "python"])
def test_what_goes_out_decrypts_to_the_packet_built_in_python(
    family: socket.AddressFamily,
    host: str,
    elements: bytes,
    marker: int,
    path: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if path == "python":
        monkeypatch.setattr(egress_module, "_wire", None)  # as when built without a compiler
    elif not fast_path():
        pytest.skip("sfu._wire was not built here")
    with udp_pair(family, host) as (tx, rx):
        check_round_trips(Egress(ConnectedDtls(), tx, rx.getsockname()), rx, elements, marker)  # type: ignore[arg-type]


def check_round_trips(egress: Egress, rx: socket.socket, elements: bytes, marker: int) -> None:
    assert egress.fast == (egress_module._wire is not None)
    inbound = Session(Policy(key=KEY, ssrc_type=Policy.SSRC_ANY_INBOUND, srtp_profile=PROFILE))
    mid, payload = b"\x20\x31", bytes(range(256)) * 4
    for seq in (65534, 65535, 0, 1):  # across the wrap: libsrtp's rollover counter
        assert egress.send_rtp(
            marker | 100, seq, 4_000_000_000 + seq, 0xDEADBEEF, mid, elements, payload
        )
        plain = inbound.unprotect(rx.recv(2048))
        expected = build(
            bool(marker), 100, seq, 4_000_000_000 + seq, 0xDEADBEEF, mid + elements, payload
        )
        assert plain == expected
        packet = RtpPacket.parse(plain)
        assert (packet.sequence_number, packet.ssrc, packet.payload) == (seq, 0xDEADBEEF, payload)
    assert egress.dropped == 0


def test_packets_that_cannot_go_out_are_dropped_and_counted() -> None:
    with udp_pair(socket.AF_INET, "127.0.0.1") as (tx, rx):
        egress = Egress(ConnectedDtls(), tx, rx.getsockname())  # type: ignore[arg-type]
        assert not egress.send_rtp(96, 1, 1, 1, b"", b"", bytes(4000))  # larger than any MTU
        tx.close()  # the socket went away under the egress
        assert not egress.send_rtp(96, 2, 2, 1, b"", b"", b"x")
        assert egress.dropped == 2


def test_sockaddr_leaves_what_the_c_path_cannot_take_to_python() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as v4:
        assert sockaddr(v4, ("127.0.0.1", 5000)) is not None
        assert sockaddr(v4, ("localhost", 5000)) is None  # a name: Python resolves it
        assert sockaddr(v4, ("::1", 5000)) is None  # another family than the socket's
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as v6:
        assert sockaddr(v6, ("fe80::1%lo", 5000)) is None  # scoped: Python's job


def test_a_closed_egress_never_writes_to_a_descriptor_reused_by_another_socket() -> None:
    with udp_pair(socket.AF_INET, "127.0.0.1") as (tx, rx):
        egress = Egress(ConnectedDtls(), tx, rx.getsockname())  # type: ignore[arg-type]
        egress.close()  # closes tx: its descriptor number is free again
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
            other.bind(("127.0.0.1", 0))  # likely gets the same number
            assert not egress.send_rtp(96, 1, 1, 1, b"", b"", b"late")
        rx.settimeout(0.05)
        with pytest.raises(TimeoutError):
            rx.recv(2048)
        assert egress.dropped == 1
