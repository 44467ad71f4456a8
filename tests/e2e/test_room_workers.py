"""The room page in real Chromium against a server whose media runs in worker processes:
two pages and a Python client meet; the meeting's worker is killed (SIGKILL) and everyone
decodes everyone again, on the other worker, in the same meeting."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

from sfu.synthetic import ColorTrack
from signaling.client import MeetboxClient
from tests.conftest import Server
from tests.e2e.test_room_page import join, link, open_link
from tests.signaling.test_workers import channel

#: How many of the others' tiles play video (more than 10 frames each).
PLAYING = """(me) => [...document.querySelectorAll('#grid .tile')]
  .filter((t) => t.dataset.participant !== me)
  .map((t) => t.querySelector('video'))
  .filter((v) => v && v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames > 10)
  .length"""
#: How many video streams the page's (fresh) subscriber connection decodes (over 10 frames).
DECODED = """async () => {
  let n = 0;
  (await window.meetboxRoom.client.subscriber.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video' && s.framesDecoded > 10) n += 1;
  });
  return n;
}"""


async def test_pages_see_each_other_again_after_their_worker_is_killed(
    browser: Any, worker_server: Server, tmp_path: Path
) -> None:
    server = worker_server
    room = await server.room()
    ada = await open_link(browser, link(server, room, "moderator"))
    ada_id = await join(ada, "Ada", tmp_path)
    bo = await open_link(browser, link(server, room, "speaker"))
    bo_id = await join(bo, "Bo", tmp_path)
    cy = MeetboxClient(server.ws_url, await server.token(room, "speaker", "Cy"))
    try:
        await cy.connect()
        await cy.publish({"camera": ColorTrack((200, 30, 30))})
        # Each page plays both others' video (the other page's camera and Cy's).
        for page, me in ((ada, ada_id), (bo, bo_id)):
            await page.wait_for_function(f"({PLAYING})({me!r}) === 2", timeout=30000)
        async with asyncio.timeout(20):
            await cy.wait_for(
                lambda c: (
                    {t.participant_id for t in c.received.values() if t.frames > 10}
                    >= {ada_id, bo_id}
                )
            )
        media = channel(server.services, room.id)
        victim = media.worker
        assert victim.process is not None
        meeting_id = cy.joined["meeting_id"]
        os.kill(victim.process.pid, signal.SIGKILL)

        for page in (ada, bo):
            await page.wait_for_function("window.meetboxRoom.client.resets === 1", timeout=10000)
        async with asyncio.timeout(15):
            await cy.wait_for(lambda c: c.resets == 1)
        since = {t.track_id: t.frames for t in cy.received.values()}
        # Everyone decodes the others again on fresh connections, on the other worker.
        for page in (ada, bo):
            await page.wait_for_function(f"({DECODED})().then((n) => n === 2)", timeout=20000)
        async with asyncio.timeout(20):
            await cy.wait_for(
                lambda c: (
                    {
                        t.participant_id
                        for t in c.received.values()
                        if t.frames > since.get(t.track_id, 0) + 10
                    }
                    >= {ada_id, bo_id}
                )
            )
        assert channel(server.services, room.id).worker is not victim
        live = server.services.meetings.live(room.id)
        assert live is not None and live.core.id == meeting_id
        assert not any(m["type"] == "participant_left" for m in cy.messages)
        for page in (ada, bo):
            assert await page.locator("#grid .tile").count() == 3
            assert not page.errors, page.errors
        await ada.screenshot(path=str(tmp_path / "after-worker-killed.png"))
    finally:
        await cy.close()
