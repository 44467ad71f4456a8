"""What /proc says about one process (the server alone) and the kernel's UDP counters."""

from __future__ import annotations

import os

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time of ``pid`` (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def status(pid: int) -> dict[str, int]:
    """RSS (KiB), threads and open file descriptors of ``pid``."""
    out = {"rss_kib": 0, "threads": 0, "fds": 0}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                out["rss_kib"] = int(line.split()[1])
            elif line.startswith("Threads:"):
                out["threads"] = int(line.split()[1])
    try:
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        out["fds"] = -1
    return out


def udp_errors() -> dict[str, int]:
    """The kernel's UDP error counters (whole machine): InErrors, RcvbufErrors, SndbufErrors."""
    with open("/proc/net/snmp") as f:
        lines = [line.split() for line in f if line.startswith("Udp:")]
    header, values = lines[0][1:], [int(v) for v in lines[1][1:]]
    counters = dict(zip(header, values, strict=True))
    return {k: counters.get(k, 0) for k in ("InErrors", "RcvbufErrors", "SndbufErrors")}


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores; /proc/stat), since boot."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLK_TCK
