"""Who may see and manage recordings, and media access parameters
(:mod:`signaling.recordings.access`): pure, time passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from signaling.models import Role
from signaling.recordings.access import (
    ADMIN,
    MEDIA_ACCESS_TTL,
    MediaAccess,
    MediaGrant,
    Viewer,
    may_manage,
    role_may_see,
    sees_without_room,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_who_sees_without_asking_the_room() -> None:
    assert sees_without_room(ADMIN, "r1", None) is True
    shared = Viewer(shared_recording="rec_a")
    assert sees_without_room(shared, "r1", "rec_a") is True
    assert sees_without_room(shared, "r1", "rec_b") is False
    assert sees_without_room(shared, "r1", None) is False  # a share opens no list
    assert sees_without_room(Viewer(room_id="r2", role=Role.MODERATOR), "r1", None) is False
    assert sees_without_room(Viewer(room_id="r1", role=Role.RECORDINGS), "r1", None) is True
    for role in (Role.MODERATOR, Role.SPEAKER):
        assert sees_without_room(Viewer(room_id="r1", role=role), "r1", "rec_a") is None


@pytest.mark.parametrize(
    ("role", "access", "sees"),
    [
        (Role.MODERATOR, "admin", False),
        (Role.MODERATOR, "moderator", True),
        (Role.MODERATOR, "moderator_speaker", True),
        (Role.SPEAKER, "admin", False),
        (Role.SPEAKER, "moderator", False),
        (Role.SPEAKER, "moderator_speaker", True),
        (None, "moderator_speaker", False),
    ],
)
def test_what_a_rooms_access_setting_lets_each_role_see(
    role: Role | None, access: str, sees: bool
) -> None:
    assert role_may_see(role, access) is sees


def test_only_administrators_and_the_rooms_moderators_manage() -> None:
    assert may_manage(ADMIN, "r1")
    assert may_manage(Viewer(room_id="r1", role=Role.MODERATOR), "r1")
    assert not may_manage(Viewer(room_id="r2", role=Role.MODERATOR), "r1")
    assert not may_manage(Viewer(room_id="r1", role=Role.RECORDINGS), "r1")
    assert not may_manage(Viewer(shared_recording="rec_a"), "r1")
    assert ADMIN.admin and not Viewer(shared_recording="rec_a").admin


def test_a_media_access_parameter_is_bound_to_its_share_and_expires() -> None:
    access = MediaAccess(b"k" * 32)
    param = access.issue("rec_a", T0, share_hash="h1")
    expires, kind, mac = param.split(".")
    assert int(expires) == int((T0 + MEDIA_ACCESS_TTL).timestamp()) and kind == "s"
    grant = access.read(param, T0)
    assert grant == MediaGrant(int(expires), "s", mac) and grant.role is None
    assert access.verify("rec_a", grant, "h1")
    assert not access.verify("rec_b", grant, "h1")  # another recording
    assert not access.verify("rec_a", grant, "h2")  # the share was replaced
    assert not MediaAccess(b"x" * 32).verify("rec_a", grant, "h1")  # another key
    assert access.read(param, T0 + MEDIA_ACCESS_TTL) is not None
    assert access.read(param, T0 + MEDIA_ACCESS_TTL + timedelta(seconds=1)) is None


def test_a_links_media_access_carries_its_role() -> None:
    access = MediaAccess(b"k" * 32, ttl=timedelta(minutes=1))
    param = access.issue("rec_a", T0, link=(Role.MODERATOR, "secret-hash"))
    grant = access.read(param, T0)
    assert grant is not None and grant.kind == "l-moderator" and grant.role is Role.MODERATOR
    assert access.verify("rec_a", grant, "secret-hash")
    assert not access.verify("rec_a", grant, "rotated-hash")
    with pytest.raises(ValueError, match="bound to a share or a link"):
        access.issue("rec_a", T0)


@pytest.mark.parametrize(
    "param",
    ["", "9999999999", "9999999999.00", "soon.s.abc", "9999999999.x.abc", "9999999999.l-boss.a"],
)
def test_a_malformed_media_access_grants_nothing(param: str) -> None:
    assert MediaAccess(b"k" * 32).read(param, T0) is None
