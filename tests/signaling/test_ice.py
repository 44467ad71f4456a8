"""TURN REST credentials as coturn checks them."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from signaling.ice import IceConfig, turn_credentials

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_credentials_follow_the_coturn_rest_scheme() -> None:
    user, password = turn_credentials("s3cret", "p_abc", NOW + timedelta(hours=1))
    assert user == f"{int((NOW + timedelta(hours=1)).timestamp())}:p_abc"
    expected = base64.b64encode(hmac.new(b"s3cret", user.encode(), hashlib.sha1).digest())
    assert password == expected.decode()


def test_servers_for_a_participant() -> None:
    config = IceConfig(
        urls=["stun:stun.example.com:3478", "turn:turn.example.com:3478?transport=udp"],
        turn_secret="s3cret",
        turn_ttl=timedelta(hours=2),
    )
    stun, turn = config.for_participant("p_1", NOW)
    assert stun.urls == ["stun:stun.example.com:3478"] and stun.username is None
    assert turn.urls == ["turn:turn.example.com:3478?transport=udp"]
    assert turn.username == f"{int((NOW + timedelta(hours=2)).timestamp())}:p_1"
    assert turn.credential == turn_credentials("s3cret", "p_1", NOW + timedelta(hours=2))[1]
    assert IceConfig().for_participant("p_1", NOW) == []


def test_bad_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="stun:, turn: or turns:"):
        IceConfig(urls=["http://stun.example.com"])
