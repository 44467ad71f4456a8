"""Where each participant goes on the recording: a pure function of who is there, who speaks
and the layout, so it is tested without any media.

    tiles = compute_layout([Person("a"), Person("b", screen=True)], "a", Layout.GRID, 1280, 720)

Every coordinate and size is even (yuv420p halves the chroma planes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "GAP",
    "MAX_TILES",
    "Glide",
    "Layout",
    "Person",
    "Rect",
    "Source",
    "Tile",
    "compute_layout",
    "fit",
]

#: Pixels between tiles and around the edge.
GAP = 8
#: Most tiles drawn at once (grid, or main + strip); later joiners are left out.
MAX_TILES = 16
#: Share of the canvas height the strip of small tiles takes (speaker layout, screen share).
STRIP_SHARE = 0.2


class Layout(StrEnum):
    GRID = "grid"
    SPEAKER = "speaker"
    SINGLE_SPEAKER = "single_speaker"


class Source(StrEnum):
    CAMERA = "camera"
    SCREEN = "screen"


@dataclass(frozen=True, slots=True)
class Person:
    """Someone to show, in join order."""

    id: str
    #: They are sharing their screen now.
    screen: bool = False


@dataclass(frozen=True, slots=True)
class Rect:
    x: int
    y: int
    w: int
    h: int

    @property
    def centre(self) -> tuple[int, int]:
        return self.x + self.w // 2, self.y + self.h // 2


@dataclass(frozen=True, slots=True)
class Tile:
    """One picture on the canvas."""

    participant_id: str
    #: Their camera, or their screen share.
    source: Source
    rect: Rect
    #: The large tile (speaker or screen share) rather than a grid cell or strip tile.
    main: bool = False


def _even(value: float) -> int:
    return max(0, int(value) // 2 * 2)


def fit(width: int, height: int, box_w: int, box_h: int) -> tuple[int, int]:
    """The largest even size with the aspect of ``width`` x ``height`` inside the box."""
    if width <= 0 or height <= 0:
        return _even(box_w), _even(box_h)
    scale = min(box_w / width, box_h / height)
    return max(2, _even(width * scale)), max(2, _even(height * scale))


def _grid(ids: Sequence[str], area: Rect, aspect: float = 16 / 9) -> list[Rect]:
    """Near-square grid of ``aspect`` cells filling ``area`` as much as it can, centred;
    a last row with fewer cells is centred too."""
    n = len(ids)
    if n == 0:
        return []
    best: tuple[float, int, int, int] | None = None  # (area, cols, w, h)
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        cell_w = (area.w - GAP * (cols + 1)) / cols
        cell_h = (area.h - GAP * (rows + 1)) / rows
        if cell_w <= 0 or cell_h <= 0:
            continue
        w = min(cell_w, cell_h * aspect)
        h = w / aspect
        if best is None or w * h > best[0] + 1e-6:
            best = (w * h, cols, _even(w), _even(h))
    if best is None:
        return [Rect(area.x, area.y, 2, 2) for _ in ids]
    _, cols, w, h = best
    rows = math.ceil(n / cols)
    top = area.y + _even((area.h - rows * h - (rows - 1) * GAP) / 2)
    rects = []
    for index in range(n):
        row, col = divmod(index, cols)
        in_row = min(cols, n - row * cols)
        left = area.x + _even((area.w - in_row * w - (in_row - 1) * GAP) / 2)
        rects.append(Rect(left + col * (w + GAP), top + row * (h + GAP), w, h))
    return rects


def _main_and_strip(
    main: Tile, others: Sequence[tuple[str, Source]], width: int, height: int
) -> list[Tile]:
    """``main`` over the canvas above a bottom strip of small tiles for ``others``."""
    if not others:
        return [Tile(main.participant_id, main.source, Rect(0, 0, width, height), main=True)]
    strip_h = _even(height * STRIP_SHARE)
    main_rect = Rect(0, 0, width, _even(height - strip_h))
    strip = Rect(0, main_rect.h, width, height - main_rect.h)
    tile_h = strip.h - 2 * GAP
    tile_w = _even(tile_h * 16 / 9)
    most = max(1, (width - GAP) // (tile_w + GAP))
    shown = list(others)[:most]
    left = _even((width - len(shown) * tile_w - (len(shown) - 1) * GAP) / 2)
    tiles = [Tile(main.participant_id, main.source, main_rect, main=True)]
    for i, (pid, source) in enumerate(shown):
        tiles.append(
            Tile(pid, source, Rect(left + i * (tile_w + GAP), strip.y + GAP, tile_w, tile_h))
        )
    return tiles


def compute_layout(
    people: Sequence[Person],
    active_speaker: str | None,
    layout: Layout,
    width: int,
    height: int,
) -> list[Tile]:
    """The tiles to draw for ``people`` (join order) on a ``width`` x ``height`` canvas.

    ``grid``: everyone in a near-square grid. ``speaker``: the active speaker (the first
    person until someone speaks) large, the others in a strip below. ``single_speaker``:
    only the active speaker. A screen share (the first one, in join order) takes the main
    area in every layout, with everyone's cameras in the strip (none in single_speaker).
    """
    people = list(people)
    if len(people) > MAX_TILES:
        keep = people[: MAX_TILES - 1]
        rest = people[MAX_TILES - 1 :]
        keep.append(next((p for p in rest if p.id == active_speaker), rest[0]))
        people = keep
    if not people:
        return []
    ids = [p.id for p in people]
    speaker = active_speaker if active_speaker in ids else ids[0]
    sharer = next((p.id for p in people if p.screen), None)
    if sharer is not None:
        main = Tile(sharer, Source.SCREEN, Rect(0, 0, width, height), main=True)
        if layout is Layout.SINGLE_SPEAKER:
            return [main]
        return _main_and_strip(main, [(pid, Source.CAMERA) for pid in ids], width, height)
    if layout is Layout.GRID:
        area = Rect(0, 0, width, height)
        return [
            Tile(pid, Source.CAMERA, rect, main=len(ids) == 1)
            for pid, rect in zip(ids, _grid(ids, area), strict=True)
        ]
    main = Tile(speaker, Source.CAMERA, Rect(0, 0, width, height), main=True)
    if layout is Layout.SINGLE_SPEAKER:
        return [main]
    others = [(pid, Source.CAMERA) for pid in ids if pid != speaker]
    return _main_and_strip(main, others, width, height)


class Glide:
    """Moves tiles smoothly when the layout changes: a tile that was on the canvas slides
    and resizes from where it was to where it goes over ``duration`` seconds (eased); a new
    tile appears in place. Sans-I/O: ``now`` is an argument.

        glide = Glide()
        tiles = glide.step(compute_layout(...), now)
    """

    def __init__(self, duration: float = 0.3) -> None:
        self.duration = duration
        #: (participant, source) -> where it is drawn now
        self._shown: dict[tuple[str, Source], Rect] = {}
        #: (participant, source) -> (from, to, start time)
        self._moving: dict[tuple[str, Source], tuple[Rect, Rect, float]] = {}

    def step(self, tiles: Sequence[Tile], now: float) -> list[Tile]:
        out: list[Tile] = []
        shown: dict[tuple[str, Source], Rect] = {}
        for tile in tiles:
            key = (tile.participant_id, tile.source)
            target = tile.rect
            moving = self._moving.get(key)
            if moving is not None and moving[1] != target:
                moving = None  # the target moved again: glide on from where it is now
            if moving is None:
                was = self._shown.get(key)
                if was is None or was == target:
                    self._moving.pop(key, None)
                    shown[key] = target
                    out.append(tile)
                    continue
                moving = (was, target, now)
                self._moving[key] = moving
            start_rect, end_rect, began = moving
            t = (now - began) / self.duration if self.duration > 0 else 1.0
            if t >= 1.0:
                del self._moving[key]
                rect = end_rect
            else:
                rect = _between(start_rect, end_rect, _ease(max(0.0, t)))
            shown[key] = rect
            out.append(Tile(tile.participant_id, tile.source, rect, tile.main))
        self._moving = {k: v for k, v in self._moving.items() if k in shown}
        self._shown = shown
        return out


def _ease(t: float) -> float:
    """Smoothstep: starts and ends gently."""
    return t * t * (3 - 2 * t)


def _between(a: Rect, b: Rect, t: float) -> Rect:
    return Rect(
        _even(a.x + (b.x - a.x) * t),
        _even(a.y + (b.y - a.y) * t),
        max(2, _even(a.w + (b.w - a.w) * t)),
        max(2, _even(a.h + (b.h - a.h) * t)),
    )
