"""Fuzzing the signaling parser (RELIABILITY 6): whatever a client sends, parse_client_message
returns a typed message or raises ProtocolError, nothing else, and quickly.

Three sources of frames: arbitrary text and bytes; near-valid messages (each client message
type with its fields replaced, dropped, doubled or mistyped, and with extra keys, deep
nesting and truncations); and the files in tests/fixtures/signaling/, replayed every run:
seeds of known troublemakers and every crash a fuzz run found (one frame per file, as sent).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signaling.wire import (
    CLIENT_MODELS,
    MAX_MESSAGE_BYTES,
    ClientMessage,
    ProtocolError,
    parse_client_message,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "signaling"
FUZZ = settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: One frame may take this long to refuse, at most (the largest are 256 KiB).
FRAME_BUDGET = 0.5


def check(raw: str | bytes) -> ClientMessage | None:
    """Parse ``raw``: a message, or ``None`` for a ProtocolError; anything else fails."""
    started = time.perf_counter()
    try:
        message = parse_client_message(raw)
    except ProtocolError as exc:
        assert exc.code and exc.message and len(exc.message) < 1000
        assert exc.ref is None or (isinstance(exc.ref, str) and len(exc.ref) <= 64)
        return None
    finally:
        assert time.perf_counter() - started < FRAME_BUDGET
    assert type(message) in CLIENT_MODELS
    return message


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)

#: Plausible values per field name, next to which anything else may appear.
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "token": st.text(max_size=60),
    "resume_token": st.text(max_size=60),
    "text": st.text(max_size=80),
    "raised": st.sampled_from([True, False, "yes", "true", 1, 0, None]),
    "muted": st.sampled_from([True, False, "false", 1, None]),
    "kind": st.sampled_from(["audio", "video", "screen", "smell", "", 3]),
    "participant_id": st.text(max_size=70),
    "rotate_links": st.sampled_from([True, False, "no", 0]),
    "sdp": st.sampled_from(["v=0\r\n", "", "garbage", "v=0\n" * 50]),
    "sources": st.dictionaries(
        st.text(max_size=20),
        st.sampled_from(["microphone", "camera", "screen", "screen_audio", "radio"]),
        max_size=10,
    ),
    "target": st.sampled_from(["publisher", "subscriber", "both", None]),
    "candidate": st.text(max_size=80),
    "sdp_mid": st.one_of(st.none(), st.text(max_size=70), st.integers()),
    "sdp_mline_index": st.one_of(st.none(), st.integers(-5, 100), st.just("0"), st.just(1.5)),
    "ref": st.one_of(st.none(), st.text(max_size=80), st.integers()),
}


@st.composite
def near_valid(draw: st.DrawFn) -> str:
    model = draw(st.sampled_from(CLIENT_MODELS))
    message: dict[str, Any] = {"type": model.model_fields["type"].annotation.__args__[0]}  # type: ignore[union-attr]
    for name in model.model_fields:
        if name == "type" or draw(st.integers(0, 9)) == 0:
            continue  # sometimes left out
        plausible = FIELD_VALUES.get(name, json_values)
        message[name] = draw(plausible if draw(st.integers(0, 4)) else json_values)
    if draw(st.integers(0, 5)) == 0:
        message[draw(st.text(max_size=10))] = draw(json_values)  # an unknown key
    if draw(st.integers(0, 8)) == 0:
        message["type"] = draw(st.one_of(st.text(max_size=20), json_values))
    raw = json.dumps(message, ensure_ascii=draw(st.booleans()))
    mutation = draw(st.integers(0, 6))
    if mutation == 0:
        raw = raw[: draw(st.integers(0, len(raw)))]  # truncated
    elif mutation == 1:
        depth = draw(st.integers(1, 3000))
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + "[" * depth + raw[at:]  # deep nesting, maybe inside a string
    elif mutation == 2:
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.text(max_size=5)) + raw[at:]  # a stray character or five
    return raw


@FUZZ
@given(st.text(max_size=2000))
def test_arbitrary_text(raw: str) -> None:
    check(raw)


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_are_refused(raw: bytes) -> None:
    assert check(raw) is None


@FUZZ
@given(near_valid())
def test_near_valid_messages(raw: str) -> None:
    message = check(raw)
    if message is not None:
        # What parsed, reads back the same (the models are strict: no coercion went on).
        assert json.loads(raw)["type"] == message.type


def fixture_frames() -> list[Path]:
    return sorted(p for p in FIXTURES.iterdir() if p.is_file() and p.name != "README.md")


@pytest.mark.parametrize("path", fixture_frames(), ids=lambda p: p.name)
def test_fixture_frames(path: Path) -> None:
    """A ``.bin`` file is a binary frame; anything else a text frame (UTF-8 on disk)."""
    data = path.read_bytes()
    raw: str | bytes = data if path.suffix == ".bin" else data.decode("utf-8", "surrogatepass")
    expected = path.name.split("-", 1)[0]  # "ok-..." parses; "refused-..." does not
    message = check(raw)
    assert (message is not None) == (expected == "ok"), path.name


def test_the_largest_frames_are_refused_in_time() -> None:
    for raw in (
        "[]" * (MAX_MESSAGE_BYTES // 2),
        '{"type":"chat","text":"' + "\\u0041" * (MAX_MESSAGE_BYTES // 6 - 5) + '"}',
        "[" * MAX_MESSAGE_BYTES,
        '"' + '\\"' * (MAX_MESSAGE_BYTES // 2 - 1),
    ):
        check(raw)
