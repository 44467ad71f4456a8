"""bench/pipe_cpu.py keeps working: every packet crosses the pipe and the figures come back
(their size is for the bench, not a test)."""

from __future__ import annotations

import asyncio

from bench.pipe_cpu import run


def test_the_pipe_figures_come_back() -> None:
    result = asyncio.run(run(packets=1000, size=500, rounds=1))
    assert result["packets"] == 1000
    assert result["cpu_us_per_packet_with_pipe"] > 0
