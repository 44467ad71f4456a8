"""The admin console in real Chromium: a wrong password is refused, the right one opens the
console, a room created there can be joined from its moderator link."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from signaling.client import MeetboxClient
from tests.conftest import Receiver, Server
from tests.signaling.test_themes import PNG


async def test_admin_creates_a_room_and_its_link_opens_the_join_view(
    browser: Any, server: Server, tmp_path: Path
) -> None:
    assert server.services.first_start is not None
    password = server.services.first_start.admin_password
    assert password
    base = server.ws_url.replace("ws://", "http://").removesuffix("/ws")
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{base}/admin")
    await page.wait_for_selector("#login:not([hidden])")
    await page.fill("#password", "not the password")
    await page.click("#login-form button")
    await page.wait_for_selector("#login-error:not([hidden])")
    assert "Wrong password" in await page.text_content("#login-error")
    await page.screenshot(path=str(tmp_path / "admin-login.png"))

    await page.fill("#password", password)
    await page.click("#login-form button")
    await page.wait_for_selector("#console:not([hidden])")
    # A theme, then a room wearing it.
    await page.fill("#theme-name", "Acme")
    await page.fill("#theme-primary", "#aa3300")
    await page.fill("#theme-brand", "Acme Corp")
    await page.click("#theme-form button")
    await page.wait_for_function(
        "document.querySelector('#room-theme').selectedOptions[0].text === 'Acme'"
    )
    # A logo for it, checked by its bytes.
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    await page.set_input_files("input[aria-label^='Logo for Acme']", str(logo))
    await page.wait_for_selector("#themes img[alt='Acme logo']")
    # Edit it: a new colour, kept by the server.
    await page.click("button[aria-label='Edit the theme Acme']")
    await page.fill("#theme-accent", "#123456")
    await page.click("#theme-submit")
    await page.wait_for_function(
        "document.querySelector('#theme-submit').textContent === 'Create theme'"
    )
    themes = (await server.services.themes.list(10, None)).items
    assert [(t.name, t.accent, t.primary) for t in themes] == [("Acme", "#123456", "#aa3300")]
    await page.fill("#room-name", "Team sync")
    await page.click("#create-form button")
    row = page.locator("#rooms tr", has_text="Team sync")
    await row.wait_for()
    await page.screenshot(path=str(tmp_path / "admin-rooms.png"))
    href = await row.locator("a[data-role=moderator]").get_attribute("href")
    assert href and "/room/" in href and "#secret=" in href

    # The link carries the server's public URL; here it is the test server's address.
    join = await context.new_page()
    await join.goto(base + href[href.index("/room/") :])
    await join.wait_for_selector("#join:not([hidden])")
    assert await join.text_content("#join-title") == "Join Team sync"
    assert await join.text_content("[data-role]") == "a moderator"
    assert "Acme Corp" in await join.text_content("#join .brand")
    assert await join.locator("#join .brand img").count() == 1
    button = join.locator("#join-form button[type=submit]")
    colour = await button.evaluate("(b) => getComputedStyle(b).backgroundColor")
    assert colour == "rgb(170, 51, 0)"  # the theme's primary colour
    await join.screenshot(path=str(tmp_path / "join-themed.png"))

    page.on("dialog", lambda dialog: dialog.accept())
    # Edit: every option, the room closed for now.
    await row.locator("button", has_text="Edit").click()
    await page.fill("#room-max", "5")
    await page.fill("#room-length", "45")
    await page.check("#room-closed")
    await page.click("#room-submit")
    await page.wait_for_selector("#rooms tr:has-text('closed')")
    room_id = await row.get_attribute("data-room")
    assert room_id is not None
    edited = await server.services.rooms.get(room_id)
    assert (edited.max_participants, edited.session_length_minutes, edited.closed) == (5, 45, True)
    await row.locator("button", has_text="New links").click()
    await page.wait_for_function(
        "(old) => document.querySelector('#rooms a[data-role=moderator]').href !== old",
        arg=await row.locator("a[data-role=moderator]").evaluate("(a) => a.href"),
    )
    # Bulk delete, down to the first-run welcome.
    await page.fill("#room-name", "Other")
    await page.click("#room-submit")
    await page.locator("#rooms tr", has_text="Other").wait_for()
    for box in await page.locator("#rooms .pick").all():
        await box.check()
    await page.click("#bulk-delete")
    await page.wait_for_selector("#empty:not([hidden])")
    assert "Welcome" in await page.text_content("#empty")
    assert not errors, errors


async def login(browser: Any, server: Server) -> Any:
    assert server.services.first_start is not None
    base = server.ws_url.replace("ws://", "http://").removesuffix("/ws")
    page = await (await browser.new_context()).new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto(f"{base}/admin")
    await page.fill("#password", server.services.first_start.admin_password or "")
    await page.click("#login-form button")
    await page.wait_for_selector("#console:not([hidden])")
    return page


async def test_console_keys_webhooks_and_live_meeting(
    browser: Any, server: Server, receiver: Receiver, tmp_path: Path
) -> None:
    page = await login(browser, server)
    await page.click("button[data-page=keys-page]")
    await page.fill("#key-name", "CRM")
    await page.click("#key-form button")
    await page.wait_for_selector("#key-shown:not([hidden])")
    key = await page.text_content("#key-shown code")
    assert key and key.startswith("mbk_")
    assert (await server.services.accounts.authenticate(key)).name == "CRM"  # it works
    await page.screenshot(path=str(tmp_path / "admin-keys.png"))

    await page.click("button[data-page=hooks-page]")
    await page.fill("#hook-url", receiver.url)
    await page.click("#hook-form button")
    await page.wait_for_selector("#hook-shown:not([hidden])")
    secret = await page.text_content("#hook-shown code")
    assert secret and secret.startswith("whsec_")
    await page.click("#hooks button:has-text('Test')")
    await page.wait_for_function("document.querySelector('#hooks').innerText.includes('delivered')")
    await receiver.wait_for(1)
    await page.screenshot(path=str(tmp_path / "admin-webhooks.png"))

    room = await server.room(name="Live")
    guest = MeetboxClient(server.ws_url, await server.token(room, "speaker", "Guest"))
    try:
        await guest.connect()
        await page.click("button[data-page=rooms-page]")
        await page.click("button[aria-label='Show the live meeting in Live']")
        await page.wait_for_selector("#live:not([hidden])")
        assert "Guest" in await page.text_content("#live-people")
        await page.click("button[aria-label='Remove Guest']")
        async with asyncio.timeout(10):
            await guest.wait_for(lambda c: c.closed_with is not None)
        assert {"type": "bye", "reason": "kicked"} in guest.messages
    finally:
        await guest.close()
    assert not page.errors, page.errors
