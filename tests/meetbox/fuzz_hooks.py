"""Schemathesis hook: the rule of valid rooms that a static schema cannot state.

``auto_delete_at`` must lie 1 hour to 5 years after *now*, and only on long-term rooms. In
schema-valid cases, a valid timestamp is moved to a day from now (dropped from instant
rooms); anything else is left alone, so negative cases still probe the refusals.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import schemathesis


def _positive(case: Any) -> bool:
    return case.meta is None or bool(case.meta.generation.mode.is_positive)


def _is_timestamp(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    if not _positive(case):
        return case
    label = f"{case.method} {case.path}"
    body = case.body
    rooms = label in ("POST /api/v1/rooms", "PATCH /api/v1/rooms/{room_id}")
    if rooms and isinstance(body, dict) and _is_timestamp(body.get("auto_delete_at")):
        if body.get("kind") == "instant":
            del body["auto_delete_at"]
        else:
            when = datetime.now(UTC) + timedelta(days=1)
            body["auto_delete_at"] = when.isoformat().replace("+00:00", "Z")
    return case
