"""Two Chromium participants meet through the SFU, for each video codec Chrome sends: each
one's video plays at the other (size > 0, decoded frames increasing, the codec asked for)
and audio packets keep arriving. Screenshots go to the test's output dir."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from sfu.synthetic import ColorTrack
from signaling.client import MeetboxClient
from tests.conftest import Server

STATS = """async () => {
  const report = await window.meetbox.client.subscriber.getStats();
  const out = {video: 0, audio: 0, width: 0, codec: "", received: 0, keyframes: 0, pli: 0};
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") {
      out.video += s.framesDecoded || 0;
      out.received += s.framesReceived || 0;
      out.keyframes += s.keyFramesDecoded || 0;
      out.pli += s.pliCount || 0;
      out.width = Math.max(out.width, s.frameWidth || 0);
      const codec = report.get(s.codecId);
      if (codec) out.codec = codec.mimeType;
    }
    if (s.type === "inbound-rtp" && s.kind === "audio") out.audio += s.packetsReceived || 0;
  });
  return out;
}"""


async def open_call(
    browser: Any, server: Server, room: Any, role: str, name: str, codec: str
) -> Any:
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    token = await server.token(room, role, name)
    base = server.ws_url.replace("ws://", "http://").removesuffix("/ws")
    await page.goto(f"{base}/web/dev/call.html#token={token}&codec={codec}")
    return page


@pytest.mark.parametrize("codec", ["VP8", "H264"])
async def test_two_browsers_see_and_hear_each_other(
    browser: Any, server: Server, tmp_path: Path, codec: str
) -> None:
    room = await server.room(name="Browsers")
    pages = [
        await open_call(browser, server, room, "moderator", "Alice", codec),
        await open_call(browser, server, room, "speaker", "Bob", codec),
    ]
    for page in pages:
        await page.wait_for_function(
            "window.meetbox && (window.meetbox.published || window.meetbox.error)",
            timeout=15000,
        )
        error = await page.evaluate("window.meetbox.error")
        if error and "cannot send" in error:
            pytest.skip(f"this Chromium build cannot send {codec}")
        assert error is None, page.errors
    first = []
    for page in pages:
        await page.wait_for_function(
            "document.querySelector('video') && document.querySelector('video').videoWidth > 0",
            timeout=20000,
        )
        # Past start-up (the first keyframe, the encoder ramping up): 10 frames shown.
        await page.wait_for_function("window.meetbox.framesShown >= 10", timeout=20000)
        first.append(await page.evaluate(STATS))
    await asyncio.sleep(2)  # a measurement interval: frames and packets must keep coming
    for i, page in enumerate(pages):
        later = await page.evaluate(STATS)
        assert later["width"] > 0
        assert later["codec"].lower() == f"video/{codec.lower()}", later
        assert later["video"] > first[i]["video"], (first[i], later)
        assert later["audio"] > first[i]["audio"], (first[i], later)
        # Started on a keyframe it could receive: the decoder never had to ask for one.
        assert later["pli"] == 0, later
        await page.screenshot(path=str(tmp_path / f"call-{codec}-{i}.png"))
        assert not page.errors, page.errors


REMOTE = """() => window.meetbox.remote.map((d) => ({
  pid: d.info ? d.info.participant_id : null, mid: d.mid, kind: d.track.kind,
}))"""


async def test_a_browser_gets_a_new_publisher_on_the_m_line_the_last_one_left(
    browser: Any, server: Server
) -> None:
    room = await server.room(name="Churn")
    page = await open_call(browser, server, room, "moderator", "Watcher", "VP8")
    await page.wait_for_function("window.meetbox && window.meetbox.published", timeout=15000)
    mids = []
    for i, colour in enumerate([(220, 30, 30), (30, 200, 40)]):
        guest = MeetboxClient(server.ws_url, await server.token(room, "speaker", f"guest{i}"))
        try:
            await guest.connect()
            await guest.publish({"camera": ColorTrack(colour)})
            gid = guest.joined["you"]["id"]
            await page.wait_for_function(
                f"window.meetbox.remote.some((d) => d.info && d.info.participant_id === {gid!r})",
                timeout=15000,
            )
            before = await page.evaluate(STATS)
            shown = await page.evaluate("window.meetbox.framesShown")
            await page.wait_for_function(
                f"window.meetbox.framesShown > {shown} + 10", timeout=15000
            )
            after = await page.evaluate(STATS)
            assert after["video"] > before["video"]  # this guest's video is being decoded
            mids += [r["mid"] for r in await page.evaluate(REMOTE) if r["pid"] == gid]
            await guest.send(type="leave")
            async with asyncio.timeout(10):
                await guest.wait_for(lambda c: c.closed_with is not None)
        finally:
            await guest.close()
        if i == 0:  # the watcher's m-line goes inactive before the next guest comes
            await page.wait_for_function(
                "window.meetbox.client.subscriber.getTransceivers()"
                ".every((t) => t.currentDirection === 'inactive')",
                timeout=10000,
            )
    assert len(mids) == 2 and mids[0] == mids[1], mids  # the same m-line, reused
    count = await page.evaluate("window.meetbox.client.subscriber.getTransceivers().length")
    assert count == 1
    assert not page.errors, page.errors
