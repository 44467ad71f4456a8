"""Keep every media socket inside a configured UDP port range (``--rtc-ports``).

aioice binds its host candidate sockets (and TURN client sockets) to port 0. When a range is
configured, :func:`install` gives ``aioice.ice`` and ``aioice.turn`` an ``asyncio`` whose
running loop binds those sockets to the next free port of the range instead (through
:mod:`sfu.internals`: aioice is pinned exactly). :func:`install_host_addresses` chooses the
addresses it gathers host candidates on (``--rtc-ips``).

:class:`PortRange` is the sans-I/O part: it hands out ports round-robin, so a port freed by
a participant who left is not reused at once.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import types
from typing import Any

from sfu import internals

__all__ = [
    "MIN_SHARE",
    "PortRange",
    "PortsExhausted",
    "install",
    "install_host_addresses",
    "parse_addresses",
    "parse_port_range",
]


#: Fewest ports a media worker's share of the range may have (each participant takes two).
MIN_SHARE = 4


class PortsExhausted(OSError):
    """Every port of the range is taken."""


class PortRange:
    def __init__(self, first: int, last: int) -> None:
        if not 1024 <= first <= last <= 65535:
            raise ValueError("an RTC port range is FIRST-LAST within 1024-65535, FIRST <= LAST")
        self.first = first
        self.last = last
        self._next = first

    def __len__(self) -> int:
        return self.last - self.first + 1

    def candidates(self) -> list[int]:
        """Every port of the range once, starting after the last one handed out."""
        size = len(self)
        start = self._next - self.first
        return [self.first + (start + i) % size for i in range(size)]

    def taken(self, port: int) -> None:
        self._next = self.first + (port - self.first + 1) % len(self)

    def split(self, parts: int) -> list[PortRange]:
        """The range cut into ``parts`` contiguous shares, one per media worker (the first
        shares one port larger when it does not divide evenly); ValueError if a share would
        have fewer than :data:`MIN_SHARE` ports."""
        if parts < 1:
            raise ValueError("a port range is split into at least one share")
        size, extra = divmod(len(self), parts)
        if size < MIN_SHARE:
            raise ValueError(
                f"the RTC port range {self} has {len(self)} ports: too few for {parts} media "
                f"workers ({MIN_SHARE} each at least); widen it or use fewer workers"
            )
        shares = []
        first = self.first
        for i in range(parts):
            last = first + size - 1 + (1 if i < extra else 0)
            shares.append(PortRange(first, last))
            first = last + 1
        return shares

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"


def parse_port_range(text: str) -> PortRange:
    first, sep, last = text.partition("-")
    if not sep or not first.strip().isdigit() or not last.strip().isdigit():
        raise ValueError(f"an RTC port range looks like 40000-40999, not {text!r}")
    return PortRange(int(first), int(last))


class _RangeLoop:
    """The running loop, but datagram sockets asked for on port 0 land inside the range."""

    def __init__(self, loop: asyncio.AbstractEventLoop, ports: PortRange) -> None:
        self._loop = loop
        self._ports = ports

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loop, name)

    async def create_datagram_endpoint(self, protocol_factory: Any, **kwargs: Any) -> Any:
        local_addr = kwargs.get("local_addr")
        if not local_addr or local_addr[1] != 0:
            return await self._loop.create_datagram_endpoint(protocol_factory, **kwargs)
        host = local_addr[0]
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # Bind here and hand over a bound socket: a failed bind inside the loop's own
        # create_datagram_endpoint can leave a transport behind (seen with uvloop).
        for port in self._ports.candidates():
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                sock.setblocking(False)
                sock.bind((host, port))
            except OSError:
                sock.close()
                continue
            self._ports.taken(port)
            rest = {k: v for k, v in kwargs.items() if k != "local_addr"}
            return await self._loop.create_datagram_endpoint(protocol_factory, sock=sock, **rest)
        raise PortsExhausted(
            f"no free UDP port in {self._ports.first}-{self._ports.last} on {host}"
        )


def parse_addresses(text: str) -> tuple[str, ...]:
    """``--rtc-ips``: comma-separated IPv4/IPv6 addresses, normalised; ValueError if one is not
    an address (a host name is not taken: candidates carry addresses)."""
    addresses = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            addresses.append(str(ipaddress.ip_address(item)))
        except ValueError:
            raise ValueError(f"rtc_ips holds IP addresses, and {item!r} is not one") from None
    if not addresses:
        raise ValueError("rtc_ips names no address")
    return tuple(dict.fromkeys(addresses))


def install_host_addresses(addresses: tuple[str, ...] | None) -> None:
    """Gather host candidates on exactly ``addresses`` (``--rtc-ips``), loopback included if
    named; ``None`` restores aioice's choice (every interface but loopback). Each connection
    still takes only the families it asks for."""
    if addresses is None:
        internals.set_host_addresses(None)
        return
    chosen = addresses

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (use_ipv6 if ":" in a else use_ipv4)]

    internals.set_host_addresses(get_host_addresses)


def install(ports: PortRange | None) -> None:
    """Constrain aioice's sockets to ``ports`` (``None`` restores the default)."""
    if ports is None:
        internals.set_aioice_asyncio(asyncio)
        return
    shim = types.ModuleType("asyncio_rtc_ports")
    shim.__getattr__ = lambda name: getattr(asyncio, name)  # type: ignore[method-assign]
    shim.get_running_loop = lambda: _RangeLoop(asyncio.get_running_loop(), ports)  # type: ignore[attr-defined]
    internals.set_aioice_asyncio(shim)
