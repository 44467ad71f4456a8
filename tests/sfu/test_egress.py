"""The egress decides once per subscriber connection how packets leave: a TURN-relayed
subscriber gets its packets through aiortc's send path, not a probe of its ICE pair each
time. (The direct path is covered by the media tests with real peers.)"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from aiortc.rtcdtlstransport import State as DtlsState

from sfu.egress import Egress


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
