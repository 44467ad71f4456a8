"""``GET /metrics``: the server's state in the Prometheus text format (version 0.0.4).

:func:`render` is pure: it takes the numbers and returns the text; :func:`collect` reads
them from the services, the relay's counters and ``/proc/self`` (Linux; elsewhere the
process lines are left out).
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass

from signaling.placement.seam import MediaStats
from signaling.services import Services

__all__ = ["CONTENT_TYPE", "Metric", "collect", "render"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_STARTED = time.time()


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    kind: str  # "gauge" or "counter"
    help: str
    value: float
    #: Label pairs of this sample; samples of one name follow each other under one HELP.
    labels: tuple[tuple[str, str], ...] = ()


def render(metrics: list[Metric]) -> str:
    lines: list[str] = []
    previous = ""
    for m in metrics:
        if m.name != previous:
            lines.append(f"# HELP {m.name} {m.help}")
            lines.append(f"# TYPE {m.name} {m.kind}")
            previous = m.name
        value = int(m.value) if float(m.value).is_integer() else m.value
        labels = ",".join(f'{k}="{v}"' for k, v in m.labels)
        lines.append(f"{m.name}{{{labels}}} {value}" if labels else f"{m.name} {value}")
    return "\n".join(lines) + "\n"


def _process() -> list[Metric]:
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        cpu = (int(fields[11]) + int(fields[12])) / ticks
        rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        fds = len(os.listdir("/proc/self/fd"))
    except (OSError, IndexError, ValueError):
        return []
    return [
        Metric("process_cpu_seconds_total", "counter", "User and system CPU time.", cpu),
        Metric("process_resident_memory_bytes", "gauge", "Resident memory.", rss),
        Metric("process_open_fds", "gauge", "Open file descriptors.", fds),
        Metric("process_start_time_seconds", "gauge", "Start time, Unix epoch.", _STARTED),
    ]


def _workers(media: MediaStats) -> list[Metric]:
    """One series per media worker (``--workers N``), labelled ``worker``; one metric's
    samples together, as the text format wants."""
    series = (
        ("meetbox_worker_up", "gauge", "Whether the media worker is running.",
         lambda w: 1 if w.up else 0),
        ("meetbox_worker_restarts_total", "counter",
         "Times the media worker died and was started again.", lambda w: w.restarts),
        ("meetbox_worker_meetings", "gauge", "Meetings whose media is on the worker.",
         lambda w: w.meetings),
        ("meetbox_worker_peers", "gauge", "Participants with media on the worker.",
         lambda w: w.peers),
        ("meetbox_worker_cpu_seconds_total", "counter",
         "User and system CPU time of the worker's current process.", lambda w: w.cpu_seconds),
        ("meetbox_worker_resident_memory_bytes", "gauge", "Resident memory of the worker.",
         lambda w: w.rss_bytes),
        ("meetbox_worker_rtp_forwarded_packets_total", "counter",
         "RTP packets the worker sent to subscribers.", lambda w: w.forwarded_packets),
    )  # fmt: skip
    return [
        Metric(name, kind, help_text, value(w), (("worker", w.worker),))
        for name, kind, help_text, value in series
        for w in media.workers
    ]


def collect(services: Services, media: MediaStats) -> list[Metric]:
    """The metrics of this process; ``media`` as the placement reports it."""
    meetings, people, tracks = services.meetings.counts()
    return [
        Metric("meetbox_meetings", "gauge", "Meetings in progress.", meetings),
        Metric("meetbox_participants", "gauge", "People in meetings (not recorders).", people),
        Metric("meetbox_published_tracks", "gauge", "Tracks published in meetings.", tracks),
        Metric(
            "meetbox_recordings_running",
            "gauge",
            "Recorder processes under way.",
            services.recordings.running,
        ),
        Metric(
            "meetbox_rtp_received_packets_total",
            "counter",
            "RTP packets received from publishers.",
            media.received_packets,
        ),
        Metric(
            "meetbox_rtp_forwarded_packets_total",
            "counter",
            "RTP packets sent to subscribers, retransmissions included.",
            media.forwarded_packets,
        ),
        Metric(
            "meetbox_rtp_dropped_packets_total",
            "counter",
            "RTP packets for subscribers that could not be sent (socket full, too large).",
            media.dropped_packets,
        ),
        Metric(
            "meetbox_rtp_retransmitted_packets_total",
            "counter",
            "Retransmissions to subscribers from the server's history (NACK answers).",
            media.retransmitted_packets,
        ),
        Metric(
            "meetbox_rtp_piped_packets_total",
            "counter",
            "RTP packets sent into pipes between media workers (rooms spread over workers).",
            media.piped_packets,
        ),
        Metric(
            "meetbox_keyframe_requests_total",
            "counter",
            "Keyframe requests (PLI) sent to publishers.",
            media.keyframe_requests,
        ),
        *(
            Metric(
                "meetbox_media_datagrams_dropped_total",
                "counter",
                "Datagrams on media ports dropped (strangers, junk, unparseable), by reason.",
                count,
                (("reason", reason),),
            )
            for reason, count in media.dropped_datagrams
        ),
        Metric(
            "meetbox_asyncio_tasks",
            "gauge",
            "Tasks on the server's event loop.",
            len(asyncio.all_tasks()),
        ),
        *_workers(media),
        *_process(),
    ]
