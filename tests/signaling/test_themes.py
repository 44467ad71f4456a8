"""Themes: CRUD, validation, the logo (checked by its bytes, public to fetch), and rooms'
join previews carrying their theme."""

from __future__ import annotations

import httpx

from tests.signaling.test_api_rooms import assert_problem, create

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_a_themed_room_shows_its_theme_to_whoever_holds_a_link(
    app_client: httpx.AsyncClient,
) -> None:
    spec = {"name": "Acme", "base": "light", "primary": "#AA3300", "brand_text": "Acme Corp"}
    made = await app_client.post("/api/v1/themes", json=spec)
    assert made.status_code == 201
    theme = made.json()
    assert theme["primary"] == "#AA3300" and theme["logo_url"] is None
    assert theme["background"] == "#10131a"  # defaults for what was not given
    room = await create(app_client, name="Board", theme_id=theme["id"])
    secret = {"secret": room["links"]["speaker"]["secret"]}
    seen = (await app_client.post("/api/v1/join/preview", json=secret)).json()
    assert seen["theme"]["brand_text"] == "Acme Corp" and seen["theme"]["base"] == "light"

    logo = await app_client.put(f"/api/v1/themes/{theme['id']}/logo", content=PNG)
    assert logo.status_code == 200 and logo.json()["logo_url"]
    async with httpx.AsyncClient(transport=app_client._transport, base_url="http://t") as anon:
        image = await anon.get(logo.json()["logo_url"])  # no API key: the join view loads it
    assert image.content == PNG and image.headers["content-type"] == "image/png"
    assert image.headers["x-content-type-options"] == "nosniff"

    patched = await app_client.patch(f"/api/v1/themes/{theme['id']}", json={"accent": "#00ff00"})
    assert patched.json()["accent"] == "#00ff00" and patched.json()["logo_url"]
    listed = (await app_client.get("/api/v1/themes")).json()["items"]
    assert [t["id"] for t in listed] == [theme["id"]]
    assert (await app_client.delete(f"/api/v1/themes/{theme['id']}")).status_code == 204
    seen = (await app_client.post("/api/v1/join/preview", json=secret)).json()
    assert seen["theme"] is None  # the default look


async def test_bad_themes_and_logos_are_refused_clearly(app_client: httpx.AsyncClient) -> None:
    for bad in ({"name": "X", "primary": "red"}, {"name": "X", "base": "sepia"}, {"name": ""}):
        assert_problem(await app_client.post("/api/v1/themes", json=bad), 422, "validation-error")
    assert_problem(
        await app_client.post("/api/v1/rooms", json={"name": "R", "theme_id": "thm_none"}),
        409,
        "unknown-theme",
    )
    theme = (await app_client.post("/api/v1/themes", json={"name": "T"})).json()
    url = f"/api/v1/themes/{theme['id']}/logo"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    # What the bytes are is the media type: anything else is 415 (an empty body too).
    for not_an_image in (svg, b""):
        refused = await app_client.put(url, content=not_an_image)
        assert_problem(refused, 415, "unsupported-media-type")
    big = PNG + b"\x00" * (256 * 1024)
    assert_problem(await app_client.put(url, content=big), 413, "payload-too-large")
    assert_problem(await app_client.get(url), 409, "no-logo")  # the theme exists, no logo
    assert_problem(await app_client.get("/api/v1/themes/nope/logo"), 404, "not-found")
    assert_problem(await app_client.put("/api/v1/themes/nope/logo", content=PNG), 404, "not-found")
