"""The page a room link opens, in real Chromium with fake devices: a moderator and a speaker
join from their links, see and hear each other, chat both ways; the moderator removes the
speaker (who lands on the end view with the reason) and ends the meeting. Screenshots of
each view go to the test's output dir."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sfu.synthetic import ColorTrack
from signaling.client import MeetboxClient
from signaling.models import RoomRecord
from signaling.placement.local import LocalMedia
from signaling.wire import CloseCode
from tests.conftest import Server

VIDEO_FRAMES = """(me) => [...document.querySelectorAll('#grid .tile')]
  .filter((t) => t.dataset.participant !== me)
  .map((t) => t.querySelector('video'))
  .filter((v) => v.videoWidth > 0)
  .reduce((n, v) => n + v.getVideoPlaybackQuality().totalVideoFrames, 0)"""
AUDIO_PACKETS = """async () => {
  let n = 0;
  (await window.meetboxRoom.client.subscriber.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') n += s.packetsReceived || 0;
  });
  return n;
}"""


def link(server: Server, room: RoomRecord, role: str) -> str:
    secret = next(ln.secret for r, ln in room.links.items() if r.value == role)
    base = server.ws_url.replace("ws://", "http://").removesuffix("/ws")
    return f"{base}/room/{room.id}#secret={secret}"


async def open_link(browser: Any, url: str) -> Any:
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    page.errors = errors
    await page.goto(url)
    return page


async def join(page: Any, name: str, shots: Path) -> str:
    await page.wait_for_selector("#join:not([hidden])")
    await page.screenshot(path=str(shots / f"join-{name}.png"))
    await page.fill("#nickname", name)
    await page.click("#join-form button[type=submit]")
    await page.wait_for_selector("#devices:not([hidden])")
    await page.wait_for_function("document.querySelector('#preview').videoWidth > 0")
    await page.screenshot(path=str(shots / f"devices-{name}.png"))
    await page.click("#enter")
    await page.wait_for_selector("#meeting:not([hidden])")
    me: str = await page.evaluate("window.meetboxRoom.me.id")
    return me


async def test_two_people_meet_through_their_links(
    browser: Any, server: Server, tmp_path: Path
) -> None:
    room = await server.room(name="Design review")
    mod = await open_link(browser, link(server, room, "moderator"))
    spk = await open_link(browser, link(server, room, "speaker"))
    assert await mod.text_content("#join-title") == "Join Design review"
    assert await mod.text_content("[data-role]") == "a moderator"
    ids = {"Alice": await join(mod, "Alice", tmp_path), "Bob": await join(spk, "Bob", tmp_path)}

    for page, me in ((mod, ids["Alice"]), (spk, ids["Bob"])):
        await page.wait_for_function(f"({VIDEO_FRAMES})({me!r}) > 10", timeout=20000)
        frames = await page.evaluate(f"({VIDEO_FRAMES})({me!r})")
        packets = await page.evaluate(AUDIO_PACKETS)
        await page.wait_for_function(f"({VIDEO_FRAMES})({me!r}) > {frames + 10}", timeout=10000)
        await page.wait_for_function(f"({AUDIO_PACKETS})().then((n) => n > {packets})")
    await mod.screenshot(path=str(tmp_path / "meeting-Alice.png"))
    # Moderators can invite (the speaker link); speakers cannot.
    invite = await mod.evaluate("window.meetboxRoom.preview.invite_url")
    speaker_secret = link(server, room, "speaker").split("#", 1)[1]
    assert invite.endswith(speaker_secret) and await mod.is_visible("#invite")
    assert await spk.is_hidden("#invite")
    # Readable on a phone: nothing wider than 360 px.
    await spk.set_viewport_size({"width": 360, "height": 740})
    assert await spk.evaluate("document.documentElement.scrollWidth") <= 360
    await spk.screenshot(path=str(tmp_path / "meeting-360.png"))
    await spk.set_viewport_size({"width": 1280, "height": 720})
    await mod.click("#layout")  # speaker view
    assert await mod.get_attribute("#grid", "class") == "speaker-layout"

    # Chat both ways; the closed panel counts what is unread.
    await mod.click("#chat-toggle")
    await mod.fill("#chat-text", "Hello Bob")
    await mod.press("#chat-text", "Enter")
    await spk.wait_for_function("document.querySelector('#unread').textContent === '1'")
    await spk.click("#chat-toggle")
    assert "Hello Bob" in await spk.text_content("#chat-log")
    await spk.fill("#chat-text", "Hi Alice")
    await spk.click("#chat-form button")
    await mod.wait_for_function(
        "document.querySelector('#chat-log').textContent.includes('Hi Alice')"
    )
    await spk.screenshot(path=str(tmp_path / "meeting-chat-Bob.png"))

    # The moderator removes Bob, who is told why; then ends the meeting for everyone.
    await mod.click("#people-toggle")
    await mod.click("button[aria-label='Remove Bob from the meeting']")
    await spk.wait_for_selector("#end:not([hidden])")
    assert await spk.get_attribute("#end", "data-reason") == "kicked"
    assert "removed you" in await spk.text_content("#end-reason")
    assert await spk.is_hidden("#rejoin")
    await spk.screenshot(path=str(tmp_path / "end-Bob.png"))
    others = f"[data-participant]:not([data-participant='{ids['Alice']}'])"
    await mod.wait_for_function(f'!document.querySelector("{others}")')  # Bob's tile is gone
    await mod.click("#end-all")
    await mod.wait_for_selector("#end:not([hidden])")
    assert await mod.get_attribute("#end", "data-reason") == "ended_by_moderator"
    for page in (mod, spk):
        assert not page.errors, page.errors


async def test_a_bad_link_says_what_is_wrong(browser: Any, server: Server) -> None:
    room = await server.room()
    recordings = await open_link(browser, link(server, room, "recordings"))
    await recordings.wait_for_selector("#recordings:not([hidden])")
    assert "no recordings" in await recordings.text_content("#recordings")
    page = await open_link(browser, link(server, room, "speaker").split("#")[0] + "#secret=nope")
    await page.wait_for_selector("#problem:not([hidden])")
    assert "does not belong to any room" in await page.text_content("#problem-text")
    incomplete = await open_link(browser, link(server, room, "speaker").split("#")[0])
    await incomplete.wait_for_selector("#problem:not([hidden])")
    assert "incomplete" in await incomplete.text_content("#problem-text")


async def test_the_page_reconnects_by_itself_after_a_dropped_connection(
    browser: Any, server: Server, tmp_path: Path
) -> None:
    room = await server.room()
    mod = await open_link(browser, link(server, room, "moderator"))
    spk = await open_link(browser, link(server, room, "speaker"))
    alice = await join(mod, "Alice", tmp_path)
    bob = await join(spk, "Bob", tmp_path)
    await spk.wait_for_function(f"({VIDEO_FRAMES})({bob!r}) > 10", timeout=20000)
    live = server.services.meetings.live(room.id)
    assert live is not None
    # The connection drops (no bye): the page says so, resumes, and the media never stopped.
    live.sessions[bob].close(None, CloseCode.GOING_AWAY)
    await spk.wait_for_selector("#banner:not([hidden])")
    assert "Reconnecting" in await spk.text_content("#banner")
    await spk.wait_for_selector("#banner", state="hidden", timeout=10000)
    frames = await spk.evaluate(f"({VIDEO_FRAMES})({bob!r})")
    await spk.wait_for_function(f"({VIDEO_FRAMES})({bob!r}) > {frames + 10}", timeout=10000)
    assert await spk.is_visible("#meeting")
    present = await mod.evaluate(
        "window.meetboxRoom.client ? [...window.meetboxRoom.people.keys()] : []"
    )
    assert bob in present and alice in present  # nobody saw Bob leave
    for page in (mod, spk):
        assert not page.errors, page.errors


async def test_a_full_room_says_so(browser: Any, server: Server, tmp_path: Path) -> None:
    room = await server.room(max_participants=1)
    first = await open_link(browser, link(server, room, "moderator"))
    await join(first, "Alice", tmp_path)
    second = await open_link(browser, link(server, room, "speaker"))
    await second.wait_for_selector("#join:not([hidden])")
    await second.fill("#nickname", "Bob")
    await second.click("#join-form button[type=submit]")
    await second.click("#enter")
    await second.wait_for_selector("#problem:not([hidden])")
    assert await second.text_content("#problem-text") == "The meeting is full."


SLOW_CAMERA = """(() => {
  const open = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (c) =>
    new Promise((r) => setTimeout(r, 1500)).then(() => open(c));
})()"""


async def test_joining_while_the_camera_still_opens_publishes_anyway(
    browser: Any, server: Server
) -> None:
    """A new user clicks Join at once: found by trying the README path (2 runs in 4 entered
    the meeting without publishing). Joining waits for the devices."""
    room = await server.room()
    watcher = await open_link(browser, link(server, room, "moderator"))
    await join(watcher, "Watcher", Path("/tmp"))
    context = await browser.new_context()
    await context.add_init_script(SLOW_CAMERA)
    page = await context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    await page.goto(link(server, room, "speaker"))
    await page.fill("#nickname", "Hasty")
    await page.click("#join-form button[type=submit]")
    await page.click("#enter")  # no waiting for the preview
    await page.wait_for_selector("#meeting:not([hidden])")
    me = await watcher.evaluate("window.meetboxRoom.me.id")
    await watcher.wait_for_function(f"({VIDEO_FRAMES})({me!r}) > 10", timeout=20000)
    assert not page.errors, page.errors


async def test_a_screen_share_gets_its_own_tile_and_goes_when_it_stops(
    browser: Any, server: Server, tmp_path: Path
) -> None:
    room = await server.room()
    page = await open_link(browser, link(server, room, "moderator"))
    await join(page, "Watcher", tmp_path)
    presenter = MeetboxClient(server.ws_url, await server.token(room, "speaker", "Presenter"))
    try:
        await presenter.connect()
        pid = presenter.joined["you"]["id"]
        await presenter.publish(
            {"camera": ColorTrack((200, 30, 30)), "screen": ColorTrack((30, 30, 200))}
        )
        tiles = f"[data-participant='{pid}']"
        playing = """(sel) => [...document.querySelectorAll(sel)]
          .filter((t) => t.querySelector('video').videoWidth > 0).length === 2"""
        await page.wait_for_function(playing, arg=tiles, timeout=20000)
        assert await page.locator(f"{tiles}[data-screen]").count() == 1
        assert "screen" in await page.text_content(f"{tiles}[data-screen] .name")
        await page.screenshot(path=str(tmp_path / "screen-share.png"))
        await presenter.unpublish("screen")
        gone = "(sel) => document.querySelectorAll(sel).length === 1"
        await page.wait_for_function(gone, arg=tiles)
        assert await page.locator(f"{tiles}[data-screen]").count() == 0
    finally:
        await presenter.close()
    assert not page.errors, page.errors


async def test_the_page_gets_video_back_after_the_meeting_media_is_reset(
    browser: Any, server: Server, tmp_path: Path
) -> None:
    """The meeting's media is lost (as when its media process dies): the page replaces both
    peer connections, publishes its camera again and plays the other's video again; the
    people grid stays, and nobody left."""
    room = await server.room()
    page = await open_link(browser, link(server, room, "moderator"))
    me = await join(page, "Watcher", tmp_path)
    other = MeetboxClient(server.ws_url, await server.token(room, "speaker", "Presenter"))
    try:
        await other.connect()
        pid = other.joined["you"]["id"]
        await other.publish({"camera": ColorTrack((200, 30, 30))})
        await page.wait_for_function(f"({VIDEO_FRAMES})({me!r}) > 10", timeout=20000)
        async with asyncio.timeout(20):
            await other.wait_for(lambda c: any(t.frames > 10 for t in c.received.values()))
        live = server.services.meetings.live(room.id)
        assert live is not None and isinstance(live.media, LocalMedia)
        live.media.lose()

        await page.wait_for_function("window.meetboxRoom.client.resets === 1", timeout=10000)
        decoded = """async () => {
          let n = 0;
          (await window.meetboxRoom.client.subscriber.getStats()).forEach((s) => {
            if (s.type === 'inbound-rtp' && s.kind === 'video') n += s.framesDecoded || 0;
          });
          return n;
        }"""
        # The fresh subscriber decodes the other's video, and it plays in their tile.
        await page.wait_for_function(f"({decoded})().then((n) => n > 10)", timeout=20000)
        await page.wait_for_function(f"({VIDEO_FRAMES})({me!r}) > 10", timeout=20000)
        # The page published its camera again: the other decodes it on its fresh connection.
        since = {t.track_id: t.frames for t in other.received.values()}
        async with asyncio.timeout(20):
            await other.wait_for(
                lambda c: any(
                    t.participant_id == me and t.frames > since.get(t.track_id, 0) + 10
                    for t in c.received.values()
                )
            )
        assert other.resets == 1
        assert await page.locator(f"#grid [data-participant='{pid}']").count() == 1
        present = await page.evaluate("[...window.meetboxRoom.people.keys()]")
        assert pid in present and me in present
        assert not any(m["type"] == "participant_left" for m in other.messages)
        await page.screenshot(path=str(tmp_path / "after-media-reset.png"))
        assert not page.errors, page.errors
    finally:
        await other.close()
