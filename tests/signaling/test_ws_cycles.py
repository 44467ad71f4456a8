"""Join/leave cycles leave nothing behind: file descriptors, tasks and memory return to
their baseline (RELIABILITY 15). ``MEETBOX_CYCLES`` sets the count (default 200)."""

from __future__ import annotations

import asyncio
import gc
import os

from sfu.synthetic import ColorTrack
from signaling.client import MeetboxClient
from tests.conftest import Server


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


async def test_join_leave_cycles_release_everything(server: Server) -> None:
    cycles = int(os.environ.get("MEETBOX_CYCLES", "200"))
    room = await server.room()
    host = MeetboxClient(server.ws_url, await server.token(room, "moderator", "host"))
    await host.connect()
    await host.publish({"camera": ColorTrack((1, 2, 3), 64, 48)})  # so joiners get media

    async def cycle(i: int) -> None:
        client = MeetboxClient(server.ws_url, await server.token(room, nickname=f"p{i}"))
        await client.connect()
        await client.send(type="leave")
        await client.close()

    for i in range(20):  # warm up caches and pools before the baseline
        await cycle(i)
    gc.collect()
    fds, tasks, rss = open_fds(), len(asyncio.all_tasks()), rss_kib()
    for i in range(cycles):
        await cycle(i)
    async with asyncio.timeout(30):  # the host is told of every leave
        await host.wait_for(
            lambda c: sum(m["type"] == "participant_left" for m in c.messages) == cycles + 20
        )
    gc.collect()
    live = server.services.meetings.live(room.id)
    assert live is not None and set(live.media.room.peers) == {host.joined["you"]["id"]}
    assert open_fds() <= fds + 5, f"fds {fds} -> {open_fds()}"
    assert len(asyncio.all_tasks()) <= tasks + 5, f"tasks {tasks} -> {len(asyncio.all_tasks())}"
    assert rss_kib() <= rss + 40 * 1024, f"RSS {rss} KiB -> {rss_kib()} KiB"
    await host.close()
