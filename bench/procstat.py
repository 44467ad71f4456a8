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


def children(pid: int) -> list[int]:
    """Child processes of ``pid`` (every thread's), recursively."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids = [int(k) for k in f.read().split()]
        except OSError:
            continue
        for kid in kids:
            found += [kid, *children(kid)]
    return found


def role(pid: int) -> str:
    """A meetbox process's role from its command line: ``main`` or ``worker-N`` (else the
    program name)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().decode(errors="replace").split("\0")
    except OSError:
        return "gone"
    if "meetbox.worker" in argv and "--id" in argv:
        return f"worker-{argv[argv.index('--id') + 1]}"
    return os.path.basename(argv[0]) if argv and argv[0] else "?"


def tree_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of ``pid`` (``main``) and of each of its descendants, by role."""
    out = {"main": cpu_seconds(pid)}
    for kid in children(pid):
        try:
            out[role(kid)] = out.get(role(kid), 0.0) + cpu_seconds(kid)
        except OSError:
            continue  # exited meanwhile
    return out


def tree_rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants, summed (shared libraries count once
    per process: an upper bound)."""
    total = status(pid)["rss_kib"]
    for kid in children(pid):
        try:
            total += status(kid)["rss_kib"]
        except OSError:
            continue
    return total
