"""Webhooks end to end: a real meetbox server (in process, real SQLite) delivering to a real
HTTP receiver on loopback, with the clock stepped by hand for retries."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from signaling.clock import FakeClock
from signaling.models import DeliveryRecord, DeliveryStatus
from signaling.webhooks.events import EMITTED, event
from signaling.webhooks.service import after_attempt, retry_delay
from signaling.webhooks.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InvalidSignature,
    Verifier,
    sign,
    verify,
)
from tests.conftest import T0, Receiver, Server, serve_receiver
from tests.signaling.test_ws import joined

API = "/api/v1"


async def register(server: Server, receiver: Receiver, **spec: Any) -> dict[str, Any]:
    response = await server.http.post(f"{API}/webhooks", json={"url": receiver.url, **spec})
    assert response.status_code == 201, response.text
    hook: dict[str, Any] = response.json()
    return hook


async def deliveries(server: Server, hook: dict[str, Any]) -> list[dict[str, Any]]:
    response = await server.http.get(f"{API}/webhooks/{hook['id']}/deliveries?limit=100")
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def check_signed(receiver: Receiver, secret: str, clock: FakeClock) -> None:
    for headers, body in receiver.requests:
        verify(secret, body, headers, now=clock.now().timestamp())
        assert headers["x-meetbox-event-id"] == json.loads(body)["id"]


async def test_every_event_type_arrives_signed_in_order_with_the_rest_representation(
    server: Server, receiver: Receiver, clock: FakeClock
) -> None:
    hook = await register(server, receiver)
    room = (await server.http.post(f"{API}/rooms", json={"name": "Hooks"})).json()
    record = await server.services.rooms.get(room["id"])
    client, hello = await joined(server, record, nickname="Ada")
    assert (await server.http.delete(f"{API}/rooms/{room['id']}/meeting")).status_code == 204
    await client.closed()
    assert (await server.http.delete(f"{API}/rooms/{room['id']}")).status_code == 204
    await receiver.wait_for(6)
    check_signed(receiver, hook["secret"], clock)

    # An expiring room, swept once its time has come.
    later = T0 + timedelta(hours=1)
    spec = {"name": "Brief", "auto_delete_at": later.isoformat()}
    brief = (await server.http.post(f"{API}/rooms", json=spec)).json()
    await receiver.wait_for(7)
    clock.set(later + timedelta(seconds=1))
    assert await server.services.rooms.sweep() == [brief["id"]]
    await receiver.wait_for(8)
    verify(
        hook["secret"],
        receiver.requests[-1][1],
        receiver.requests[-1][0],
        now=clock.now().timestamp(),
    )

    events = receiver.events()
    assert {e["type"] for e in events} == set(EMITTED)
    first = [e for e in events if e["data"].get("room_id", e["data"].get("id")) == room["id"]]
    assert [e["type"] for e in first] == [
        "room.created",
        "meeting.started",
        "participant.joined",
        "participant.left",
        "meeting.ended",
        "room.deleted",
    ]
    by_type = {e["type"]: e for e in first} | {"room.expired": events[-1]}
    assert by_type["room.created"]["data"] == room  # what POST /rooms answered
    assert by_type["room.expired"]["data"]["id"] == brief["id"]
    me = hello["you"]["id"]
    assert by_type["participant.joined"]["data"] | {"left_at": None} == {
        "meeting_id": by_type["meeting.started"]["data"]["id"],
        "room_id": room["id"],
        "participant_id": me,
        "nickname": "Ada",
        "role": "speaker",
        "joined_at": by_type["participant.joined"]["data"]["joined_at"],
        "left_at": None,
        "leave_reason": None,
    }
    assert by_type["participant.left"]["data"]["leave_reason"] == "ended_by_api"
    ended = by_type["meeting.ended"]["data"]
    assert ended["end_reason"] == "ended_by_api" and ended["ended_at"] is not None
    assert [p["participant_id"] for p in ended["participants"]] == [me]
    history = (await server.http.get(f"{API}/rooms/{brief['id']}/meetings")).status_code
    assert history == 404  # swept

    log = await deliveries(server, hook)
    assert len(log) == 8 and all(d["status"] == "delivered" and d["attempts"] == 1 for d in log)
    assert len({e["id"] for e in events}) == 8


async def test_an_endpoint_answering_500_gets_the_same_event_again_then_in_order(
    server: Server, receiver: Receiver, clock: FakeClock
) -> None:
    receiver.statuses = [500, 500, 500]
    hooks = server.services.webhooks
    hook = await register(server, receiver)
    room = (await server.http.post(f"{API}/rooms", json={"name": "Flaky"})).json()
    record = await server.services.rooms.get(room["id"])
    async with asyncio.timeout(10):
        await hooks.wait_attempts(1)
        # The room's later events wait behind the one that failed.
        client, _ = await joined(server, record)
        for attempt in (2, 3, 4):
            clock.advance(timedelta(hours=1))
            hooks.wake()
            await hooks.wait_attempts(attempt)
        await receiver.wait_for(6)
    await client.ws.close()
    events = receiver.events()
    assert [e["type"] for e in events] == [
        "room.created",
        "room.created",
        "room.created",
        "room.created",
        "meeting.started",
        "participant.joined",
    ]
    assert len({e["id"] for e in events[:4]}) == 1  # the same event: receivers dedupe on id
    stamps = [int(h[TIMESTAMP_HEADER.lower()]) for h, _ in receiver.requests[:4]]
    assert stamps == sorted(stamps) and len(set(stamps)) == 4  # signed afresh each time
    log = {d["event_type"]: d for d in await deliveries(server, hook)}
    first = log["room.created"]
    assert first["status"] == "delivered" and first["attempts"] == 4
    assert first["last_status_code"] == 200 and first["last_error"] is None


async def test_a_slow_receiver_slows_neither_a_join_nor_the_api(
    server: Server, receiver: Receiver
) -> None:
    receiver.gate = asyncio.Event()  # holds every answer
    server.services.webhooks.timeout = 0.5
    hook = await register(server, receiver)
    room = (await server.http.post(f"{API}/rooms", json={"name": "Slow"})).json()
    await receiver.wait_for(1)
    record = await server.services.rooms.get(room["id"])
    client, hello = await joined(server, record)  # while the receiver sits on room.created
    assert hello["type"] == "joined"
    other = await server.http.post(f"{API}/rooms", json={"name": "Other"})
    assert other.status_code == 201
    async with asyncio.timeout(10):
        await server.services.webhooks.wait_attempts(1)
    await client.ws.close()
    assert not receiver.gate.is_set()
    log = {d["event_type"]: d for d in await deliveries(server, hook) if d["attempts"]}
    assert log["room.created"]["status"] == "pending"
    assert log["room.created"]["last_error"] == "no answer within 0.5 s"
    assert log["room.created"]["next_attempt_at"] is not None


async def test_test_send_reports_what_the_endpoint_answered(
    server: Server, receiver: Receiver, clock: FakeClock
) -> None:
    hook = await register(server, receiver, events=["room.deleted"], enabled=False)
    ok = await server.http.post(f"{API}/webhooks/{hook['id']}/test")
    assert ok.status_code == 200 and ok.json()["status"] == "delivered"
    assert ok.json()["last_status_code"] == 200
    receiver.statuses = [503]
    bad = (await server.http.post(f"{API}/webhooks/{hook['id']}/test")).json()
    assert bad["status"] == "failed" and bad["last_status_code"] == 503
    assert bad["last_error"] == "HTTP 503" and bad["next_attempt_at"] is None
    assert [e["type"] for e in receiver.events()] == ["webhook.test", "webhook.test"]
    check_signed(receiver, hook["secret"], clock)


async def test_endpoint_crud_secret_shown_once_rotation_and_filters(
    server: Server, receiver: Receiver, clock: FakeClock
) -> None:
    hook = await register(server, receiver, events=["room.deleted"], description="ops")
    assert hook["secret"].startswith("whsec_") and hook["events"] == ["room.deleted"]
    shown = (await server.http.get(f"{API}/webhooks/{hook['id']}")).json()
    listed = (await server.http.get(f"{API}/webhooks")).json()["items"]
    assert "secret" not in shown and all("secret" not in h for h in listed)
    assert shown["description"] == "ops"

    rotated = (await server.http.post(f"{API}/webhooks/{hook['id']}/rotate-secret")).json()
    assert rotated["secret"] != hook["secret"]
    room = (await server.http.post(f"{API}/rooms", json={"name": "Filtered"})).json()
    await server.http.delete(f"{API}/rooms/{room['id']}")
    await receiver.wait_for(1)
    assert [e["type"] for e in receiver.events()] == ["room.deleted"]  # room.created filtered
    check_signed(receiver, rotated["secret"], clock)
    with pytest.raises(InvalidSignature):
        check_signed(receiver, hook["secret"], clock)

    patched = await server.http.patch(
        f"{API}/webhooks/{hook['id']}", json={"events": [], "description": None}
    )
    assert patched.status_code == 200
    assert patched.json()["events"] == [] and patched.json()["description"] is None
    assert (await server.http.delete(f"{API}/webhooks/{hook['id']}")).status_code == 204
    gone = await server.http.get(f"{API}/webhooks/{hook['id']}/deliveries")
    assert gone.status_code == 404
    assert gone.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://example.com/hook"},
        {"url": "/relative"},
        {"url": "http://example.com/#frag"},
        {"url": "https://example.com/h", "events": ["room.exploded"]},
        {"url": "https://example.com/h", "enabled": "yes"},
        {"url": "https://example.com/h", "secret": "mine"},
    ],
)
async def test_bad_endpoints_are_refused_with_a_clear_error(
    server: Server, body: dict[str, Any]
) -> None:
    response = await server.http.post(f"{API}/webhooks", json=body)
    assert response.status_code == 422
    assert response.json()["detail"]
    assert (await server.http.get(f"{API}/webhooks")).json()["items"] == []


async def test_allowed_hosts_keep_endpoints_on_named_hosts(server: Server) -> None:
    server.services.webhooks.allowed_hosts = ("127.0.0.1",)
    refused = await server.http.post(f"{API}/webhooks", json={"url": "https://example.com/h"})
    # A server policy, not a malformed request: 403.
    assert refused.status_code == 403 and "--webhook-hosts" in refused.json()["detail"]
    ok = await server.http.post(f"{API}/webhooks", json={"url": "http://127.0.0.1:9/h"})
    assert ok.status_code == 201


async def test_disabled_endpoint_keeps_its_events_until_enabled_and_redelivery(
    server: Server, receiver: Receiver
) -> None:
    hook = await register(server, receiver, enabled=False)
    await server.http.post(f"{API}/rooms", json={"name": "Later"})
    [pending] = await deliveries(server, hook)
    assert pending["status"] == "pending" and pending["attempts"] == 0
    await server.http.patch(f"{API}/webhooks/{hook['id']}", json={"enabled": True})
    await receiver.wait_for(1)
    again = await server.http.post(
        f"{API}/webhooks/{hook['id']}/deliveries/{pending['id']}/redeliver"
    )
    assert again.status_code == 202
    await receiver.wait_for(2)
    first, second = receiver.events()
    assert first == second  # the same event, id included


async def test_an_event_is_written_exactly_when_its_change_is(
    server: Server, receiver: Receiver
) -> None:
    """The outbox shares the change's transaction: an event that cannot be written undoes
    the change, and a change that does not happen writes no event."""
    await register(server, receiver, enabled=False)
    store = server.services.store
    rooms = server.services.rooms
    created = (await server.http.post(f"{API}/rooms", json={"name": "Atomic"})).json()
    record = await rooms.get(created["id"])
    clash = event("room.deleted", record.id, {}, T0)
    await store.enqueue([clash])
    twin = event("room.deleted", record.id, {}, T0)
    duplicate = type(twin)(clash.id, twin.type, twin.room_id, twin.created_at, twin.body)
    with pytest.raises(Exception, match="UNIQUE"):
        await store.delete_room(record.id, record.version, [duplicate])
    assert await store.get_room(record.id) is not None  # the delete was undone with it
    # A delete that finds nothing (stale version) writes no event either.
    assert not await store.delete_room(record.id, record.version + 5, [event("x", None, {}, T0)])


def test_retry_delay_doubles_with_jitter_and_is_capped() -> None:
    base = timedelta(seconds=1)
    assert retry_delay(1, base, 1.0) == timedelta(seconds=1)
    assert retry_delay(1, base, 0.0) == timedelta(seconds=0.5)
    assert retry_delay(4, base, 1.0) == timedelta(seconds=8)
    assert retry_delay(40, base, 1.0) == timedelta(hours=1)


def test_a_delivery_is_retried_for_a_day_then_fails() -> None:
    delivery = DeliveryRecord(
        id="dlv_1",
        webhook_id="wh_1",
        event_id="evt_1",
        event_type="room.created",
        status=DeliveryStatus.PENDING,
        attempts=0,
        created_at=T0,
        next_attempt_at=T0,
        give_up_at=T0 + timedelta(hours=24),
    )
    base = timedelta(seconds=1)
    attempts = 0
    now = T0
    while delivery.status is DeliveryStatus.PENDING:
        delivery = after_attempt(
            delivery, now, status_code=500, error="HTTP 500", base=base, jitter=0.5
        )
        attempts += 1
        if delivery.next_attempt_at is not None:
            assert delivery.next_attempt_at > now
            now = delivery.next_attempt_at
    assert delivery.status is DeliveryStatus.FAILED and delivery.attempts == attempts
    assert delivery.last_attempt_at is not None
    assert delivery.last_attempt_at >= T0 + timedelta(hours=24)  # kept trying a whole day
    assert 20 < attempts < 60
    done = after_attempt(delivery, now, status_code=204, error=None, base=base, jitter=0.5)
    assert done.status is DeliveryStatus.DELIVERED and done.delivered_at == now


def test_the_verifier_rejects_tampering_staleness_and_replay() -> None:
    secret, body, now = "whsec_test", b'{"id":"evt_1","type":"room.created"}', 1_800_000_000
    headers = {TIMESTAMP_HEADER: str(now), SIGNATURE_HEADER: sign(secret, now, body)}
    verifier = Verifier(secret)
    assert verifier.verify(body, headers, now=now + 10)["id"] == "evt_1"
    with pytest.raises(InvalidSignature, match="already received"):
        verifier.verify(body, headers, now=now + 20)  # replayed
    with pytest.raises(InvalidSignature, match="does not match"):
        verify(secret, body.replace(b"created", b"deleted"), headers, now=now)
    with pytest.raises(InvalidSignature, match="does not match"):
        verify("whsec_other", body, headers, now=now)
    with pytest.raises(InvalidSignature, match="stale or replayed"):
        verify(secret, body, headers, now=now + 301)
    with pytest.raises(InvalidSignature, match="missing"):
        verify(secret, body, {TIMESTAMP_HEADER: str(now)}, now=now)
    lower = {k.lower(): v for k, v in headers.items()}
    assert verify(secret, body, lower, now=now)["type"] == "room.created"


async def test_the_log_keeps_pending_deliveries_and_forgets_old_finished_ones(
    server: Server, receiver: Receiver, clock: FakeClock
) -> None:
    store = server.services.store
    # No endpoint: events are not kept at all.
    await server.http.post(f"{API}/rooms", json={"name": "Unheard"})
    hook = await register(server, receiver, events=["room.created"])
    await server.http.post(f"{API}/rooms", json={"name": "Heard"})
    await receiver.wait_for(1)
    await server.http.patch(f"{API}/webhooks/{hook['id']}", json={"enabled": False})
    await server.http.post(f"{API}/rooms", json={"name": "Waiting"})
    async with asyncio.timeout(10):
        await server.services.webhooks.wait_attempts(1)
    assert sorted(d["status"] for d in await deliveries(server, hook)) == ["delivered", "pending"]
    assert await store.prune_deliveries(clock.now() + timedelta(days=8)) == 1
    assert [d["status"] for d in await deliveries(server, hook)] == ["pending"]


def write_docs_example(folder: Path, secret: str, port: int) -> Path:
    """The receiver example from docs/webhooks.md, with a real secret and port."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
    example = text.split("```python\n", 1)[1].split("```", 1)[0]
    script = folder / "receiver.py"
    script.write_text(example.replace('"whsec_..."', repr(secret)).replace("9000", str(port)))
    return script


async def test_the_receiver_example_in_the_docs_works(
    server: Server, clock: FakeClock, tmp_path: Path
) -> None:
    clock.set(datetime.now(UTC))  # the example checks timestamps against the real time
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hook"
    hook = (await server.http.post(f"{API}/webhooks", json={"url": url})).json()
    script = write_docs_example(tmp_path, hook["secret"], port)
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(script), stdout=asyncio.subprocess.PIPE
    )
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(100):
                try:
                    await http.post(url, content=b"{}")  # unsigned: refused
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)  # the example is starting
            unsigned = await http.post(url, content=b"{}")
            assert unsigned.status_code == 400 and b"missing" in unsigned.content
        result = (await server.http.post(f"{API}/webhooks/{hook['id']}/test")).json()
        assert result["status"] == "delivered" and result["last_status_code"] == 204
    finally:
        process.kill()
        out, _ = await process.communicate()
    assert b"webhook.test" in out


async def test_a_hanging_endpoint_holds_half_the_slots_and_the_other_gets_everything(
    server: Server, receiver: Receiver
) -> None:
    hooks = server.services.webhooks
    hooks.timeout = 30  # the hanging endpoint never answers within the test
    receiver.gate = asyncio.Event()
    async with serve_receiver() as healthy:
        await register(server, receiver)
        await register(server, healthy, events=["room.created"])
        for n in range(6):
            await server.http.post(f"{API}/rooms", json={"name": f"Room {n}"})
        await healthy.wait_for(6)
        await receiver.wait_for(4)
        assert len(receiver.requests) == 4  # 8 slots, at most half for one endpoint
        assert {e["type"] for e in healthy.events()} == {"room.created"}


async def test_secrets_and_endpoint_urls_never_reach_the_log(
    server: Server, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hook = await register(server, receiver)
    rotated = (await server.http.post(f"{API}/webhooks/{hook['id']}/rotate-secret")).json()
    sent = (await server.http.post(f"{API}/webhooks/{hook['id']}/test")).json()
    assert sent["status"] == "delivered"
    # The receiver's own access log (a different server) is not ours to judge.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "uvicorn.access")
    assert hook["id"] in ours  # what happened is logged
    for leaked in (hook["secret"], rotated["secret"], "token=abc", receiver.url):
        assert leaked not in ours
