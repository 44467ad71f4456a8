"""What may reach DTLS and SRTP from a media socket (RELIABILITY 23 and 24).

aioice 0.13 hands every datagram that does not parse as STUN to the DTLS transport, whatever
its size and whoever sent it, through an unbounded queue; aiortc's DTLS transport then reads
``data[0]``, so one empty datagram from anyone who can reach a media port raised
``IndexError`` out of its receive loop and ended that participant's media. Its parser errors
on odd STUN (a 2-byte PRIORITY) raised out of the datagram callback too.

:func:`sfu.internals.install_guard` wraps those aioice and aiortc entry points once (both are
pinned exactly); this module is the policy it applies:

- a datagram reaches DTLS/SRTP only if its source is a *validated* address of that ICE
  connection: one that sent an authenticated STUN binding request (it knows the ICE
  password; what mediasoup and LiveKit check) or whose connectivity check succeeded;
- empty datagrams, datagrams over :data:`MAX_DATAGRAM` bytes and datagrams whose first byte
  is neither STUN, DTLS nor RTP/RTCP (RFC 7983) are dropped first;
- at most :data:`MAX_QUEUED` datagrams wait for the DTLS transport; more are dropped;
- a packet that makes aiortc's (or the relay's) receive path raise is dropped, and the
  connection goes on;
- STUN that aioice's parser cannot take is dropped;
- decrypted RTP and RTCP that aiortc's parsers cannot take are dropped: they raised more
  than the ``ValueError`` aiortc catches (``struct.error`` on a header extension of the wrong
  length, or routing a REMB that lists more SSRCs than it holds; found by
  tests/sfu/test_fuzz.py).

Every drop is counted by reason (:data:`sfu.stats.STATS`, ``/metrics``). Nothing is logged
per packet unless debug logging is on (:func:`count`). :func:`classify` is the pure part.
"""

from __future__ import annotations

import enum
import logging
import struct
from typing import Any

from sfu.stats import STATS

__all__ = [
    "MALFORMED",
    "MAX_DATAGRAM",
    "MAX_FAILURES_IN_A_ROW",
    "MAX_PEERS",
    "MAX_QUEUED",
    "Drop",
    "classify",
    "count",
]

logger = logging.getLogger(__name__)

#: The largest non-STUN datagram taken: an Ethernet MTU (Janus caps RTP/RTCP there too;
#: browsers keep RTP, RTCP and DTLS records under about 1200 bytes).
MAX_DATAGRAM = 1500
#: Datagrams waiting for one connection's DTLS transport (a few seconds of a camera).
MAX_QUEUED = 1024
#: Validated addresses kept per socket (a client has one or two; only the ICE password adds).
MAX_PEERS = 16
#: Receive-path failures in a row after which the failure is let through (a transport that
#: raises on every call is broken, not attacked): far more than packets an attack can send
#: between two good ones without being the peer.
MAX_FAILURES_IN_A_ROW = 10_000

#: What aioice's parser and request handling raise on malformed input.
MALFORMED = (struct.error, ValueError, KeyError, IndexError, TypeError)


class Drop(enum.Enum):
    """Why a datagram on a media port was dropped (the ``reason`` label in ``/metrics``)."""

    EMPTY = "empty"
    OVERSIZE = "oversize"
    UNKNOWN = "unknown"
    STRANGER = "stranger"
    QUEUE_FULL = "queue_full"
    MALFORMED_STUN = "malformed_stun"
    MALFORMED_RTP = "malformed_rtp"
    MALFORMED_RTCP = "malformed_rtcp"
    RECEIVE_ERROR = "receive_error"


def classify(data: bytes) -> Drop | None:
    """Whether a datagram that is not STUN can go to DTLS/SRTP by its looks alone: None if
    it can, else why not. First bytes per RFC 7983: 20-63 DTLS, 128-191 RTP/RTCP."""
    size = len(data)
    if size == 0:
        return Drop.EMPTY
    if size > MAX_DATAGRAM:
        return Drop.OVERSIZE
    first = data[0]
    if 19 < first < 64 or 127 < first < 192:
        return None
    return Drop.UNKNOWN


def count(reason: Drop, addr: Any) -> None:
    """One datagram dropped for ``reason`` (from ``addr``, if known)."""
    STATS.dropped_datagrams[reason.value] += 1
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("dropped a datagram from %s: %s", addr, reason.value)
