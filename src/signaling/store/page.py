"""One page of a keyset-paginated listing, shared by every store protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Page"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    #: Sort key of the last item when more may follow, else ``None``.
    next_after: tuple[str, str] | None
