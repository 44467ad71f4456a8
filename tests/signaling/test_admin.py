"""The admin console's login: password -> session cookie, then the REST API without an API key,
with CSRF protection on changes, rate-limited attempts and expiry."""

from __future__ import annotations

from datetime import timedelta

import httpx

from signaling.clock import FakeClock
from signaling.services import Services
from tests.signaling.test_api_rooms import assert_problem


def bare(app_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """A client on the same app with no API key (a browser)."""
    return httpx.AsyncClient(transport=app_client._transport, base_url="http://test")


async def test_login_gives_a_session_that_works_the_api_with_csrf_protection(
    app_client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    assert services.first_start is not None and services.first_start.admin_password
    password = services.first_start.admin_password
    async with bare(app_client) as browser:
        assert_problem(await browser.get("/api/v1/rooms"), 401, "unauthorized")
        wrong = await browser.post("/api/v1/admin/login", json={"password": "not it"})
        assert_problem(wrong, 401, "unauthorized")
        ok = await browser.post("/api/v1/admin/login", json={"password": password})
        assert ok.status_code == 200
        cookie = ok.headers["set-cookie"]
        assert "meetbox_admin=" in cookie and "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
        assert (await browser.get("/api/v1/admin/session")).status_code == 200
        assert (await browser.get("/api/v1/rooms")).status_code == 200
        # A change needs the console's header: a form on another site cannot add it.
        forged = await browser.post("/api/v1/rooms", json={"name": "Forged"})
        assert_problem(forged, 403, "forbidden")
        made = await browser.post(
            "/api/v1/rooms", json={"name": "Real"}, headers={"X-Meetbox-Console": "1"}
        )
        assert made.status_code == 201
        # The session ends after 12 hours, or on logout; a forged cookie is nothing.
        browser.cookies.set("meetbox_admin", "1999999999.abc.deadbeef")
        assert_problem(await browser.get("/api/v1/rooms"), 401, "unauthorized")
        await browser.post("/api/v1/admin/login", json={"password": password})
        clock.advance(timedelta(hours=12, seconds=1))
        assert_problem(await browser.get("/api/v1/admin/session"), 401, "unauthorized")
        await browser.post("/api/v1/admin/login", json={"password": password})
        assert (await browser.post("/api/v1/admin/logout")).status_code == 204
        assert_problem(await browser.get("/api/v1/rooms"), 401, "unauthorized")


async def test_login_attempts_are_rate_limited(
    app_client: httpx.AsyncClient, services: Services
) -> None:
    assert services.first_start is not None and services.first_start.admin_password
    async with bare(app_client) as browser:
        for _ in range(5):
            wrong = await browser.post("/api/v1/admin/login", json={"password": "guess"})
            assert wrong.status_code == 401
        limited = await browser.post(
            "/api/v1/admin/login", json={"password": services.first_start.admin_password}
        )
        assert_problem(limited, 429, "too-many-requests")
