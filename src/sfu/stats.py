"""Counters of the relay, for ``/metrics``: plain integers bumped on the packet path (an
attribute increment; no locks, one event loop) and read by whoever reports them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["STATS", "RelayStats"]


@dataclass(slots=True)
class RelayStats:
    #: RTP packets received from publishers on the track they publish (relayed or not).
    received_packets: int = 0
    #: RTP packets sent to subscribers, retransmissions included.
    forwarded_packets: int = 0
    #: Packets for a subscriber that could not go out (socket buffer full, encryption
    #: refused, too large): real-time media is dropped, not queued.
    dropped_packets: int = 0
    #: Retransmissions sent to subscribers from the server's history, on their NACKs.
    retransmitted_packets: int = 0
    #: Packets sent into pipes to other workers (a spread room's tracks, once per pipe).
    piped_packets: int = 0
    #: Keyframe requests (PLI) sent upstream to publishers.
    keyframe_requests: int = 0
    #: Datagrams on media ports dropped, by reason (:class:`sfu.guard.Drop` values): before
    #: DTLS/SRTP (from strangers, empty, oversize, malformed STUN, ...) or after decryption
    #: (RTP/RTCP that cannot be parsed).
    dropped_datagrams: Counter[str] = field(default_factory=Counter)


#: The process's relay counters (one process serves its rooms on one loop).
STATS = RelayStats()
