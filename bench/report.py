"""The load tester's results as Markdown tables and a PNG plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _f(value: Any, fmt: str = "{:g}") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return fmt.format(value)
    return str(value)


def _pair(a: Any, b: Any) -> str:
    return f"{_f(a)} / {_f(b)}"


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| target | scenario | pub | sub | tracks rcvd/exp | in pkt/s | out pkt/s | out Mbit/s "
        "| server CPU (core) | us/fwd pkt | loss | jitter ms | join ms p50/p95 "
        "| first frame ms p50/p95 | fwd latency ms p50/p99 | NACK/PLI | RSS MiB (per part.) "
        "| sig RTT ms p99 | UDP rcvbuf err | generator CPU (core) | other CPU (core) |",
        "|---" * 21 + "|",
    ]
    for r in results:
        cells = [
                r["target"], r["scenario"], _f(r["publishers"]), _f(r["subscribers"]),
                f"{r['tracks_received']}/{r['tracks_expected']}", _f(r["in_packets_per_s"]),
                _f(r["out_packets_per_s"]), _f(r["out_mbit_per_s"]),
                _f(r["server_cpu_share_of_one_core"], "{:.2f}"),
                _f(r["cpu_us_per_forwarded_packet"], "{:.1f}"),
                _f(r["loss_ratio"], "{:.2%}"), _f(r["jitter_ms_mean"], "{:.1f}"),
                _pair(r["join_latency_ms_p50"], r["join_latency_ms_p95"]),
                _pair(r["first_frame_ms_p50"], r["first_frame_ms_p95"]),
                _pair(r["forward_latency_ms_p50"], r["forward_latency_ms_p99"]),
                _pair(r["nacks_received_by_publishers"], r["plis_received_by_publishers"]),
                f"{_f(r['rss_mib'])} ({_f(r['rss_mib_per_participant'], '{:.2f}')})",
                _f(r["signaling_rtt_ms_p99"]), _f(r["udp_rcvbuf_errors"]),
                _f(r["generator_cpu_share_of_one_core"], "{:.2f}"),
            _f(r.get("other_cpu_share_of_one_core"), "{:.2f}"),
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    soaks = [r for r in results if r["scenario"] == "soak"]
    if soaks:
        lines += [
            "",
            "| target | soak s | cycles | joins | RSS MiB start -> end | fds start -> end "
            "| threads start -> end | asyncio tasks start -> end |",
            "|---" * 8 + "|",
        ]
        for r in soaks:
            tasks = "-"
            if r.get("tasks_start") is not None:
                tasks = f"{r['tasks_start']} -> {r['tasks_end']}"
            lines.append(
                f"| {r['target']} | {r['soak_s']:g} | {r['cycles']} | {r['joins']} "
                f"| {r['rss_mib_start']} -> {r['rss_mib_end']} | {r['fds_start']} -> "
                f"{r['fds_end']} | {r['threads_start']} -> {r['threads_end']} | {tasks} |"
            )
    peers = [r for r in results if "meetbox_ratio" in r]
    if peers:
        lines += [
            "",
            "meetbox / peer (below 1: meetbox uses less, or is faster):",
            "",
            "| scenario | sub | peer | us/fwd pkt | server CPU s | loss meetbox / peer "
            "| join p95 | first frame p95 | fwd latency p99 | RSS per participant |",
            "|---" * 10 + "|",
        ]
        ours = {(r["scenario"], r.get("step")): r for r in results if r["target"] == "meetbox"}
        for r in peers:
            q = r["meetbox_ratio"]
            mine = ours[(r["scenario"], r.get("step"))]
            loss = f"{_f(mine['loss_ratio'], '{:.2%}')} / {_f(r['loss_ratio'], '{:.2%}')}"
            lines.append(
                f"| {r['scenario']} | {r['subscribers']} | {r['target']} "
                f"| {_f(q['cpu_us_per_forwarded_packet'])} | {_f(q['server_cpu_s'])} | {loss} "
                f"| {_f(q['join_latency_ms_p95'])} | {_f(q['first_frame_ms_p95'])} "
                f"| {_f(q['forward_latency_ms_p99'])} | {_f(q['rss_mib_per_participant'])} |"
            )
    spread = [r for r in results if len(r.get("server_cpu_s_by_process") or {}) > 1]
    if spread:
        lines += [
            "",
            "meetbox's CPU by process (seconds in the window) and N workers against 1:",
            "",
            "| target | scenario | sub | CPU s by process | us/fwd pkt vs 1 worker "
            "| RSS MiB idle -> loaded |",
            "|---" * 6 + "|",
        ]
        for r in spread:
            parts = ", ".join(
                f"{k} {v:.2f}" for k, v in sorted(r["server_cpu_s_by_process"].items())
            )
            vs = (r.get("vs_one_worker") or {}).get("cpu_us_per_forwarded_packet")
            lines.append(
                f"| {r['target']} | {r['scenario']} | {r['subscribers']} | {parts} | {_f(vs)} "
                f"| {_f(r.get('rss_mib_idle'))} -> {_f(r['rss_mib'])} |"
            )
    return "\n".join(lines) + "\n"


def plot(results: list[dict[str, Any]], path: Path) -> None:
    """CPU per forwarded packet and loss against subscriber count, a line per target and
    scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (cpu_ax, loss_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    series: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in results:
        if r["scenario"] != "soak":
            series.setdefault((r["target"], r["scenario"]), []).append(r)
    for (target, scenario), rows in sorted(series.items()):
        rows.sort(key=lambda r: r["subscribers"])
        xs = [r["subscribers"] for r in rows]
        label = f"{target} ({scenario})"
        cpu_ax.plot(xs, [r["cpu_us_per_forwarded_packet"] for r in rows], "o-", label=label)
        loss_ax.plot(xs, [100 * (r["loss_ratio"] or 0) for r in rows], "o-", label=label)
    cpu_ax.set(xlabel="subscribers", ylabel="server CPU us per forwarded packet", yscale="log")
    loss_ax.set(xlabel="subscribers", ylabel="packet loss %")
    for ax in (cpu_ax, loss_ax):
        ax.grid(True, alpha=0.3)
    cpu_ax.legend(fontsize=7)
    fig.suptitle("meetbox vs stock aiortc relay vs Janus (loopback, this machine)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    """Render saved results again: ``python -m bench.report RESULTS.json [--plot PNG]``."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m bench.report", description=main.__doc__)
    parser.add_argument("results", type=Path, help="a --json file of python -m bench.load")
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()
    results = json.loads(args.results.read_text())
    print(markdown(results), end="")
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
