"""Which media worker takes a new meeting: the least loaded one. Pure: the loads are
arguments.

A worker's cost is the larger of the share of a core it used over its last load report and
its packets per second against :data:`PACKETS_PER_CORE` (what one worker forwards on one
core), plus a little per meeting, participant and track it holds already, so meetings placed
in the same second (before any report shows them) spread instead of piling onto one worker.
A worker that is not up takes a meeting only when none is.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PACKETS_PER_CORE", "WorkerLoad", "cost", "least_loaded"]

#: Packets per second one worker forwards on one core (bench.load: ~30 us per packet).
PACKETS_PER_CORE = 30_000.0
#: Cost of what a worker holds, in shares of a core: a meeting, a participant, a track.
PER_MEETING = 0.02
PER_PEER = 0.01
PER_TRACK = 0.005


@dataclass(frozen=True, slots=True)
class WorkerLoad:
    worker: str
    #: Started and answering (not starting, restarting or stopping).
    up: bool
    #: Meetings (media channels) the main process has placed on it.
    meetings: int = 0
    #: Participants with media on it.
    peers: int = 0
    #: Tracks published on it.
    tracks: int = 0
    #: Share of one core used over the last report interval.
    cpu: float = 0.0
    #: Packets received and forwarded per second over the last report interval.
    packets_per_second: float = 0.0


def cost(load: WorkerLoad) -> float:
    busy = max(load.cpu, load.packets_per_second / PACKETS_PER_CORE)
    return busy + PER_MEETING * load.meetings + PER_PEER * load.peers + PER_TRACK * load.tracks


def least_loaded(loads: list[WorkerLoad]) -> str | None:
    """The worker a new meeting goes to; ties go to the first listed. ``None`` if none."""
    if not loads:
        return None
    up = [load for load in loads if load.up] or loads
    return min(up, key=cost).worker
