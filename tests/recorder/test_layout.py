"""Tile rectangles: pure function, no media."""

from __future__ import annotations

import itertools

import pytest

from recorder.layout import GAP, Glide, Layout, Person, Rect, Source, Tile, compute_layout

W, H = 1280, 720


def people(n: int, screen: int | None = None) -> list[Person]:
    return [Person(f"p{i}", screen=i == screen) for i in range(n)]


def inside(rect: Rect, w: int = W, h: int = H) -> bool:
    return rect.x >= 0 and rect.y >= 0 and rect.x + rect.w <= w and rect.y + rect.h <= h


def overlap(a: Rect, b: Rect) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


def check_tiles(tiles: list[Tile]) -> None:
    for tile in tiles:
        r = tile.rect
        assert inside(r), r
        assert all(v % 2 == 0 for v in (r.x, r.y, r.w, r.h)), r
        assert r.w > 0 and r.h > 0
    for a, b in itertools.combinations(tiles, 2):
        assert not overlap(a.rect, b.rect), (a, b)


@pytest.mark.parametrize("n", range(1, 10))
def test_grid_of_1_to_9_is_near_square_169_centred_and_fills_well(n: int) -> None:
    tiles = compute_layout(people(n), None, Layout.GRID, W, H)
    check_tiles(tiles)
    assert [t.participant_id for t in tiles] == [f"p{i}" for i in range(n)]
    assert all(t.source is Source.CAMERA for t in tiles)
    sizes = {(t.rect.w, t.rect.h) for t in tiles}
    assert len(sizes) == 1
    w, h = sizes.pop()
    assert abs(w / h - 16 / 9) < 0.05
    rows = len({t.rect.y for t in tiles})
    cols = max(sum(1 for t in tiles if t.rect.y == y) for y in {t.rect.y for t in tiles})
    assert abs(rows - cols) <= 1
    # Centred: the margins left and right (top and bottom) match within a rounding step.
    left = min(t.rect.x for t in tiles)
    right = W - max(t.rect.x + t.rect.w for t in tiles)
    top = min(t.rect.y for t in tiles)
    bottom = H - max(t.rect.y + t.rect.h for t in tiles)
    assert abs(left - right) <= 2 and abs(top - bottom) <= 2
    # The canvas is used: the tiles fill at least 40 % of it.
    assert n * w * h > 0.4 * W * H


def test_grid_layouts_expected_shapes() -> None:
    def shape(n: int) -> tuple[int, int]:
        tiles = compute_layout(people(n), None, Layout.GRID, W, H)
        ys = sorted({t.rect.y for t in tiles})
        return len(ys), max(sum(1 for t in tiles if t.rect.y == y) for y in ys)

    assert shape(1) == (1, 1)
    assert shape(2) == (1, 2)
    assert shape(4) == (2, 2)
    assert shape(6) == (2, 3)
    assert shape(9) == (3, 3)


def test_a_short_last_row_is_centred() -> None:
    tiles = compute_layout(people(3), None, Layout.GRID, W, H)
    last = tiles[2].rect
    assert abs((last.x + last.w / 2) - W / 2) <= 2


def test_speaker_layout_puts_the_active_speaker_large_and_the_others_in_a_strip() -> None:
    tiles = compute_layout(people(4), "p2", Layout.SPEAKER, W, H)
    check_tiles(tiles)
    main = [t for t in tiles if t.main]
    assert [t.participant_id for t in main] == ["p2"]
    strip = [t for t in tiles if not t.main]
    assert [t.participant_id for t in strip] == ["p0", "p1", "p3"]
    assert all(t.rect.y >= main[0].rect.y + main[0].rect.h for t in strip)
    assert main[0].rect.w * main[0].rect.h > 4 * sum(t.rect.w * t.rect.h for t in strip) / 3


def test_speaker_layout_before_anyone_spoke_shows_the_first_person() -> None:
    tiles = compute_layout(people(3), None, Layout.SPEAKER, W, H)
    assert next(t for t in tiles if t.main).participant_id == "p0"


def test_speaker_layout_alone_is_full_canvas() -> None:
    assert compute_layout(people(1), None, Layout.SPEAKER, W, H) == [
        Tile("p0", Source.CAMERA, Rect(0, 0, W, H), main=True)
    ]


def test_single_speaker_shows_only_the_speaker_or_the_first() -> None:
    assert compute_layout(people(3), "p1", Layout.SINGLE_SPEAKER, W, H) == [
        Tile("p1", Source.CAMERA, Rect(0, 0, W, H), main=True)
    ]
    assert compute_layout(people(3), "gone", Layout.SINGLE_SPEAKER, W, H)[0].participant_id == "p0"


@pytest.mark.parametrize("layout", list(Layout))
def test_a_screen_share_takes_the_main_area_in_every_layout(layout: Layout) -> None:
    tiles = compute_layout(people(3, screen=1), "p2", layout, W, H)
    check_tiles(tiles)
    main = [t for t in tiles if t.main]
    assert len(main) == 1
    assert (main[0].participant_id, main[0].source) == ("p1", Source.SCREEN)
    assert main[0].rect.w == W
    if layout is Layout.SINGLE_SPEAKER:
        assert tiles == main
    else:
        strip = [(t.participant_id, t.source) for t in tiles if not t.main]
        assert strip == [(f"p{i}", Source.CAMERA) for i in range(3)]


def test_nobody_no_tiles_and_many_people_are_capped_keeping_the_speaker() -> None:
    assert compute_layout([], None, Layout.GRID, W, H) == []
    tiles = compute_layout(people(30), "p29", Layout.GRID, W, H)
    check_tiles(tiles)
    assert len(tiles) == 16 and tiles[-1].participant_id == "p29"


def test_other_canvas_sizes_stay_even_and_inside() -> None:
    for w, h in ((854, 480), (1920, 1080), (640, 360)):
        for n in range(1, 10):
            for layout in Layout:
                for tile in compute_layout(people(n), None, layout, w, h):
                    r = tile.rect
                    assert inside(r, w, h)
                    assert all(v % 2 == 0 for v in (r.x, r.y, r.w, r.h))
    assert GAP % 2 == 0


def test_a_join_glides_the_tiles_to_their_new_places_instead_of_jumping() -> None:
    glide = Glide(duration=0.3)
    one = compute_layout([Person("a")], None, Layout.GRID, 1280, 720)
    two = compute_layout([Person("a"), Person("b")], None, Layout.GRID, 1280, 720)
    assert glide.step(one, 0.0) == one
    start = glide.step(two, 1.0)
    a_before, a_after = one[0].rect, two[0].rect
    assert start[0].rect == a_before  # a starts where it was...
    assert start[1] == two[1]  # ...the newcomer appears in its place
    middle = glide.step(two, 1.15)[0].rect
    assert a_after.w < middle.w < a_before.w  # halfway, a is between sizes
    assert all(v % 2 == 0 for v in (middle.x, middle.y, middle.w, middle.h))
    assert glide.step(two, 1.3) == two  # and then exactly where the layout puts it
    assert glide.step(two, 5.0) == two


def test_a_glide_retargets_from_where_the_tile_is() -> None:
    glide = Glide(duration=1.0)
    one = compute_layout([Person("a")], None, Layout.GRID, 1280, 720)
    two = compute_layout([Person("a"), Person("b")], None, Layout.GRID, 1280, 720)
    three = compute_layout([Person("a"), Person("b"), Person("c")], None, Layout.GRID, 1280, 720)
    glide.step(one, 0.0)
    glide.step(two, 1.0)
    halfway = glide.step(two, 1.5)[0].rect
    again = glide.step(three, 1.5)[0].rect
    assert again == halfway  # no jump when the target changes mid-glide
    assert glide.step(three, 3.0) == three
