"""The asyncio adapter that deletes expired rooms on time.

It sleeps until the earliest ``expires_at`` (at most :data:`MAX_SLEEP`, so a wall-clock jump
is caught within a minute) and wakes early when a room's expiry changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from signaling.clock import Clock
from signaling.rooms.service import RoomService

__all__ = ["MAX_SLEEP", "Sweeper"]

logger = logging.getLogger(__name__)

MAX_SLEEP = 60.0


class Sweeper:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._wake = asyncio.Event()
        self._passed = asyncio.Condition()
        #: Completed sweeps; tests wait on it instead of sleeping.
        self.passes = 0

    def poke(self) -> None:
        """Re-plan now: a room's expiry may have moved."""
        self._wake.set()

    async def wait_for_pass(self, after: int) -> None:
        """Return once more than ``after`` sweeps have completed."""
        async with self._passed:
            await self._passed.wait_for(lambda: self.passes > after)

    async def run(self, rooms: RoomService) -> None:
        while True:
            self._wake.clear()
            delay = MAX_SLEEP
            try:
                await rooms.sweep()
                upcoming = await rooms.next_expiry()
                if upcoming is not None:
                    ahead = (upcoming - self._clock.now()).total_seconds()
                    delay = min(MAX_SLEEP, max(ahead, 0.0))
            except Exception:
                logger.exception("room sweep failed; retrying in %.0f s", MAX_SLEEP)
            async with self._passed:
                self.passes += 1
                self._passed.notify_all()
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that
            # races with the wake-up (gh-86296), which kept a stopping server alive.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
