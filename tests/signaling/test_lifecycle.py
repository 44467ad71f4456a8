"""The lifecycle rules, pure: no store, no loop, time stepped by hand."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from signaling.models import RoomKind, RoomRecord
from signaling.rooms import lifecycle
from signaling.rooms.lifecycle import JoinRefusal

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def room(kind: RoomKind = RoomKind.LONG_TERM, **fields: object) -> RoomRecord:
    r = RoomRecord(id="r", name="r", kind=kind, created_at=T0, updated_at=T0)
    for name, value in fields.items():
        setattr(r, name, value)
    return lifecycle.with_expiry(r)


def test_unused_instant_room_expires_ten_minutes_after_creation() -> None:
    r = room(RoomKind.INSTANT)
    assert r.expires_at == T0 + 10 * MIN
    assert lifecycle.join_refusal(r, T0 + 9 * MIN) is None
    assert lifecycle.join_refusal(r, T0 + 10 * MIN) is JoinRefusal.EXPIRED
    assert not lifecycle.is_deletable(r, T0 + 9 * MIN)
    assert lifecycle.is_deletable(r, T0 + 10 * MIN)


def test_instant_room_lives_while_occupied_and_ten_minutes_after() -> None:
    r = lifecycle.on_participant_joined(room(RoomKind.INSTANT), T0 + 5 * MIN)
    assert r.expires_at is None
    assert lifecycle.join_refusal(r, T0 + 60 * MIN) is None
    assert not lifecycle.is_deletable(r, T0 + 60 * MIN)
    r = lifecycle.on_room_empty(r, T0 + 60 * MIN)
    assert r.expires_at == T0 + 70 * MIN
    # Somebody comes back in time: the clock is reset by the next emptying.
    r = lifecycle.on_participant_joined(r, T0 + 65 * MIN)
    r = lifecycle.on_room_empty(r, T0 + 80 * MIN)
    assert r.expires_at == T0 + 90 * MIN


def test_long_term_room_without_options_never_expires() -> None:
    r = lifecycle.on_room_empty(lifecycle.on_participant_joined(room(), T0), T0 + MIN)
    assert r.expires_at is None
    assert lifecycle.join_refusal(r, T0 + timedelta(days=3650)) is None


def test_long_term_delete_after_use_only_counts_once_used() -> None:
    r = room(delete_after_use=True)
    assert r.expires_at is None  # never used: stays
    r = lifecycle.on_participant_joined(r, T0)
    r = lifecycle.on_room_empty(r, T0 + 30 * MIN)
    assert r.expires_at == T0 + 40 * MIN


def test_auto_delete_at_refuses_joins_but_waits_for_the_meeting_to_end() -> None:
    r = lifecycle.on_participant_joined(room(auto_delete_at=T0 + 60 * MIN), T0 + 50 * MIN)
    assert lifecycle.join_refusal(r, T0 + 61 * MIN) is JoinRefusal.EXPIRED
    assert not lifecycle.is_deletable(r, T0 + 61 * MIN)  # people still inside
    r = lifecycle.on_room_empty(r, T0 + 70 * MIN)
    assert lifecycle.is_deletable(r, T0 + 70 * MIN)


def test_earliest_rule_wins() -> None:
    r = room(auto_delete_at=T0 + 5 * MIN, delete_after_use=True)
    r = lifecycle.on_room_empty(lifecycle.on_participant_joined(r, T0), T0 + MIN)
    assert r.expires_at == T0 + 5 * MIN


def test_delete_requested_expires_at_once() -> None:
    r = lifecycle.on_participant_joined(room(), T0)
    r = lifecycle.with_expiry(dataclasses.replace(r, delete_requested_at=T0 + MIN))
    assert lifecycle.join_refusal(r, T0 + MIN) is JoinRefusal.EXPIRED
    assert lifecycle.is_deletable(lifecycle.on_room_empty(r, T0 + 2 * MIN), T0 + 2 * MIN)


def test_closed_room_refuses_joins_but_is_not_deleted() -> None:
    r = room(closed=True)
    assert lifecycle.join_refusal(r, T0) is JoinRefusal.CLOSED
    assert r.expires_at is None


def test_clock_jumping_back_does_not_resurrect_or_double_delete() -> None:
    r = room(RoomKind.INSTANT)
    assert lifecycle.is_deletable(r, T0 + 11 * MIN)
    # A jump back in time only postpones; the deletion moment itself does not move.
    assert not lifecycle.is_deletable(r, T0 - timedelta(hours=1))
    assert r.expires_at == T0 + 10 * MIN
