"""The forwarding core: what happens to each RTP packet between a publisher and a subscriber.

Sans-I/O and allocation-light: these classes take numbers, bytes and ``now`` (seconds, any
monotonic origin) and return numbers and bytes. The aiortc adapter calls them per packet; no
decoding, no encoding, ever.

- :class:`StreamRewriter` turns one publisher stream into one subscriber stream: the
  subscriber's own SSRC and payload type, continuous sequence numbers and timestamps, even
  across a republish, starting on a keyframe for video.
- :class:`PacketHistory` keeps what was sent so NACKs are answered from the server.
- :class:`KeyframeThrottle` rate-limits PLI/FIR sent upstream for one publisher stream.
- :class:`MissingPackets` finds the gaps in one publisher stream, to NACK upstream.
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = [
    "HISTORY_SIZE",
    "KeyframeThrottle",
    "MissingPackets",
    "PacketHistory",
    "SentPacket",
    "StreamRewriter",
]

P = TypeVar("P")
#: What the relay keeps of a packet it sent: (header byte 1, timestamp, header extension
#: elements after ``mid``, payload).
SentPacket = tuple[int, int, bytes, bytes]

SEQ_MOD = 1 << 16
TS_MOD = 1 << 32
#: Outgoing packets remembered per video subscriber stream for retransmission: about 2 s of
#: 720p video at 2.5 Mbit/s, 12 s of 180p, where a retransmission stops being of use long
#: before (a receiver's jitter buffer holds well under a second); bounded, like everything a
#: remote peer can make us keep. The payloads are shared, but each is kept while any
#: subscriber's history holds it: this is most of the relay's memory per participant.
HISTORY_SIZE = 512
#: Dropped packets remembered per subscriber stream to renumber late arrivals correctly.
MAX_SHIFTS = 64
#: How far behind the newest packet a missing one is still asked for (aiortc's NACK window).
NACK_WINDOW = 128


def seq_newer(a: int, b: int) -> bool:
    """Whether sequence number ``a`` comes after ``b`` (RFC 1982 serial arithmetic)."""
    return a != b and ((a - b) % SEQ_MOD) < SEQ_MOD // 2


class StreamRewriter:
    """Rewrites one source's packets for one subscriber.

    ``frame_step`` is the timestamp step to leave between the last packet of one source and
    the first of the next (a frame at 30 fps on the 90 kHz clock, 20 ms of Opus at 48 kHz).
    """

    __slots__ = (
        "_frame_step",
        "_have_output",
        "_last_out_seq",
        "_last_out_ts",
        "_seq_offset",
        "_shifts",
        "_source",
        "_ts_offset",
        "ssrc",
    )

    def __init__(self, ssrc: int, first_seq: int, first_ts: int, frame_step: int) -> None:
        #: The SSRC the subscriber sees.
        self.ssrc = ssrc
        self._frame_step = frame_step
        self._source: int | None = None
        self._seq_offset = 0
        self._ts_offset = 0
        self._have_output = False
        #: (source seq of a dropped packet, the offset before it), oldest first: packets from
        #: before a drop that arrive late keep the numbering they had.
        self._shifts: list[tuple[int, int]] = []
        # What the first packet out should carry; afterwards, the last packet out.
        self._last_out_seq = (first_seq - 1) % SEQ_MOD
        self._last_out_ts = (first_ts - frame_step) % TS_MOD

    @property
    def started(self) -> bool:
        return self._source is not None

    def follows(self, source_ssrc: int) -> bool:
        """Whether packets of ``source_ssrc`` go out (it was started on that source)."""
        return self._source == source_ssrc

    def start(self, source_ssrc: int, seq: int, ts: int) -> None:
        """Begin (or switch to) ``source_ssrc`` with the packet ``seq``/``ts``: it will be
        sent right after the last packet already sent."""
        self._source = source_ssrc
        self._shifts.clear()
        self._seq_offset = (self._last_out_seq + 1 - seq) % SEQ_MOD
        self._ts_offset = (self._last_out_ts + self._frame_step - ts) % TS_MOD

    def timestamp(self, source_ssrc: int, ts: int) -> int | None:
        """The outgoing timestamp for source timestamp ``ts`` (for sender reports)."""
        if source_ssrc != self._source:
            return None
        return (ts + self._ts_offset) % TS_MOD

    def rewrite(self, source_ssrc: int, seq: int, ts: int) -> tuple[int, int] | None:
        """Outgoing (sequence number, timestamp) for a packet, or ``None`` if it belongs to
        another source than the one started (the caller decides when to :meth:`start`)."""
        if source_ssrc != self._source:
            return None
        offset = self._seq_offset
        if self._shifts:
            offset = self._offset_for(seq)
        out_seq = (seq + offset) % SEQ_MOD
        out_ts = (ts + self._ts_offset) % TS_MOD
        if not self._have_output or seq_newer(out_seq, self._last_out_seq):
            self._last_out_seq = out_seq
            self._last_out_ts = out_ts
            self._have_output = True
        return out_seq, out_ts

    def drop(self, source_ssrc: int, seq: int) -> None:
        """The packet ``seq`` of the started source is not forwarded (padding-only: bandwidth
        probes carry nothing to relay). If it is the next one, the numbering closes up, so
        the subscriber sees no gap to ask about; one arriving out of order leaves its gap."""
        if source_ssrc != self._source:
            return
        if (seq + self._seq_offset) % SEQ_MOD == (self._last_out_seq + 1) % SEQ_MOD:
            self._shifts.append((seq, self._seq_offset))
            if len(self._shifts) > MAX_SHIFTS:
                del self._shifts[0]
            self._seq_offset = (self._seq_offset - 1) % SEQ_MOD

    def _offset_for(self, seq: int) -> int:
        last_drop = self._shifts[-1][0]
        if seq_newer(seq, last_drop):
            if (seq - last_drop) % SEQ_MOD > HISTORY_SIZE:
                self._shifts.clear()  # long past: nothing that old is still coming
            return self._seq_offset
        offset = self._seq_offset
        for drop_seq, before in reversed(self._shifts):
            if not seq_newer(drop_seq, seq):
                break
            offset = before
        return offset


class PacketHistory(Generic[P]):
    """The last :data:`HISTORY_SIZE` packets sent on one stream, by sequence number (a
    packet is whatever the caller needs to send it again)."""

    __slots__ = ("_packets", "_seqs")

    def __init__(self, size: int = HISTORY_SIZE) -> None:
        self._seqs: list[int] = [-1] * size
        self._packets: list[P | None] = [None] * size

    def put(self, seq: int, packet: P) -> None:
        slot = seq % len(self._seqs)
        self._seqs[slot] = seq
        self._packets[slot] = packet

    def get(self, seq: int) -> P | None:
        slot = seq % len(self._seqs)
        return self._packets[slot] if self._seqs[slot] == seq else None


class KeyframeThrottle:
    """Keyframe requests upstream for one publisher stream: at most one per ``interval``
    seconds, and none while one is already answered by a keyframe on its way.

    - A request inside the interval is remembered and sent when it ends, so none is lost.
    - A request made while an earlier one is *outstanding* (sent, no keyframe seen since, for
      less than ``patience`` seconds) is dropped: the keyframe that answers the earlier one
      serves it too (whoever waits starts on the next keyframe, whichever request it came
      from). Subscribers joining in a burst thus share keyframes instead of queueing behind
      the interval. Call :meth:`keyframe_seen` when a keyframe arrives.
    - A *first* request (a subscriber that has not started on the stream yet: it has no
      picture at all) does not wait for the interval: it goes at once, unless one is
      outstanding. These are bounded on their own: ``burst`` at once, then one per
      ``interval`` on average; past that they wait like the others. Without this, subscribers
      joining about one interval apart each waited for the one before: a request deferred
      by a late join deferred the next join's, and so on (the delays only add up).
    """

    __slots__ = (
        "_burst",
        "_credit",
        "_credit_at",
        "_interval",
        "_last",
        "_patience",
        "_pending",
        "outstanding",
    )

    def __init__(self, interval: float = 0.2, patience: float = 1.0, burst: int = 3) -> None:
        self._interval = interval
        self._patience = patience
        self._burst = burst
        #: First requests that may go at once (refilled one per interval, up to ``burst``).
        self._credit = float(burst)
        self._credit_at: float | None = None
        self._last: float | None = None
        self._pending = False
        #: A request went upstream and no keyframe has been seen since.
        self.outstanding = False

    def request(self, now: float, first: bool = False) -> bool:
        """A subscriber needs a keyframe (``first``: it has had none from this stream yet):
        ``True`` if a PLI should go upstream now."""
        if self._last is not None and self.outstanding and now - self._last < self._patience:
            return False  # the keyframe on its way serves this request as well
        if first and self._take_credit(now):
            self._sent(now)
            return True
        if self._last is None or now - self._last >= self._interval:
            self._sent(now)
            return True
        self._pending = True
        return False

    def _take_credit(self, now: float) -> bool:
        if self._credit_at is not None:
            refill = (now - self._credit_at) / self._interval
            self._credit = min(float(self._burst), self._credit + max(0.0, refill))
        self._credit_at = now
        if self._credit < 1.0:
            return False
        self._credit -= 1.0
        return True

    def keyframe_seen(self) -> None:
        """A keyframe arrived from the publisher: requests after it need a new one."""
        self.outstanding = False

    def due(self, now: float) -> bool:
        """Poll: ``True`` if a deferred request should go upstream now."""
        if self._pending and self._last is not None and now - self._last >= self._interval:
            self._sent(now)
            return True
        return False

    def _sent(self, now: float) -> None:
        self._last = now
        self._pending = False
        self.outstanding = True

    def next_due(self) -> float | None:
        return self._last + self._interval if self._pending and self._last is not None else None


class MissingPackets:
    """The sequence numbers missing from one incoming stream, within :data:`NACK_WINDOW` of
    the newest: what aiortc's ``NackGenerator`` keeps (same window, same answers), without
    its walk over the whole set on every packet."""

    __slots__ = ("max_seq", "missing")

    def __init__(self) -> None:
        self.max_seq: int | None = None
        self.missing: set[int] = set()

    def add(self, seq: int) -> bool:
        """Packet ``seq`` arrived: ``True`` if it revealed new gaps."""
        last = self.max_seq
        if last is None:
            self.max_seq = seq
            return False
        gap = (seq - last) % SEQ_MOD
        if gap == 0 or gap >= SEQ_MOD // 2:  # not newer: perhaps one that was missing
            self.missing.discard(seq)
            return False
        self.max_seq = seq
        missing = self.missing
        for back in range(1, min(gap, NACK_WINDOW + 1)):
            missing.add((seq - back) % SEQ_MOD)
        if missing:
            oldest = (seq - NACK_WINDOW) % SEQ_MOD
            for old in [s for s in missing if seq_newer(oldest, s)]:
                missing.discard(old)
        return gap > 1
