"""The rooms REST surface on the real ASGI app and a real SQLite file."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from signaling.clock import FakeClock
from signaling.services import Services
from tests.conftest import T0

PROBLEM = "application/problem+json"


async def create(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/rooms", json=body)
    assert response.status_code == 201, response.text
    room: dict[str, Any] = response.json()
    return room


def assert_problem(response: httpx.Response, status: int, slug: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in response.text
    if slug is not None:
        assert body["type"] == f"urn:meetbox:problem:{slug}"


async def test_create_returns_room_with_three_role_links(app_client: httpx.AsyncClient) -> None:
    response = await app_client.post("/api/v1/rooms", json={"name": "Weekly sync"})
    assert response.status_code == 201
    room = response.json()
    assert response.headers["location"] == f"/api/v1/rooms/{room['id']}"
    assert room["id"].startswith("weekly-sync-")
    assert room["kind"] == "long_term" and room["status"] == "open"
    assert room["config"] == {
        "chat": {"enabled": True},
        "screen_share": {"enabled": True},
        "recording": {
            "enabled": True,
            "auto_start": False,
            "layout": "grid",
            "access": "moderator",
        },
    }
    secrets = set()
    for role in ("moderator", "speaker", "recordings"):
        link = room["links"][role]
        assert len(link["secret"]) >= 22  # at least 128 bits, URL-safe
        assert link["url"].startswith("https://meet.example.test/")
        assert link["url"].endswith(f"#secret={link['secret']}")  # fragment: never sent to servers
        secrets.add(link["secret"])
    assert len(secrets) == 3
    assert room["created_at"] == room["updated_at"] == "2026-03-01T09:00:00Z"


async def test_create_with_every_field(app_client: httpx.AsyncClient) -> None:
    theme = (await app_client.post("/api/v1/themes", json={"name": "Dark blue"})).json()
    body = {
        "name": "Board",
        "kind": "long_term",
        "auto_delete_at": "2026-03-08T09:00:00+02:00",
        "delete_after_use": True,
        "max_participants": 12,
        "session_length_minutes": 90,
        "theme_id": theme["id"],
        "metadata": {"crm": {"deal": 42}},
        "config": {"chat": {"enabled": False}, "recording": {"layout": "speaker"}},
    }
    room = await create(app_client, **body)
    assert room["auto_delete_at"] == "2026-03-08T07:00:00Z"
    assert room["expires_at"] == "2026-03-08T07:00:00Z"
    assert room["config"]["chat"] == {"enabled": False}
    assert room["config"]["recording"]["layout"] == "speaker"
    assert room["config"]["screen_share"] == {"enabled": True}
    fetched = (await app_client.get(f"/api/v1/rooms/{room['id']}")).json()
    assert fetched == room


async def test_unknown_room_is_404_problem(app_client: httpx.AsyncClient) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        response = await app_client.request(method, "/api/v1/rooms/nope", json={})
        assert_problem(response, 404, "not-found")
    assert_problem(await app_client.post("/api/v1/rooms/nope/links/rotate"), 404)
    assert_problem(await app_client.get("/api/v1/no-such-route"), 404)


async def test_list_is_paginated_newest_first(
    app_client: httpx.AsyncClient, clock: FakeClock
) -> None:
    ids = []
    for i in range(5):
        ids.append((await create(app_client, name=f"room {i}"))["id"])
        clock.advance(timedelta(seconds=1))
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await app_client.get("/api/v1/rooms", params=params)).json()
        seen += [room["id"] for room in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


async def test_list_filters(app_client: httpx.AsyncClient, services: Services) -> None:
    a = await create(app_client, name="Alpha standup")
    b = await create(app_client, name="Beta", kind="instant")
    c = await create(app_client, name="Gamma standup")
    await app_client.patch(f"/api/v1/rooms/{c['id']}", json={"status": "closed"})
    await services.rooms.participant_joined(a["id"])

    async def names(**params: str) -> set[str]:
        page = (await app_client.get("/api/v1/rooms", params=params)).json()
        return {room["name"] for room in page["items"]}

    assert await names(name="STANDUP") == {"Alpha standup", "Gamma standup"}
    assert await names(kind="instant") == {"Beta"}
    assert await names(status="closed") == {"Gamma standup"}
    assert await names(status="active_meeting") == {"Alpha standup"}
    assert await names(status="open") == {"Beta"}
    assert b["kind"] == "instant"


@pytest.mark.parametrize(
    "params", [{"cursor": "garbage!"}, {"limit": "0"}, {"limit": "101"}, {"status": "gone"}]
)
async def test_list_rejects_bad_parameters(
    app_client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    assert_problem(await app_client.get("/api/v1/rooms", params=params), 422, "validation-error")


async def test_patch_changes_only_what_is_given(
    app_client: httpx.AsyncClient, clock: FakeClock
) -> None:
    room = await create(
        app_client,
        name="Old",
        metadata={"a": 1},
        max_participants=5,
        config={"recording": {"layout": "speaker"}},
    )
    clock.advance(timedelta(minutes=1))
    response = await app_client.patch(
        f"/api/v1/rooms/{room['id']}",
        json={"name": "New", "metadata": None, "config": {"chat": {"enabled": False}}},
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["name"] == "New" and patched["metadata"] is None
    assert patched["max_participants"] == 5
    assert patched["config"]["chat"] == {"enabled": False}
    assert patched["config"]["recording"]["layout"] == "speaker"  # untouched section stays
    assert patched["updated_at"] == "2026-03-01T09:01:00Z"
    assert patched["links"] == room["links"]


async def test_patch_refuses_kind_change_and_nulling_required_fields(
    app_client: httpx.AsyncClient,
) -> None:
    room = await create(app_client)
    url = f"/api/v1/rooms/{room['id']}"
    assert_problem(await app_client.patch(url, json={"kind": "instant"}), 422)
    assert_problem(await app_client.patch(url, json={"name": None}), 422)
    assert_problem(await app_client.patch(url, json={"status": "active_meeting"}), 422)
    assert (await app_client.get(url)).json() == room  # nothing changed


LONG = "x" * 101
BAD_BODIES = [
    {"name": LONG},
    {"name": "   "},
    {"name": "tab\tname"},
    {"kind": "forever"},
    {"auto_delete_at": "2026-03-01T08:00:00Z"},  # in the past
    {"auto_delete_at": "2026-03-01T09:30:00Z"},  # under an hour ahead
    {"auto_delete_at": "2031-03-03T09:00:00Z"},  # over five years ahead
    {"auto_delete_at": "2026-04-01T09:00:00"},  # no timezone
    {"kind": "instant", "auto_delete_at": "2026-04-01T09:00:00Z"},
    {"metadata": {"blob": "y" * 4100}},
    {"metadata": ["not", "an", "object"]},
    {"max_participants": 0},
    {"max_participants": "ten"},
    {"session_length_minutes": 24 * 60 + 1},
    {"theme_id": "../../etc"},
    {"config": {"chat": {"enabled": True, "colour": "red"}}},
    {"config": {"whiteboard": {"enabled": True}}},
    {"config": {"chat": {"enabled": "yes"}}},
    {"config": {"recording": {"layout": "mosaic"}}},
    {"unknown_field": 1},
]


@pytest.mark.parametrize("body", BAD_BODIES)
async def test_invalid_room_fields_are_422_and_create_nothing(
    app_client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await app_client.post("/api/v1/rooms", json=body)
    assert_problem(response, 422, "validation-error")
    assert response.json()["errors"], "the problem lists the failing fields"
    assert (await app_client.get("/api/v1/rooms")).json()["items"] == []


async def test_metadata_limit_is_4_kib_exactly(app_client: httpx.AsyncClient) -> None:
    overhead = len('{"k":""}')
    ok = {"k": "z" * (4096 - overhead)}
    assert (await app_client.post("/api/v1/rooms", json={"metadata": ok})).status_code == 201
    too_big = {"k": "z" * (4097 - overhead)}
    assert_problem(await app_client.post("/api/v1/rooms", json={"metadata": too_big}), 422)


async def test_malformed_json_is_400_as_documented(app_client: httpx.AsyncClient) -> None:
    response = await app_client.post(
        "/api/v1/rooms", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "invalid-json")


async def test_body_over_one_mib_is_413(app_client: httpx.AsyncClient) -> None:
    big = b'{"name": "' + b"a" * (1024 * 1024) + b'"}'
    response = await app_client.post(
        "/api/v1/rooms", content=big, headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "payload-too-large")

    async def chunks() -> Any:  # no Content-Length: counted as it streams
        for _ in range(20):
            yield b"a" * 65536

    response = await app_client.post(
        "/api/v1/rooms", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "payload-too-large")
    assert (await app_client.get("/api/v1/rooms")).json()["items"] == []


async def test_delete_then_gone(app_client: httpx.AsyncClient) -> None:
    room = await create(app_client)
    assert (await app_client.delete(f"/api/v1/rooms/{room['id']}")).status_code == 204
    assert_problem(await app_client.get(f"/api/v1/rooms/{room['id']}"), 404)
    join = await app_client.post(
        "/api/v1/join", json={"secret": room["links"]["speaker"]["secret"], "nickname": "Ada"}
    )
    assert_problem(join, 404, "invalid-link")


async def test_delete_policies_with_a_meeting_in_progress(
    app_client: httpx.AsyncClient, services: Services
) -> None:
    room = await create(app_client)
    url = f"/api/v1/rooms/{room['id']}"
    await services.rooms.participant_joined(room["id"])

    assert_problem(await app_client.delete(url), 409, "meeting-in-progress")
    assert (await app_client.get(url)).status_code == 200

    response = await app_client.delete(url, params={"with_meeting": "when_meeting_ends"})
    assert response.status_code == 202 and response.json()["status"] == "scheduled"
    # Scheduled for deletion: no new joins, but the room is there until the meeting ends.
    join = await app_client.post(
        "/api/v1/join", json={"secret": room["links"]["speaker"]["secret"], "nickname": "Late"}
    )
    assert_problem(join, 410, "room-expired")
    assert (await app_client.get(url)).status_code == 200
    assert await services.rooms.room_empty(room["id"]) is None
    assert_problem(await app_client.get(url), 404)

    forced = await create(app_client)
    await services.rooms.participant_joined(forced["id"])
    response = await app_client.delete(
        f"/api/v1/rooms/{forced['id']}", params={"with_meeting": "force"}
    )
    assert response.status_code == 204


async def test_bulk_delete_reports_each_room(
    app_client: httpx.AsyncClient, services: Services
) -> None:
    a, b, busy = [await create(app_client, name=n) for n in ("a", "b", "busy")]
    await services.rooms.participant_joined(busy["id"])
    response = await app_client.delete(
        "/api/v1/rooms", params={"ids": f"{a['id']},{b['id']},missing,{busy['id']},{a['id']}"}
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["deleted"] == [a["id"], b["id"]]
    assert result["scheduled"] == []
    assert {(f["id"], f["status"]) for f in result["failed"]} == {
        ("missing", 404),
        (busy["id"], 409),
    }
    remaining = (await app_client.get("/api/v1/rooms")).json()["items"]
    assert [room["id"] for room in remaining] == [busy["id"]]


@pytest.mark.parametrize("ids", ["", ",,,", ",".join(f"r{i}" for i in range(101))])
async def test_bulk_delete_needs_1_to_100_ids(app_client: httpx.AsyncClient, ids: str) -> None:
    assert_problem(await app_client.delete("/api/v1/rooms", params={"ids": ids}), 422)


async def test_rotating_links_retires_old_secrets(app_client: httpx.AsyncClient) -> None:
    room = await create(app_client)
    old = room["links"]
    response = await app_client.post(
        f"/api/v1/rooms/{room['id']}/links/rotate", json={"roles": ["speaker"]}
    )
    assert response.status_code == 200
    new = response.json()["links"]
    assert new["speaker"]["secret"] != old["speaker"]["secret"]
    assert new["moderator"] == old["moderator"] and new["recordings"] == old["recordings"]

    async def join(secret: str) -> httpx.Response:
        return await app_client.post("/api/v1/join", json={"secret": secret, "nickname": "Bo"})

    assert_problem(await join(old["speaker"]["secret"]), 410, "link-rotated")
    assert (await join(new["speaker"]["secret"])).status_code == 200
    assert (await join(old["moderator"]["secret"])).status_code == 200

    everything = (await app_client.post(f"/api/v1/rooms/{room['id']}/links/rotate")).json()
    assert all(everything["links"][r] != new[r] for r in new)
    assert_problem(await join(old["moderator"]["secret"]), 410, "link-rotated")
    assert_problem(await join(new["speaker"]["secret"]), 410, "link-rotated")


async def test_expiry_is_visible_and_moves_with_use(
    app_client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    room = await create(app_client, kind="instant")
    assert room["expires_at"] == "2026-03-01T09:10:00Z"
    await services.rooms.participant_joined(room["id"])
    busy = (await app_client.get(f"/api/v1/rooms/{room['id']}")).json()
    assert busy["status"] == "active_meeting" and busy["expires_at"] is None
    clock.set(T0 + timedelta(hours=2))
    await services.rooms.room_empty(room["id"])
    after = (await app_client.get(f"/api/v1/rooms/{room['id']}")).json()
    assert after["status"] == "open" and after["expires_at"] == "2026-03-01T11:10:00Z"
