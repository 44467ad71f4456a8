"""Nicknames people see: one made only of invisible characters is refused (it shows as an
empty tile nobody can tell apart), at POST /join; the socket refuses such a token too
(tests/signaling/test_ws_hardening.py)."""

from __future__ import annotations

import httpx
import pytest

from signaling.text import has_visible_character
from tests.signaling.test_api_rooms import assert_problem, create

INVISIBLE = [
    "\u200b\u200b",  # zero-width spaces
    "\u2063",  # invisible separator
    "\u200e\u200f\u202e",  # bidi marks and override
    "\u2060\ufeff",  # word joiner, BOM
    " \u00a0\u3000 ",  # spaces of several widths
    "\u3164",  # Hangul filler
    "\u2800",  # blank Braille pattern
    "\u0301\u0302",  # combining marks on nothing
]
VISIBLE = ["Ada", "李雷", "🙂", "e\u0301", "\u200bBo\u200b", "Zoë"]


@pytest.mark.parametrize("nickname", INVISIBLE)
async def test_join_refuses_a_nickname_of_only_invisible_characters(
    app_client: httpx.AsyncClient, nickname: str
) -> None:
    room = await create(app_client)
    body = {"secret": room["links"]["speaker"]["secret"], "nickname": nickname}
    response = await app_client.post("/api/v1/join", json=body)
    assert_problem(response, 422, "validation-error")
    if nickname.strip():  # (whitespace alone is stripped to nothing: "too short")
        assert "visible character" in response.text


@pytest.mark.parametrize("nickname", VISIBLE)
async def test_join_takes_any_nickname_that_shows_something(
    app_client: httpx.AsyncClient, nickname: str
) -> None:
    room = await create(app_client)
    body = {"secret": room["links"]["speaker"]["secret"], "nickname": nickname}
    response = await app_client.post("/api/v1/join", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["nickname"] == nickname.strip()


def test_visibility_rule() -> None:
    assert not any(has_visible_character(name) for name in INVISIBLE)
    assert all(has_visible_character(name) for name in VISIBLE)
