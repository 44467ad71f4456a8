"""Rooms deleted on time by the sweeper, exactly once, with the clock stepped by hand."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from signaling.api.schemas import RoomCreate, RoomUpdate
from signaling.clock import FakeClock
from signaling.errors import RoomClosed, RoomExpired
from signaling.models import RoomKind, RoomStatus
from signaling.rooms.service import RoomService
from signaling.services import Services
from signaling.store import SqliteStore
from tests.conftest import T0


async def test_unused_instant_room_is_swept_after_ten_minutes(
    services: Services, clock: FakeClock
) -> None:
    rooms = services.rooms
    instant = await rooms.create(RoomCreate(kind=RoomKind.INSTANT))
    keeper = await rooms.create(RoomCreate(kind=RoomKind.LONG_TERM))
    clock.advance(timedelta(minutes=9))
    assert await rooms.sweep() == []
    clock.advance(timedelta(minutes=1))
    assert await rooms.sweep() == [instant.id]
    assert await rooms.sweep() == []  # exactly once
    assert await services.store.get_room(instant.id) is None
    assert await services.store.get_room(keeper.id) is not None


async def test_delete_after_use_room_goes_ten_minutes_after_the_last_leaves(
    services: Services, clock: FakeClock
) -> None:
    rooms = services.rooms
    room = await rooms.create(RoomCreate(delete_after_use=True))
    clock.advance(timedelta(days=30))
    assert await rooms.sweep() == []  # never used: kept
    await rooms.participant_joined(room.id)
    clock.advance(timedelta(hours=1))
    assert await rooms.sweep() == []  # in use: kept
    await rooms.room_empty(room.id)
    clock.advance(timedelta(minutes=10))
    assert await rooms.sweep() == [room.id]


async def test_room_expiring_mid_meeting_is_deleted_when_it_empties(
    services: Services, clock: FakeClock
) -> None:
    rooms = services.rooms
    room = await rooms.create(RoomCreate(auto_delete_at=T0 + timedelta(hours=1)))
    await rooms.participant_joined(room.id)
    clock.advance(timedelta(hours=2))
    assert await rooms.sweep() == []
    assert await rooms.room_empty(room.id) is None
    assert await services.store.get_room(room.id) is None
    assert await rooms.sweep() == []


async def test_two_sweepers_racing_delete_each_room_once(
    services: Services, clock: FakeClock, db_path: Path
) -> None:
    created = [await services.rooms.create(RoomCreate(kind=RoomKind.INSTANT)) for _ in range(20)]
    other_store = await SqliteStore.open(db_path)
    try:
        other = RoomService(other_store, clock, public_url="http://x", token_key=b"k")
        clock.advance(timedelta(minutes=11))
        first, second = await asyncio.gather(services.rooms.sweep(), other.sweep())
    finally:
        await other_store.close()
    assert sorted(first + second) == sorted(room.id for room in created)
    assert not set(first) & set(second)


async def test_restart_closes_rooms_left_in_use(services: Services, clock: FakeClock) -> None:
    room = await services.rooms.create(RoomCreate(kind=RoomKind.INSTANT))
    await services.rooms.participant_joined(room.id)
    clock.advance(timedelta(hours=1))
    # A new process finds the room marked in use by one that is gone.
    assert await services.rooms.recover_after_restart() == 1
    stored = await services.store.get_room(room.id)
    assert stored is not None and not stored.in_use
    assert stored.expires_at == clock.now() + timedelta(minutes=10)


async def test_running_sweeper_wakes_on_changes_and_stops_promptly(
    services: Services, clock: FakeClock
) -> None:
    sweeper = services.sweeper
    task = asyncio.create_task(sweeper.run(services.rooms))
    await sweeper.wait_for_pass(0)
    room = await services.rooms.create(RoomCreate(kind=RoomKind.INSTANT))
    clock.advance(timedelta(minutes=10))
    passes = sweeper.passes
    sweeper.poke()
    await sweeper.wait_for_pass(passes)
    assert await services.store.get_room(room.id) is None
    # Regression: a poke racing with cancellation must not keep the task alive.
    sweeper.poke()
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=5)
    assert done == {task}


async def test_room_closed_or_expired_mid_meeting_admits_nobody_new(
    services: Services, clock: FakeClock
) -> None:
    rooms = services.rooms
    room = await rooms.create(RoomCreate(auto_delete_at=T0 + timedelta(hours=1)))
    await rooms.participant_joined(room.id)
    clock.advance(timedelta(hours=1))
    with pytest.raises(RoomExpired):
        await rooms.participant_joined(room.id)
    other = await rooms.create(RoomCreate())
    await rooms.participant_joined(other.id)
    await rooms.update(other.id, RoomUpdate(status=RoomStatus.CLOSED))
    with pytest.raises(RoomClosed):
        await rooms.participant_joined(other.id)
    stored = await services.store.get_room(other.id)
    assert stored is not None and stored.in_use  # those inside stay


async def test_room_empty_after_a_forced_delete_is_harmless(services: Services) -> None:
    room = await services.rooms.create(RoomCreate())
    await services.rooms.participant_joined(room.id)
    await services.store.delete_room(room.id)
    assert await services.rooms.room_empty(room.id) is None
