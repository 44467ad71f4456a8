"""Compositing decoded frames into tiles, checked by colour at the tile centres."""

from __future__ import annotations

import av
import numpy as np

from recorder.compositor import PLACEHOLDER_Y, Compositor, text_mask
from recorder.layout import Layout, Person, Source, compute_layout
from sfu.synthetic import _yuv

W, H = 640, 360
COLOURS = {"a": (230, 20, 20), "b": (20, 210, 40), "c": (20, 40, 230)}
NAMES = {"a": "Ada", "b": "bob", "c": "Cy"}


def solid(rgb: tuple[int, int, int], width: int = 320, height: int = 240) -> av.VideoFrame:
    frame = av.VideoFrame(width, height, "yuv420p")
    for plane, value in zip(frame.planes, _yuv(rgb), strict=True):
        plane.update(bytes([value]) * plane.buffer_size)
    return frame


def rgb(frame: av.VideoFrame, x: int, y: int) -> tuple[int, int, int]:
    pixel = frame.to_ndarray(format="rgb24")[y, x]
    return int(pixel[0]), int(pixel[1]), int(pixel[2])


def close_to(a: tuple[int, int, int], b: tuple[int, int, int], tolerance: int = 12) -> bool:
    """``a`` is ``b`` as a solid frame of it reads back (limited-range YUV), give or take."""
    expected = rgb(solid(b, 16, 16), 8, 8)
    return all(abs(x - y) <= tolerance for x, y in zip(a, expected, strict=True))


def grid(ids: list[str]) -> list:  # type: ignore[type-arg]
    return compute_layout([Person(i) for i in ids], None, Layout.GRID, W, H)


def test_three_solid_frames_land_at_their_tile_centres() -> None:
    comp = Compositor(W, H)
    for pid, colour in COLOURS.items():
        comp.push(pid, "camera", solid(colour), now=10.0)
    tiles = grid(list(COLOURS))
    out = comp.video_frame(comp.scene(tiles, NAMES, now=10.5))
    assert (out.width, out.height, out.format.name) == (W, H, "yuv420p")
    for tile in tiles:
        assert close_to(rgb(out, *tile.rect.centre), COLOURS[tile.participant_id])


def test_aspect_is_kept_with_bars_inside_the_tile() -> None:
    comp = Compositor(W, H)
    comp.push("a", "camera", solid(COLOURS["a"], 240, 240), now=0.0)  # square into 16:9
    (tile,) = grid(["a"])
    out = comp.video_frame(comp.scene([tile], NAMES, now=0.0))
    r = tile.rect
    assert close_to(rgb(out, *r.centre), COLOURS["a"])
    # Left of the square picture: the tile's dark bars, not red.
    left_bar = rgb(out, r.x + 4, r.y + r.h // 4)
    assert max(left_bar) < 40


def test_no_frame_stale_frame_or_muted_camera_show_the_grey_placeholder() -> None:
    comp = Compositor(W, H)
    comp.push("b", "camera", solid(COLOURS["b"]), now=0.0)
    comp.push("c", "camera", solid(COLOURS["c"]), now=2.5)
    tiles = grid(["a", "b", "c"])
    scene = comp.scene(tiles, NAMES, now=3.0, video_off={"c"})
    assert [t.frame is None for t in scene.tiles] == [True, True, True]
    assert [t.initial for t in scene.tiles] == ["A", "B", "C"]
    canvas = comp.render(scene)
    out = comp.video_frame(scene)
    for tile in tiles:
        x, y = tile.rect.x + 6, tile.rect.y + 6  # a corner: placeholder grey, no letter
        assert canvas[y, x] == PLACEHOLDER_Y
        # Grey as people see it: no tint left of the green or blue pictures.
        seen = rgb(out, x, y)
        assert max(seen) - min(seen) <= 4 and 40 < seen[0] < 90, (tile.participant_id, seen)
    # The initial is drawn: the centre row has bright pixels.
    tile = tiles[0].rect
    centre_row = canvas[tile.centre[1], tile.x : tile.x + tile.w]
    assert centre_row.max() > 150


def test_labels_show_the_nickname_in_the_bottom_left() -> None:
    comp = Compositor(W, H)
    comp.push("a", "camera", solid((0, 0, 0)), now=0.0)
    (tile,) = grid(["a"])
    canvas = comp.render(comp.scene([tile], {"a": "Ada Lovelace"}, now=0.0))
    r = tile.rect
    label = canvas[r.y + r.h - 30 : r.y + r.h, r.x : r.x + 200]
    assert label.max() > 200  # white text on the dark label
    mask = text_mask("Ada Lovelace", 28)
    assert mask.shape[1] > mask.shape[0] > 5
    assert text_mask("Ada Lovelace", 28) is mask  # rendered once


def test_screen_share_tile_uses_the_screen_frame() -> None:
    comp = Compositor(W, H)
    comp.push("a", "camera", solid(COLOURS["a"]), now=0.0)
    comp.push("a", "screen", solid((200, 200, 200), 640, 360), now=0.0)
    tiles = compute_layout([Person("a", screen=True)], None, Layout.GRID, W, H)
    main = next(t for t in tiles if t.source is Source.SCREEN)
    scene = comp.scene(tiles, NAMES, now=0.0)
    assert scene.tiles[0].label == "Ada (screen)"
    out = comp.video_frame(scene)
    assert close_to(rgb(out, *main.rect.centre), (200, 200, 200))
    comp.forget("a", "screen")
    assert comp.scene(tiles, NAMES, now=0.0).tiles[0].frame is None


def test_render_reuses_one_canvas_and_handles_odd_sources() -> None:
    comp = Compositor(W, H)
    comp.push("a", "camera", solid(COLOURS["a"], 322, 182).reformat(format="rgb24"), now=0.0)
    comp.push("b", "camera", solid(COLOURS["b"]), now=0.0)
    alone = comp.scene(grid(["a"]), NAMES, now=0.0)
    first = comp.render(alone)
    assert first.shape == (H * 3 // 2, W)
    kept = first.copy()  # the canvas is reused: keep what it showed
    (tile,) = grid(["a"])
    assert close_to(rgb(comp.video_frame(alone), *tile.rect.centre), COLOURS["a"])
    # Two people, then one again: nothing of the two-tile picture is left over.
    both = comp.render(comp.scene(grid(["a", "b"]), NAMES, now=0.0))
    assert both is first and not np.array_equal(both, kept)
    again = comp.render(comp.scene(grid(["a"]), NAMES, now=0.0))
    assert np.array_equal(again, kept)


def test_a_new_frame_replaces_the_scaled_one_kept_for_its_tile() -> None:
    comp = Compositor(W, H)
    (tile,) = grid(["a"])
    comp.push("a", "camera", solid(COLOURS["a"]), now=0.0)
    first = comp.video_frame(comp.scene([tile], NAMES, now=0.0))
    comp.push("a", "camera", solid(COLOURS["c"]), now=0.1)
    second = comp.video_frame(comp.scene([tile], NAMES, now=0.1))
    assert close_to(rgb(first, *tile.rect.centre), COLOURS["a"])
    assert close_to(rgb(second, *tile.rect.centre), COLOURS["c"])
