"""A few-second run of the load tester (``python -m bench.load``) against every target, so the
bench cannot rot: 1 publisher (audio + video), 2 subscribers, a 2 s window. The full runs
(docs/benchmarks.md) stay out of CI.

The bench runs as its own process: it starts servers, patches aioice's host addresses and
drives dozens of peer connections, none of which belongs in the test process. Janus is
required under CI=true (.ci/run installs it) and skipped elsewhere when it is missing.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from bench.load import REQUIRED_KEYS

REPO = Path(__file__).resolve().parents[2]


def targets() -> list[str]:
    names = ["meetbox", "aiortc-relay"]
    if shutil.which("janus"):
        names.append("janus")
    elif os.environ.get("CI") == "true":
        pytest.fail("CI=true and janus is not installed (.ci/run installs it)")
    return names


async def test_smoke_every_target(tmp_path: Path) -> None:
    names = targets()
    out = tmp_path / "results.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.load", "--scenario", "custom", "--target", ",".join(names),
        "--publishers", "1", "--subscribers", "2", "--duration", "2", "--settle", "0.5",
        "--settle-timeout", "15", "--join-rate", "20", "--no-progress",
        "--json", str(out), "--md", str(tmp_path / "results.md"),
        "--plot", str(tmp_path / "results.png"),
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        async with asyncio.timeout(55):
            output, _ = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()  # the bench stops its servers on SIGINT/SIGTERM; this is the backstop
            await proc.wait()
    assert proc.returncode == 0, output.decode(errors="replace")[-3000:]

    results = json.loads(out.read_text())
    assert [r["target"] for r in results] == names
    for r in results:
        missing = [k for k in REQUIRED_KEYS if k not in r]
        assert not missing, f"{r['target']}: missing {missing}"
        assert r["scenario"] == "custom"
        assert (r["publishers"], r["subscribers"]) == (1, 2)
        # 2 subscribers x (audio + video) of the one publisher
        assert r["tracks_expected"] == 4
        assert r["tracks_received"] == r["tracks_expected"], r
        assert r["forwarded_packets"] > 0, r
        assert r["join_failures"] == 0, r
        assert 1.5 <= r["duration_s"] < 10
        assert 0 <= r["loss_ratio"] < 0.2, r
        assert r["server_cpu_s"] >= 0
        assert r["rss_mib"] > 0
        assert r["join_latency_ms_p50"] is not None and 0 < r["join_latency_ms_p50"] < 15000
        assert r["first_frame_ms_p95"] is not None and 0 < r["first_frame_ms_p95"] < 15000
        if r["target"] != "aiortc-relay":  # the relay re-encodes: no payload to match
            assert 0 < r["forward_latency_ms_p99"] < 5000, r
    peers = [r for r in results if r["target"] != "meetbox"]
    assert all("cpu_us_per_forwarded_packet" in r["meetbox_ratio"] for r in peers)
    assert (tmp_path / "results.png").stat().st_size > 1000
    assert "| meetbox | custom |" in (tmp_path / "results.md").read_text()
