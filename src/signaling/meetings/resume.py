"""Resume tokens that no longer work, and why: what a participant presenting one is told.

Each ``joined`` carries a fresh resume token; the previous one of that participant stops
working, as do all of them when the participant leaves or the meeting ends. A bounded
registry (the latest :data:`MAX_SPENT_RESUME_TOKENS`) remembers why, across meetings, so the
refusal says "already used" or "kicked" instead of "unknown". Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from signaling.wire import ByeReason, CloseCode

__all__ = [
    "KICKED",
    "MAX_SPENT_RESUME_TOKENS",
    "MEETING_ENDED",
    "RESUME_USED",
    "UNKNOWN_RESUME",
    "Spent",
    "SpentTokens",
    "left",
]

#: Resume tokens that no longer work, remembered (the latest ones) to say why not.
MAX_SPENT_RESUME_TOKENS = 10_000


@dataclass(frozen=True, slots=True)
class Spent:
    """Why a resume token no longer works: the refusal to answer with."""

    #: The WebSocket close code of the refusal.
    close_code: CloseCode
    #: The machine-readable reason (``resume_used``, ``kicked``, ...).
    code: str
    #: What a person reads.
    message: str


RESUME_USED = Spent(
    CloseCode.UNAUTHORIZED,
    "resume_used",
    "this resume token was already used (each works once) or a newer session of yours "
    "replaced it; resume with the token from your latest joined",
)
KICKED = Spent(CloseCode.REFUSED, "kicked", "a moderator removed you from this meeting")
MEETING_ENDED = Spent(CloseCode.REFUSED, "meeting_ended", "the meeting has ended")
UNKNOWN_RESUME = Spent(
    CloseCode.UNAUTHORIZED,
    "resume_expired",
    "unknown resume token (its meeting is over, or the server restarted); join again with "
    "a participant token",
)


def left(reason: ByeReason) -> Spent:
    """Why the tokens of a participant who left with ``reason`` no longer work."""
    if reason is ByeReason.KICKED:
        return KICKED
    if reason is ByeReason.TIMEOUT:
        message = "the resume window passed before you came back"
    else:
        message = f"you are no longer in the meeting ({reason.value})"
    return Spent(
        CloseCode.UNAUTHORIZED,
        "resume_expired",
        f"{message}; join again with a participant token",
    )


class SpentTokens:
    """The latest ``limit`` spent resume tokens and why each was spent."""

    def __init__(self, limit: int = MAX_SPENT_RESUME_TOKENS) -> None:
        self._limit = limit
        self._why: OrderedDict[str, Spent] = OrderedDict()

    def spend(self, token: str, why: Spent) -> None:
        self._why[token] = why
        self._why.move_to_end(token)
        while len(self._why) > self._limit:
            self._why.popitem(last=False)

    def why(self, token: str) -> Spent:
        """Why ``token`` does not work (:data:`UNKNOWN_RESUME` if it was never spent here)."""
        return self._why.get(token, UNKNOWN_RESUME)

    def __len__(self) -> int:
        return len(self._why)
