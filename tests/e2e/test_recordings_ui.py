"""Recordings in real Chromium, with scripted recorders (the ``launcher`` fixture): the REC
indicator everyone in a meeting sees and the moderator's Record button; the recordings link's
page playing a real MP4, download, share and revoke, delete; the share page; the 403 state;
the admin console's recordings page and live-meeting recording controls."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import zipfile
from collections.abc import AsyncIterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from playwright.async_api import expect

from signaling.client import MeetboxClient
from signaling.models import RecordingStatus, RoomRecord
from tests.conftest import Server
from tests.e2e.test_admin_console import login
from tests.e2e.test_room_page import join, link, open_link
from tests.signaling.test_recordings import ScriptedLauncher, ScriptedRecorder

PUBLIC_URL = "https://meet.example.test"
PLAYING = """(v) => v.readyState >= 2 && v.videoWidth === 320 && v.currentTime > 0.3"""


def make_mp4(path: Path, seconds: int = 2, colour: tuple[int, int, int] = (40, 160, 90)) -> bytes:
    """A small real MP4 a browser plays: solid colour 320x240 H.264 and a 440 Hz AAC tone."""
    fps, rate = 25, 48000
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as out:
        video = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        audio = out.add_stream("aac", rate=rate, layout="mono")
        picture = np.full((240, 320, 3), colour, dtype=np.uint8)
        for i in range(seconds * fps):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode())
        for start in range(0, seconds * rate, 1024):
            t = np.arange(start, start + 1024) / rate
            tone = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32).reshape(1, -1)
            sound = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
            sound.sample_rate, sound.pts, sound.time_base = rate, start, Fraction(1, rate)
            out.mux(audio.encode(sound))
        out.mux(audio.encode())
    return path.read_bytes()


def base_url(server: Server) -> str:
    return server.ws_url.replace("ws://", "http://").removesuffix("/ws")


def secret(room: RoomRecord, role: str) -> str:
    return next(ln.secret for r, ln in room.links.items() if r.value == role)


def recordings_link(server: Server, room: RoomRecord, role: str) -> str:
    return f"{base_url(server)}/recordings/{room.id}#secret={secret(room, role)}"


@pytest.fixture
async def made() -> AsyncIterator[list[MeetboxClient]]:
    clients: list[MeetboxClient] = []
    yield clients
    for client in clients:
        await client.close()


async def next_recorder(launcher: ScriptedLauncher) -> ScriptedRecorder:
    async with asyncio.timeout(10):
        return await launcher.launched.get()


async def recorded(
    server: Server, launcher: ScriptedLauncher, room: RoomRecord, made: list[MeetboxClient]
) -> tuple[str, bytes]:
    """A complete recording of a meeting in ``room`` (someone stays in it), its file a real
    MP4. Returns its id and the file's bytes."""
    client = MeetboxClient(server.ws_url, await server.token(room, "moderator", "Host"))
    made.append(client)
    await client.connect()
    started = await server.http.post(f"/api/v1/rooms/{room.id}/recordings")
    assert started.status_code == 201, started.text
    rec_id = started.json()["id"]
    recorder = await next_recorder(launcher)
    data = make_mp4(recorder.output)
    recorder.report(event="active")
    stopped = await server.http.post(f"/api/v1/recordings/{rec_id}/stop")
    assert stopped.status_code == 202, stopped.text
    async with asyncio.timeout(10):
        await recorder.stop_requested.wait()
    recorder.finish(duration=2.0)
    async with asyncio.timeout(10):
        await server.services.recordings.wait_for(rec_id, RecordingStatus.COMPLETE)
    return rec_id, data


async def plays(video: Any) -> None:
    """The player starts and its picture moves on (a real decode, not just metadata)."""
    await video.evaluate("(v) => { v.muted = true; return v.play(); }")
    handle = await video.element_handle()
    await video.page.wait_for_function(PLAYING, arg=handle, timeout=15000)


async def test_moderator_records_and_everyone_sees_it(
    browser: Any, server: Server, launcher: ScriptedLauncher, tmp_path: Path
) -> None:
    room = await server.room(name="Standup")
    mod = await open_link(browser, link(server, room, "moderator"))
    spk = await open_link(browser, link(server, room, "speaker"))
    await join(mod, "Alice", tmp_path)
    await join(spk, "Bob", tmp_path)
    assert await spk.is_hidden("#record") and await spk.is_hidden("#recordings-link")
    assert await mod.get_attribute("#recordings-link", "href") == (
        f"/recordings/{room.id}#secret={secret(room, 'moderator')}"
    )
    await expect(mod.locator("#record")).to_have_text("Record")
    assert await mod.get_attribute("#rec-status", "aria-live") == "polite"

    await mod.click("#record")
    recorder = await next_recorder(launcher)
    for page in (mod, spk):
        await expect(page.locator("#rec")).to_have_attribute("data-status", "starting")
        await expect(page.locator("#rec")).to_contain_text("starting")
    await expect(mod.locator("#record")).to_be_disabled()
    recorder.write_file()
    recorder.report(event="active")
    for page in (mod, spk):
        await expect(page.locator("#rec")).to_have_attribute("data-status", "active")
        await expect(page.locator("#rec-text")).to_have_text("REC")
    await expect(mod.locator("#record")).to_have_text("Stop recording")
    await expect(mod.locator("#record")).to_be_enabled()
    await mod.screenshot(path=str(tmp_path / "meeting-recording.png"))

    # A late joiner sees it at once (``joined.recording``).
    late = await open_link(browser, link(server, room, "speaker"))
    await join(late, "Carol", tmp_path)
    await expect(late.locator("#rec")).to_have_attribute("data-status", "active")
    # On a phone, the indicator fits: nothing wider than 360 px.
    await late.set_viewport_size({"width": 360, "height": 740})
    assert await late.evaluate("document.documentElement.scrollWidth") <= 360
    assert await late.is_visible("#rec")

    await mod.click("#record")
    async with asyncio.timeout(10):
        await recorder.stop_requested.wait()
    for page in (mod, spk):
        await expect(page.locator("#rec")).to_have_attribute("data-status", "ending")
        await expect(page.locator("#rec")).to_contain_text("stopping")
    await expect(mod.locator("#record")).to_be_disabled()
    recorder.finish()
    for page in (mod, spk, late):
        await expect(page.locator("#rec")).to_be_hidden()
        await expect(page.locator("#rec-notice")).to_contain_text("stopped and was saved")
    await expect(mod.locator("#record")).to_have_text("Record")
    await expect(mod.locator("#record")).to_be_enabled()

    # A recording that fails says why, to everyone.
    await mod.click("#record")
    failing = await next_recorder(launcher)
    failing.report(event="active")
    await expect(spk.locator("#rec")).to_have_attribute("data-status", "active")
    failing.report(event="failed", error="disk full: no space left on device")
    failing.exit(1)
    for page in (mod, spk):
        await expect(page.locator("#rec")).to_be_hidden()
        await expect(page.locator("#rec-notice")).to_contain_text(
            "The recording failed: disk full: no space left on device."
        )

    # A refusal comes back with the server's reason.
    recordings = server.services.recordings
    recordings.settings = dataclasses.replace(recordings.settings, max_concurrent=0)
    await mod.click("#record")
    await expect(mod.locator("#rec-notice")).to_contain_text("--max-recordings 0")
    await expect(mod.locator("#record")).to_be_enabled()
    assert await mod.is_hidden("#rec")
    for page in (mod, spk, late):
        assert not page.errors, page.errors


async def test_the_record_button_is_not_offered_where_recording_is_off(
    browser: Any, server: Server, tmp_path: Path
) -> None:
    room = await server.room(config={"recording": {"enabled": False, "access": "admin"}})
    mod = await open_link(browser, link(server, room, "moderator"))
    await join(mod, "Alice", tmp_path)
    assert await mod.is_hidden("#record")
    assert await mod.is_hidden("#recordings-link")  # access "admin": not for moderators


async def test_recordings_page_plays_downloads_shares_and_deletes(
    browser: Any,
    server: Server,
    launcher: ScriptedLauncher,
    made: list[MeetboxClient],
    tmp_path: Path,
) -> None:
    room = await server.room(name="Design <b>review</b>")
    rec_id, data = await recorded(server, launcher, room, made)

    viewer = await open_link(browser, recordings_link(server, room, "recordings"))
    item = viewer.locator(f"#recording-list li[data-recording='{rec_id}']")
    await expect(item).to_have_attribute("data-status", "complete")
    await expect(viewer.locator("#recordings-title")).to_have_text(
        "Recordings of Design <b>review</b>"  # the name as text, never as markup
    )
    await expect(item.locator(".meta")).to_contain_text("0:02")
    await expect(item.locator(".meta")).to_contain_text("Complete")
    await plays(item.locator("video"))
    await viewer.screenshot(path=str(tmp_path / "recordings.png"), full_page=True)
    href = await item.locator("a.download").get_attribute("href")
    assert href and href.startswith(f"/api/v1/recordings/{rec_id}/download?access=")
    file = await server.http.get(href, headers={"X-API-Key": ""})  # no key: the link is enough
    assert file.status_code == 200 and file.content == data
    assert "attachment" in file.headers["content-disposition"]
    assert await item.locator("button").count() == 0  # watching only: no share, no delete
    await viewer.set_viewport_size({"width": 360, "height": 740})
    assert await viewer.evaluate("document.documentElement.scrollWidth") <= 360

    # The moderator's link manages them: share, revoke, delete.
    mod = await open_link(browser, recordings_link(server, room, "moderator"))
    mine = mod.locator(f"#recording-list li[data-recording='{rec_id}']")
    await mine.get_by_role("button", name="Share the recording").click()
    url = await mine.locator(".share-url").text_content()
    assert url and url.startswith(f"{PUBLIC_URL}/recording/{rec_id}#share=")
    await expect(mine.get_by_role("button", name="Revoke the share link")).to_be_visible()
    await mod.screenshot(path=str(tmp_path / "recordings-moderator.png"), full_page=True)
    await mod.set_viewport_size({"width": 360, "height": 740})
    assert await mod.evaluate("document.documentElement.scrollWidth") <= 360
    await mod.set_viewport_size({"width": 1280, "height": 720})

    shared = await open_link(browser, base_url(server) + url.removeprefix(PUBLIC_URL))
    await expect(shared.locator("#shared-title")).to_have_text("Recording of Design <b>review</b>")
    await expect(shared.locator("#shared-when")).to_contain_text("0:02")
    await plays(shared.locator("#shared-video"))
    download = await shared.get_attribute("#shared-download", "href")
    assert download and download.startswith(f"/api/v1/recordings/{rec_id}/download?access=")
    await shared.screenshot(path=str(tmp_path / "shared.png"))
    assert not shared.errors, shared.errors

    await mine.get_by_role("button", name="Revoke the share link").click()
    await expect(mine.locator(".share-url")).to_have_count(0)
    await expect(mine.get_by_role("button", name="Revoke the share link")).to_have_count(0)
    await shared.reload()
    await expect(shared.locator("#problem")).to_be_visible()
    await expect(shared.locator("#problem-text")).to_contain_text("no longer works")

    await mine.get_by_role("button", name="Delete the recording").click()  # confirmed
    await expect(mine).to_have_count(0)
    await expect(mod.locator("#recordings-empty")).to_be_visible()
    assert (await server.http.get(f"/api/v1/recordings/{rec_id}")).status_code == 404
    for page in (viewer, mod):
        assert not page.errors, page.errors


async def test_a_recording_under_way_shows_its_status_until_it_can_be_played(
    browser: Any,
    server: Server,
    launcher: ScriptedLauncher,
    made: list[MeetboxClient],
) -> None:
    room = await server.room(name="Ongoing")
    client = MeetboxClient(server.ws_url, await server.token(room, "moderator", "Host"))
    made.append(client)
    await client.connect()
    rec_id = (await server.http.post(f"/api/v1/rooms/{room.id}/recordings")).json()["id"]
    recorder = await next_recorder(launcher)
    make_mp4(recorder.output)
    recorder.report(event="active")
    await server.services.recordings.wait_for(rec_id, RecordingStatus.ACTIVE)

    page = await open_link(browser, recordings_link(server, room, "recordings"))
    item = page.locator(f"#recording-list li[data-recording='{rec_id}']")
    await expect(item).to_have_attribute("data-status", "active")
    await expect(item.locator(".meta")).to_contain_text("Recording now")
    assert await item.locator("video").count() == 0
    await server.http.post(f"/api/v1/recordings/{rec_id}/stop")
    recorder.finish(duration=2.0)
    # The page looks again by itself while one is under way.
    await expect(item).to_have_attribute("data-status", "complete", timeout=15000)
    await plays(item.locator("video"))
    assert not page.errors, page.errors


async def test_a_link_without_access_to_recordings_is_told_why(
    browser: Any, server: Server
) -> None:
    room = await server.room(name="Private")  # access: moderator (the default)
    page = await open_link(browser, recordings_link(server, room, "speaker"))
    await expect(page.locator("#recordings-forbidden")).to_be_visible()
    await expect(page.locator("#recordings-forbidden")).to_contain_text(
        "This link does not give access to the recordings"
    )
    assert await page.is_hidden("#recordings-empty")
    # With moderator_speaker access the same link sees the (empty) list.
    access = {"recording": {"access": "moderator_speaker"}}
    open_room = await server.room(name="Open", config=access)
    page = await open_link(browser, recordings_link(server, open_room, "speaker"))
    await expect(page.locator("#recordings-empty")).to_be_visible()
    assert await page.is_hidden("#recordings-forbidden")
    assert not page.errors, page.errors


async def test_admin_console_lists_plays_zips_and_deletes_recordings(
    browser: Any,
    server: Server,
    launcher: ScriptedLauncher,
    made: list[MeetboxClient],
    tmp_path: Path,
) -> None:
    ids = {}
    for name in ("Alpha", "Beta"):
        room = await server.room(name=name)
        ids[name], _ = await recorded(server, launcher, room, made)
    page = await login(browser, server)
    await page.click("button[data-page=recordings-page]")
    rows = page.locator("#recordings tr")
    await expect(rows).to_have_count(2)
    await page.select_option("#recording-room", label="Beta")
    await page.click("#recording-filter button[type=submit]")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-recording", ids["Beta"])
    await page.select_option("#recording-room", "")
    await page.select_option("#recording-status", "failed")
    await page.click("#recording-filter button[type=submit]")
    await expect(page.locator("#recordings-empty")).to_be_visible()
    await page.select_option("#recording-status", "")
    await page.click("#recording-filter button[type=submit]")
    await expect(rows).to_have_count(2)

    alpha = page.locator(f"#recordings tr[data-recording='{ids['Alpha']}']")
    await alpha.get_by_role("button", name="Play").click()
    await expect(page.locator("#player")).to_be_visible()
    await plays(page.locator("#player-video"))
    await page.screenshot(path=str(tmp_path / "admin-recordings-player.png"))
    await page.click("#player button")
    await expect(page.locator("#player")).to_be_hidden()

    await alpha.get_by_role("button", name="Share").click()
    await expect(alpha.locator("code.secret")).to_contain_text(f"/recording/{ids['Alpha']}#share=")
    await expect(alpha).to_contain_text("shared")

    await page.check("#recordings-all")
    async with page.expect_download() as info:
        await page.click("#recordings-zip")
    archive = await (await info.value).path()
    content = await asyncio.to_thread(Path(archive).read_bytes)
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        assert len(zf.namelist()) == 2
    await page.screenshot(path=str(tmp_path / "admin-recordings.png"))
    await page.click("#recordings-bulk-delete")  # confirmed
    await expect(page.locator("#recordings-note")).to_contain_text("2 deleted")
    await expect(page.locator("#recordings-empty")).to_be_visible()
    listed = (await server.http.get("/api/v1/recordings")).json()["items"]
    assert listed == []
    assert not page.errors, page.errors


async def test_admin_starts_and_stops_recording_from_the_live_meeting(
    browser: Any,
    server: Server,
    launcher: ScriptedLauncher,
    made: list[MeetboxClient],
) -> None:
    room = await server.room(name="Live")
    guest = MeetboxClient(server.ws_url, await server.token(room, "speaker", "Guest"))
    made.append(guest)
    await guest.connect()
    page = await login(browser, server)
    await page.click("button[aria-label='Show the live meeting in Live']")
    await expect(page.locator("#live-recording")).to_have_text("Not being recorded.")
    await page.click("#live-record")
    recorder = await next_recorder(launcher)
    await expect(page.locator("#live-recording")).to_have_attribute("data-status", "starting")
    recorder.report(event="active")
    await expect(page.locator("#live-recording")).to_have_attribute("data-status", "active")
    await expect(page.locator("#live-stop")).to_be_visible()
    async with asyncio.timeout(10):
        await guest.wait_for(
            lambda c: any(m["type"] == "recording" and m["status"] == "active" for m in c.messages)
        )
    await page.click("#live-stop")
    async with asyncio.timeout(10):
        await recorder.stop_requested.wait()
    recorder.finish()
    await expect(page.locator("#live-recording")).to_have_text("Not being recorded.")
    await expect(page.locator("#live-record")).to_be_visible()
    # A refusal is shown with the server's reason.
    recordings = server.services.recordings
    recordings.settings = dataclasses.replace(recordings.settings, max_concurrent=0)
    await page.click("#live-record")
    await expect(page.locator("#live-recording-error")).to_contain_text("--max-recordings 0")
    assert not page.errors, page.errors


async def test_admin_sets_a_rooms_recording_options(browser: Any, server: Server) -> None:
    page = await login(browser, server)
    await page.fill("#room-name", "Unrecorded")
    await page.uncheck("#room-recording")
    await page.select_option("#room-recording-access", "moderator_speaker")
    await page.click("#room-submit")
    row = page.locator("#rooms tr", has_text="Unrecorded")
    await row.wait_for()
    room_id = await row.get_attribute("data-room")
    assert room_id is not None
    room = await server.services.rooms.get(room_id)
    assert room.config["recording"]["enabled"] is False
    assert room.config["recording"]["access"] == "moderator_speaker"
    await row.locator("button", has_text="Edit").click()
    assert not await page.is_checked("#room-recording")
    await page.check("#room-recording")
    await page.click("#room-submit")
    await expect(page.locator("#room-submit")).to_have_text("Create room")
    room = await server.services.rooms.get(room_id)
    assert room.config["recording"]["enabled"] is True
    assert room.config["recording"]["access"] == "moderator_speaker"
    assert not page.errors, page.errors


async def test_admin_deletes_a_room_with_its_recordings(
    browser: Any, server: Server, launcher: ScriptedLauncher, made: list[MeetboxClient]
) -> None:
    room = await server.room(name="Archive")
    rec_id, _ = await recorded(server, launcher, room, made)
    page = await login(browser, server)  # every confirm is accepted: the recordings go too
    await page.click("button[aria-label='Delete Archive']")
    await expect(page.locator("#rooms tr", has_text="Archive")).to_have_count(0)
    assert (await server.http.get(f"/api/v1/recordings/{rec_id}")).status_code == 404
    assert not page.errors, page.errors
