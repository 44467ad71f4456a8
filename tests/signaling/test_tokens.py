"""Participant tokens: what the signaling layer will accept, and what it must refuse."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from signaling.errors import TokenError
from signaling.models import Role
from signaling.tokens import issue_participant_token, verify_participant_token

KEY = b"k" * 32
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _issue(**overrides: object) -> str:
    kwargs: dict[str, object] = {
        "participant_id": "p_1",
        "room_id": "room-1",
        "role": Role.SPEAKER,
        "nickname": "Ada",
        "now": NOW,
        "ttl": timedelta(minutes=10),
    }
    kwargs.update(overrides)
    token, _ = issue_participant_token(KEY, **kwargs)  # type: ignore[arg-type]
    return token


def _b64(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_round_trip_names_room_role_and_participant() -> None:
    claims = verify_participant_token(KEY, _issue(), NOW + timedelta(minutes=9))
    assert (claims.room_id, claims.role, claims.participant_id, claims.nickname) == (
        "room-1",
        Role.SPEAKER,
        "p_1",
        "Ada",
    )
    assert claims.expires_at == NOW + timedelta(minutes=10)


def test_expired_token_is_refused() -> None:
    with pytest.raises(TokenError, match="expired"):
        verify_participant_token(KEY, _issue(), NOW + timedelta(minutes=10))


def test_token_signed_with_another_key_is_refused() -> None:
    with pytest.raises(TokenError, match="signature"):
        verify_participant_token(b"x" * 32, _issue(), NOW)


def test_alg_none_is_refused() -> None:
    _, payload, _ = _issue().split(".")
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    with pytest.raises(TokenError, match="HS256"):
        verify_participant_token(KEY, forged, NOW)


def test_tampered_payload_is_refused() -> None:
    header, payload, sig = _issue().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "moderator"
    with pytest.raises(TokenError, match="signature"):
        verify_participant_token(KEY, f"{header}.{_b64(claims)}.{sig}", NOW)


@pytest.mark.parametrize(
    "garbage", ["", "abc", "a.b.c", "....", "x" * 5000, "eyJ.eyJ.@@@", "\u00e9.\u00e9.\u00e9"]
)
def test_garbage_is_a_token_error_not_a_crash(garbage: str) -> None:
    with pytest.raises(TokenError):
        verify_participant_token(KEY, garbage, NOW)
