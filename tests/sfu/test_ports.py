"""--rtc-ports: media sockets stay inside the range, and a full range is a clear error."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest

from sfu import ports
from sfu.errors import MediaError
from sfu.room import MediaRoom
from sfu.sdp import advertise_public_ip
from tests.sfu.test_media import Listener, client_offer

FIRST, LAST = 41100, 41107


@pytest.fixture
def rtc_ports() -> Iterator[ports.PortRange]:
    port_range = ports.PortRange(FIRST, LAST)
    ports.install(port_range)
    yield port_range
    ports.install(None)


def candidate_ports(sdp: str) -> set[int]:
    return {int(m.group(1)) for m in re.finditer(r"a=candidate:\S+ \d+ udp \d+ \S+ (\d+)", sdp)}


def test_round_robin_and_validation() -> None:
    r = ports.PortRange(5000, 5002)
    assert r.candidates() == [5000, 5001, 5002]
    r.taken(5001)
    assert r.candidates() == [5002, 5000, 5001]
    for bad in ("1-100", "6000-5000", "5000", "a-b", "5000-70000"):
        with pytest.raises(ValueError):
            ports.parse_port_range(bad)


def test_the_range_is_split_evenly_between_workers() -> None:
    shares = ports.PortRange(40000, 40013).split(3)
    assert [str(s) for s in shares] == ["40000-40004", "40005-40009", "40010-40013"]
    assert sum(len(s) for s in shares) == 14
    assert [str(s) for s in ports.PortRange(40000, 40999).split(1)] == ["40000-40999"]
    with pytest.raises(ValueError, match="too few for 4 media workers"):
        ports.PortRange(40000, 40010).split(4)


async def test_server_candidates_bind_inside_the_range(rtc_ports: ports.PortRange) -> None:
    room = MediaRoom(Listener())
    try:
        for name in ("a", "b"):
            peer = await room.add_peer(name, may_publish=True)
            answer = await peer.publish_offer(await client_offer(), {})
            used = candidate_ports(answer)
            assert used and all(FIRST <= p <= LAST for p in used), used
    finally:
        await room.close()


async def test_a_full_range_is_a_clear_error(rtc_ports: ports.PortRange) -> None:
    client_sdp = (
        await client_offer()
    )  # made before the range is full (clients are not limited here)
    squatters = []
    for port in range(FIRST, LAST + 1):  # take every port of the range, IPv4 and IPv6
        for family, any_addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
            s = socket.socket(family, socket.SOCK_DGRAM)
            if family == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((any_addr, port))
            squatters.append(s)
    room = MediaRoom(Listener())
    try:
        peer = await room.add_peer("a", may_publish=True)
        with pytest.raises(MediaError) as info:
            await peer.publish_offer(client_sdp, {})
        assert info.value.code == "no_media_ports"
    finally:
        for s in squatters:
            s.close()
        await room.close()


def test_public_ip_replaces_host_candidates_only() -> None:
    sdp = "\r\n".join(
        [
            "v=0",
            "c=IN IP4 192.0.2.2",
            "a=candidate:1 1 udp 2130706431 192.0.2.2 41100 typ host",
            "a=candidate:2 1 udp 1694498815 198.51.100.9 41100 typ srflx raddr 192.0.2.2 "
            "rport 41100",
            "",
        ]
    )
    out = advertise_public_ip(sdp, "203.0.113.7")
    assert "a=candidate:1 1 udp 2130706431 203.0.113.7 41100 typ host" in out
    assert "198.51.100.9 41100 typ srflx" in out
    assert "c=IN IP4 203.0.113.7" in out
    assert advertise_public_ip(sdp, None) == sdp


async def test_answers_advertise_the_public_ip() -> None:
    room = MediaRoom(Listener(), public_ip="203.0.113.7")
    try:
        peer = await room.add_peer("a", may_publish=True)
        answer = await peer.publish_offer(await client_offer(), {})
        hosts = re.findall(r"a=candidate:\S+ \d+ udp \d+ (\S+) \d+ typ host", answer)
        assert hosts and set(hosts) == {"203.0.113.7"}
    finally:
        await room.close()
