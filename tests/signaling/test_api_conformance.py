"""The REST API keeps the promises of its own OpenAPI document: what the schema accepts the
server accepts, what the server refuses the schema refuses or documents, and a 405 names
every method of the path. (``tests/meetbox/test_schemathesis.py`` fuzzes all of it; these
pin the cases the fuzzer found.)"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.signaling.test_api_rooms import assert_problem

API = "/api/v1"


async def openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    spec: dict[str, Any] = (await client.get(f"{API}/openapi.json")).json()
    return spec


@pytest.mark.parametrize(
    ("path", "documented_as", "methods"),
    [
        ("/rooms", "/rooms", "DELETE, GET, POST"),
        ("/api-keys", "/api-keys", "GET, POST"),
        ("/rooms/r1", "/rooms/{room_id}", "DELETE, GET, PATCH"),
        ("/themes/t1/logo", "/themes/{theme_id}/logo", "GET, PUT"),
        ("/recordings/x/share", "/recordings/{recording_id}/share", "DELETE, POST"),
    ],
)
async def test_a_405_names_every_method_of_the_path(
    app_client: httpx.AsyncClient, path: str, documented_as: str, methods: str
) -> None:
    response = await app_client.request("OPTIONS", API + path)
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == methods
    documented = (await openapi(app_client))["paths"][API + documented_as]
    assert ", ".join(sorted(m.upper() for m in documented)) == methods


async def test_a_cursor_this_server_did_not_make_is_400_and_documented(
    app_client: httpx.AsyncClient,
) -> None:
    # Right shape (base64url), unknown position: the schema cannot know, so it documents 400.
    refused = await app_client.get(f"{API}/rooms", params={"cursor": "0000"})
    assert_problem(refused, 400, "invalid-cursor")
    # Wrong shape: the schema says so, and the server agrees.
    assert_problem(await app_client.get(f"{API}/rooms", params={"cursor": "a b"}), 422)
    operation = (await openapi(app_client))["paths"][f"{API}/rooms"]["get"]
    cursor = next(p for p in operation["parameters"] if p["name"] == "cursor")
    assert any("pattern" in s for s in cursor["schema"]["anyOf"])
    assert "400" in operation["responses"]


def _webhook_url_pattern(spec: dict[str, Any]) -> str:
    url = spec["components"]["schemas"]["WebhookCreate"]["properties"]["url"]
    pattern: str = url["pattern"]
    return pattern


@pytest.mark.parametrize(
    "url",
    [
        "00000000",
        "http://a",
        "https://hooks.example.com/meetbox?x=1",
        "http://[::1]:9000/h",
        "http://[1:2]/h",
        "http://127.0.0.1:65535/",
        "http://127.0.0.1:65536/",
        "ftp://example.com/h",
        "http://user@example.com/h",
        "http://example.com/h#frag",
        " http://example.com/h",
    ],
)
async def test_the_schema_accepts_exactly_the_webhook_urls_the_server_accepts(
    app_client: httpx.AsyncClient, url: str
) -> None:
    pattern = _webhook_url_pattern(await openapi(app_client))
    response = await app_client.post(f"{API}/webhooks", json={"url": url})
    assert response.status_code in (201, 422), response.text
    assert (response.status_code == 201) == bool(re.search(pattern, url)), url


async def test_fields_that_cannot_be_cleared_are_not_nullable_in_the_schema(
    app_client: httpx.AsyncClient,
) -> None:
    update = (await openapi(app_client))["components"]["schemas"]["RoomUpdate"]["properties"]
    for name in ("name", "status", "delete_after_use"):
        assert "null" not in str(update[name]), name
    room = (await app_client.post(f"{API}/rooms", json={})).json()
    for name in ("name", "status", "delete_after_use"):
        refused = await app_client.patch(f"{API}/rooms/{room['id']}", json={name: None})
        assert_problem(refused, 422, "validation-error")
    assert "null" in str(update["max_participants"])  # this one can be cleared


async def test_auto_delete_at_on_an_instant_room_is_a_409_for_that_room(
    app_client: httpx.AsyncClient,
) -> None:
    room = (await app_client.post(f"{API}/rooms", json={"kind": "instant"})).json()
    refused = await app_client.patch(
        f"{API}/rooms/{room['id']}", json={"auto_delete_at": "2099-01-01T00:00:00Z"}
    )
    assert_problem(refused, 409, "instant-room")
    assert (
        "409"
        in (await openapi(app_client))["paths"][f"{API}/rooms/{{room_id}}"]["patch"]["responses"]
    )


async def test_the_logo_upload_documents_its_body_and_refusal(
    app_client: httpx.AsyncClient,
) -> None:
    operation = (await openapi(app_client))["paths"][f"{API}/themes/{{theme_id}}/logo"]
    body = operation["put"]["requestBody"]
    assert body["required"] is True
    assert set(body["content"]) == {"image/png", "image/jpeg", "image/gif", "image/webp"}
    assert "415" in operation["put"]["responses"]
    assert set(operation["get"]["responses"]["200"]["content"]) == set(body["content"])


async def test_a_room_without_a_meeting_is_409_and_an_unknown_room_404(
    app_client: httpx.AsyncClient,
) -> None:
    # Right after a room is created its meeting does not exist yet: that is the room's state
    # (409), not a lost resource (404 would say the room itself is gone).
    room = (await app_client.post(f"{API}/rooms", json={})).json()
    meeting = f"{API}/rooms/{room['id']}/meeting"
    for method, path in (
        ("GET", meeting),
        ("DELETE", meeting),
        ("DELETE", f"{meeting}/participants/p1"),
        ("POST", f"{meeting}/participants/p1/mute"),
    ):
        assert_problem(await app_client.request(method, path), 409, "no-meeting")
    assert_problem(await app_client.get(f"{API}/rooms/nope/meeting"), 404, "not-found")


@pytest.mark.parametrize("ids", ["\x1e", "a,", "a, b", ",".join(f"r{i}" for i in range(101))])
async def test_bulk_ids_the_schema_refuses_are_refused(
    app_client: httpx.AsyncClient, ids: str
) -> None:
    operation = (await openapi(app_client))["paths"][f"{API}/rooms"]["delete"]
    [param] = [p for p in operation["parameters"] if p["name"] == "ids"]
    assert not re.search(param["schema"]["pattern"], ids)
    assert_problem(await app_client.delete(f"{API}/rooms", params={"ids": ids}), 422)
    assert_problem(await app_client.delete(f"{API}/recordings", params={"ids": ids}), 422)


async def test_allow_follows_the_concrete_path_before_the_templated_one(
    app_client: httpx.AsyncClient,
) -> None:
    # /recordings/download is its own path (GET), not /recordings/{recording_id}.
    response = await app_client.request("OPTIONS", f"{API}/recordings/download")
    assert response.status_code == 405 and response.headers["allow"] == "GET"
