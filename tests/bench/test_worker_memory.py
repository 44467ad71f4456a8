"""bench/worker_memory.py keeps working: its fresh process imports the media worker's
modules without PyAV, and the figures come back (their size is for the bench, not a test)."""

from __future__ import annotations

from bench.worker_memory import measure


def test_the_idle_worker_figures_come_back() -> None:
    result = measure()
    assert result["av_loaded"] is False
    assert 0 < result["anon_mib"] <= result["pss_mib"] <= result["rss_mib"]
    assert "[heap]" in result["mappings"]
