"""What counts as visible text, for names people see (nicknames).

A name made only of characters that render as nothing (spaces, zero-width and other format
characters such as bidi marks, control characters, combining marks with nothing to combine
with, Hangul fillers, the blank Braille pattern) shows up as an empty tile that nobody can
tell apart or address: such a name is refused.
"""

from __future__ import annotations

import unicodedata

__all__ = ["INVISIBLE_NAME", "has_visible_character", "visible_name"]

#: Categories of characters that draw nothing on their own: controls (Cc), format (Cf: zero
#: width space, word joiner, bidi marks, invisible separators), surrogates, private use and
#: unassigned code points, separators (Zs, Zl, Zp) and combining marks (Mn, Me).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"})
#: Letters and symbols that fonts draw blank.
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")

INVISIBLE_NAME = "must contain at least one visible character"


def has_visible_character(text: str) -> bool:
    """Whether ``text`` has a character that draws something."""
    return any(
        char not in _BLANK and unicodedata.category(char) not in _INVISIBLE_CATEGORIES
        for char in text
    )


def visible_name(text: str) -> str:
    """``text`` if it has a visible character (a pydantic validator); ValueError if not."""
    if not has_visible_character(text):
        raise ValueError(INVISIBLE_NAME)
    return text
