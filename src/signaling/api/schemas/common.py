"""What every request and response model shares: strict inputs, text and time types, the
problem document."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, StringConstraints

from signaling.text import visible_name

__all__ = [
    "BULK_IDS_PATTERN",
    "METADATA_MAX_BYTES",
    "VISIBLE_TEXT",
    "BulkDeleteFailure",
    "Input",
    "Metadata",
    "Name",
    "Nickname",
    "Problem",
    "ThemeId",
    "UtcDatetime",
]

METADATA_MAX_BYTES = 4096
#: ``ids=a,b,c`` of the bulk endpoints: 1 to 100 ids, commas between, nothing else.
BULK_IDS_PATTERN = r"^[A-Za-z0-9_-]{1,128}(?:,[A-Za-z0-9_-]{1,128}){0,99}$"


class Input(BaseModel):
    """A request body: unknown keys are refused (a typo is a 422, not ignored)."""

    model_config = ConfigDict(extra="forbid")


#: Visible text: at least one non-space character, no control characters (C0, DEL, C1).
#: In the schema too, so clients and fuzzers see the rule.
VISIBLE_TEXT = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"

Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=VISIBLE_TEXT),
]
#: Also refused: a nickname of nothing but invisible characters (zero-width spaces, bidi
#: marks, ...), see :mod:`signaling.text`.
Nickname = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=VISIBLE_TEXT),
    AfterValidator(visible_name),
]
ThemeId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def _small_metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None:
        size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
        if size > METADATA_MAX_BYTES:
            raise ValueError(
                f"must be at most {METADATA_MAX_BYTES} bytes as compact JSON (is {size})"
            )
    return value


#: A timestamp with a timezone (naive ones are refused), stored and shown in UTC.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(lambda when: when.astimezone(UTC))]

Metadata = Annotated[dict[str, Any] | None, AfterValidator(_small_metadata)]


class BulkDeleteFailure(BaseModel):
    id: str
    status: int
    type: str
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None
