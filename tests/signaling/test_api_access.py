"""Who may call what: API keys, joining by link secret, health, the OpenAPI document."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest

from signaling.clock import FakeClock
from signaling.models import Role
from signaling.services import Services
from signaling.tokens import verify_participant_token
from tests.conftest import API_KEY
from tests.signaling.test_api_rooms import assert_problem, create

ROUTES = [
    ("POST", "/api/v1/rooms"),
    ("GET", "/api/v1/rooms"),
    ("DELETE", "/api/v1/rooms?ids=a"),
    ("GET", "/api/v1/rooms/x"),
    ("PATCH", "/api/v1/rooms/x"),
    ("DELETE", "/api/v1/rooms/x"),
    ("POST", "/api/v1/rooms/x/links/rotate"),
    ("GET", "/api/v1/api-keys"),
    ("POST", "/api/v1/api-keys"),
    ("DELETE", "/api/v1/api-keys/x"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("key", [None, "", "mbk_wrong-key-0123456789abcdef"])
async def test_every_protected_route_needs_a_valid_key(
    app_client: httpx.AsyncClient, method: str, path: str, key: str | None
) -> None:
    headers = {} if key is None else {"X-API-Key": key}
    client = httpx.AsyncClient(transport=app_client._transport, base_url="http://test")
    async with client:
        response = await client.request(method, path, json={}, headers=headers)
    assert_problem(response, 401, "unauthorized")
    assert "X-API-Key" in response.headers["www-authenticate"]


async def test_api_key_lifecycle(app_client: httpx.AsyncClient, clock: FakeClock) -> None:
    response = await app_client.post("/api/v1/api-keys", json={"name": "ci"})
    assert response.status_code == 201
    created = response.json()
    new_key = created["key"]
    assert new_key.startswith("mbk_") and len(new_key) >= 40
    assert created["prefix"] == new_key[:8]

    listed = (await app_client.get("/api/v1/api-keys")).json()["items"]
    assert {k["name"] for k in listed} == {"initial", "ci"}
    assert all("key" not in k and "key_hash" not in k for k in listed)

    clock.advance(timedelta(minutes=5))
    as_ci = {"X-API-Key": new_key}
    assert (await app_client.get("/api/v1/rooms", headers=as_ci)).status_code == 200
    listed = {k["name"]: k for k in (await app_client.get("/api/v1/api-keys")).json()["items"]}
    assert listed["ci"]["last_used_at"] == "2026-03-01T09:05:00Z"

    assert (await app_client.delete(f"/api/v1/api-keys/{created['id']}")).status_code == 204
    refused = await app_client.get("/api/v1/rooms", headers=as_ci)
    assert_problem(refused, 401)
    assert "revoked" in refused.json()["detail"]
    assert (await app_client.get("/api/v1/rooms")).status_code == 200  # other keys unaffected
    assert_problem(await app_client.delete("/api/v1/api-keys/key_nope"), 404)


async def test_api_key_list_is_paginated(app_client: httpx.AsyncClient, clock: FakeClock) -> None:
    for i in range(4):
        clock.advance(timedelta(seconds=1))
        await app_client.post("/api/v1/api-keys", json={"name": f"k{i}"})
    first = (await app_client.get("/api/v1/api-keys", params={"limit": 3})).json()
    assert [k["name"] for k in first["items"]] == ["k3", "k2", "k1"]
    rest = (
        await app_client.get(
            "/api/v1/api-keys", params={"limit": 3, "cursor": first["next_cursor"]}
        )
    ).json()
    assert [k["name"] for k in rest["items"]] == ["k0", "initial"]
    assert rest["next_cursor"] is None


async def test_join_trades_a_secret_for_a_signed_token(
    app_client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    room = await create(app_client, name="Design review", config={"chat": {"enabled": False}})
    anonymous = httpx.AsyncClient(transport=app_client._transport, base_url="http://test")
    async with anonymous:  # no API key: the link secret is the credential
        response = await anonymous.post(
            "/api/v1/join",
            json={"secret": room["links"]["moderator"]["secret"], "nickname": "  Grace  "},
        )
    assert response.status_code == 200, response.text
    grant = response.json()
    assert grant["role"] == "moderator" and grant["nickname"] == "Grace"
    assert grant["room"]["id"] == room["id"] and grant["room"]["name"] == "Design review"
    assert grant["room"]["config"]["chat"] == {"enabled": False}
    assert grant["ws_url"] == "wss://meet.example.test/ws"
    assert grant["token_expires_at"] == "2026-03-01T09:10:00Z"

    key = await services.accounts.token_signing_key()
    claims = verify_participant_token(key, grant["token"], clock.now())
    assert (claims.room_id, claims.role, claims.participant_id) == (
        room["id"],
        Role.MODERATOR,
        grant["participant_id"],
    )

    second = (
        await app_client.post(
            "/api/v1/join",
            json={"secret": room["links"]["speaker"]["secret"], "nickname": "Ada"},
        )
    ).json()
    assert second["role"] == "speaker"
    assert second["participant_id"] != grant["participant_id"]


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        ({"secret": "not-a-real-secret", "nickname": "Ada"}, 404, "invalid-link"),
        ({"secret": "", "nickname": "Ada"}, 422, "validation-error"),
        ({"secret": "x" * 300, "nickname": "Ada"}, 422, "validation-error"),
        ({"nickname": "Ada"}, 422, "validation-error"),
    ],
)
async def test_join_refusals(
    app_client: httpx.AsyncClient, body: dict[str, Any], status: int, slug: str
) -> None:
    assert_problem(await app_client.post("/api/v1/join", json=body), status, slug)


@pytest.mark.parametrize("nickname", ["", "   ", "n" * 51, "bell\x07", "x" * 1_000_000])
async def test_join_validates_nickname(app_client: httpx.AsyncClient, nickname: str) -> None:
    room = await create(app_client)
    body = {"secret": room["links"]["speaker"]["secret"], "nickname": nickname}
    assert_problem(await app_client.post("/api/v1/join", json=body), 422, "validation-error")


async def test_recordings_link_does_not_open_the_meeting(app_client: httpx.AsyncClient) -> None:
    room = await create(app_client)
    body = {"secret": room["links"]["recordings"]["secret"], "nickname": "Ada"}
    assert_problem(await app_client.post("/api/v1/join", json=body), 403, "wrong-link-role")


async def test_preview_tells_what_a_link_opens_without_a_token(
    app_client: httpx.AsyncClient,
) -> None:
    room = await create(app_client, name="Standup")
    links = room["links"]
    for role in ("moderator", "speaker", "recordings"):
        seen = await app_client.post("/api/v1/join/preview", json={"secret": links[role]["secret"]})
        assert seen.status_code == 200
        assert seen.json()["role"] == role and seen.json()["room"]["name"] == "Standup"
        assert "token" not in seen.json()
    await app_client.patch(f"/api/v1/rooms/{room['id']}", json={"status": "closed"})
    speaker = {"secret": links["speaker"]["secret"]}
    assert_problem(await app_client.post("/api/v1/join/preview", json=speaker), 403, "room-closed")
    recordings = {"secret": links["recordings"]["secret"]}
    assert (await app_client.post("/api/v1/join/preview", json=recordings)).status_code == 200
    await app_client.post(f"/api/v1/rooms/{room['id']}/links/rotate")
    assert_problem(await app_client.post("/api/v1/join/preview", json=speaker), 410, "link-rotated")
    unknown = {"secret": "nope"}
    assert_problem(await app_client.post("/api/v1/join/preview", json=unknown), 404, "invalid-link")


async def test_closed_room_refuses_then_reopens(app_client: httpx.AsyncClient) -> None:
    room = await create(app_client)
    body = {"secret": room["links"]["speaker"]["secret"], "nickname": "Ada"}
    closed = await app_client.patch(f"/api/v1/rooms/{room['id']}", json={"status": "closed"})
    assert closed.json()["status"] == "closed"
    assert_problem(await app_client.post("/api/v1/join", json=body), 403, "room-closed")
    await app_client.patch(f"/api/v1/rooms/{room['id']}", json={"status": "open"})
    assert (await app_client.post("/api/v1/join", json=body)).status_code == 200


async def test_expired_room_refuses_joins_before_the_sweeper_runs(
    app_client: httpx.AsyncClient, clock: FakeClock
) -> None:
    room = await create(app_client, kind="instant")
    body = {"secret": room["links"]["speaker"]["secret"], "nickname": "Ada"}
    clock.advance(timedelta(minutes=9, seconds=59))
    assert (await app_client.post("/api/v1/join", json=body)).status_code == 200
    clock.advance(timedelta(seconds=1))
    # The sweeper sleeps on the real clock, so it has not deleted the room yet.
    assert (await app_client.get(f"/api/v1/rooms/{room['id']}")).status_code == 200
    assert_problem(await app_client.post("/api/v1/join", json=body), 410, "room-expired")


async def test_secrets_and_keys_never_reach_the_log(
    app_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    room = await create(app_client)
    secret = room["links"]["speaker"]["secret"]
    grant = (
        await app_client.post("/api/v1/join", json={"secret": secret, "nickname": "Ada"})
    ).json()
    await app_client.post(f"/api/v1/rooms/{room['id']}/links/rotate")
    await app_client.post("/api/v1/join", json={"secret": secret, "nickname": "Ada"})
    created = (await app_client.post("/api/v1/api-keys", json={"name": "x"})).json()
    text = caplog.text
    assert caplog.records, "the actions above are logged"
    for leaked in (secret, grant["token"], API_KEY, created["key"]):
        assert leaked not in text


async def test_health_and_readiness(app_client: httpx.AsyncClient, services: Services) -> None:
    bare = httpx.AsyncClient(transport=app_client._transport, base_url="http://test")
    async with bare:
        for path in ("/healthz", "/api/v1/healthz"):
            assert (await bare.get(path)).json() == {"status": "ok"}
        assert (await bare.get("/readyz")).json() == {"status": "ready"}
        services.draining = True
        assert_problem(await bare.get("/api/v1/readyz"), 503)
        services.draining = False


async def test_openapi_and_swagger_ui_are_served(app_client: httpx.AsyncClient) -> None:
    spec = (await app_client.get("/api/v1/openapi.json")).json()
    paths = set(spec["paths"])
    assert {
        "/api/v1/rooms",
        "/api/v1/rooms/{room_id}",
        "/api/v1/rooms/{room_id}/links/rotate",
        "/api/v1/join",
        "/api/v1/api-keys",
        "/api/v1/api-keys/{key_id}",
        "/api/v1/healthz",
        "/api/v1/readyz",
    } <= paths
    assert "APIKeyHeader" in spec["components"]["securitySchemes"]
    docs = await app_client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text


async def test_join_hands_out_ice_servers_with_turn_credentials(
    app_client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    from signaling.ice import IceConfig, turn_credentials

    services.ice = IceConfig(
        urls=["stun:stun.example.com:3478", "turn:turn.example.com:3478"], turn_secret="s3cret"
    )
    room = await create(app_client)
    grant = (
        await app_client.post(
            "/api/v1/join", json={"secret": room["links"]["speaker"]["secret"], "nickname": "Ada"}
        )
    ).json()
    stun, turn = grant["ice_servers"]
    assert stun == {"urls": ["stun:stun.example.com:3478"], "username": None, "credential": None}
    expected_user, expected_password = turn_credentials(
        "s3cret", grant["participant_id"], clock.now() + timedelta(hours=12)
    )
    assert turn == {
        "urls": ["turn:turn.example.com:3478"],
        "username": expected_user,
        "credential": expected_password,
    }
