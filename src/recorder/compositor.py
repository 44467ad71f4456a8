"""Compositing the latest decoded frame of each participant into one yuv420p picture.

Two steps, so the cheap one runs where frames arrive and the costly one off the event loop:

- :meth:`Compositor.scene` (cheap, time as an argument): which frame, label and placeholder
  each tile shows now; it only takes references to frames.
- :meth:`Compositor.render` (costly): scales each frame into its tile (aspect kept,
  letterboxed), draws placeholders and nickname labels, returns the canvas.

A participant without video, with their camera muted, or whose last frame is more than
``stale_after`` seconds old shows a grey placeholder with their initial.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from recorder.layout import Rect, Source, Tile, fit

__all__ = ["Compositor", "Scene", "TileContent", "text_mask"]

#: Seconds after which a participant's last frame counts as gone.
STALE_S = 2.0
BACKGROUND_Y = 20
TILE_Y = 12
PLACEHOLDER_Y = 72
LABEL_BG_Y = 24
TEXT_Y = 235
NEUTRAL = 128

Plane = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class TileContent:
    """What one tile shows."""

    rect: Rect
    #: The picture to scale in, or None for the placeholder.
    frame: av.VideoFrame | None
    label: str
    #: Drawn large on the placeholder.
    initial: str


@dataclass(frozen=True, slots=True)
class Scene:
    tiles: tuple[TileContent, ...]


@functools.lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


@functools.lru_cache(maxsize=256)
def text_mask(text: str, size: int) -> Plane:
    """``text`` rendered at ``size`` px as an 8-bit coverage mask (cached per text and size)."""
    font = _font(size)
    left, top, right, bottom = (int(v) for v in font.getbbox(text or " "))
    image = Image.new("L", (max(1, right - left), max(1, bottom - top)))
    ImageDraw.Draw(image).text((-left, -top), text, fill=255, font=font)
    mask = np.asarray(image, dtype=np.uint8)
    mask.flags.writeable = False
    return mask


def _planes(frame: av.VideoFrame) -> tuple[Plane, Plane, Plane]:
    """The Y, U and V planes of a yuv420p frame as arrays (line padding cut off)."""
    planes = []
    for plane in frame.planes[:3]:
        data = np.frombuffer(memoryview(plane), dtype=np.uint8)
        planes.append(data.reshape(plane.height, plane.line_size)[:, : plane.width])
    return planes[0], planes[1], planes[2]


class Compositor:
    """The latest frame per (participant, source), and the canvas they make."""

    def __init__(self, width: int, height: int, stale_after: float = STALE_S) -> None:
        if width % 2 or height % 2:
            raise ValueError("width and height must be even (yuv420p)")
        self.width = width
        self.height = height
        self.stale_after = stale_after
        #: (participant id, source) -> (frame, when it arrived)
        self._latest: dict[tuple[str, str], tuple[av.VideoFrame, float]] = {}
        self._canvas = np.empty((height * 3 // 2, width), dtype=np.uint8)
        #: tile rect -> the frame last scaled into it and the result: a source slower than
        #: the recording's frame rate is scaled once per frame it sends (render thread only).
        self._scaled: dict[Rect, tuple[av.VideoFrame, tuple[Plane, Plane, Plane]]] = {}

    # -- the cheap half: on the event loop --------------------------------------------------

    def push(self, participant_id: str, source: str, frame: av.VideoFrame, now: float) -> None:
        """Keep ``frame`` as the latest from ``participant_id``'s ``source``."""
        self._latest[(participant_id, source)] = (frame, now)

    def forget(self, participant_id: str, source: str | None = None) -> None:
        """Drop what is kept from a participant (one source, or all of them)."""
        for key in [k for k in self._latest if k[0] == participant_id]:
            if source is None or key[1] == source:
                del self._latest[key]

    def scene(
        self,
        tiles: Sequence[Tile],
        nicknames: Mapping[str, str],
        now: float,
        video_off: Collection[str] = (),
    ) -> Scene:
        """What each of ``tiles`` shows at ``now``; ``video_off``: participants whose camera
        is muted."""
        contents = []
        for tile in tiles:
            name = nicknames.get(tile.participant_id, "?")
            kept = self._latest.get((tile.participant_id, tile.source.value))
            frame = None
            if kept is not None and now - kept[1] <= self.stale_after:
                frame = kept[0]
            if tile.source is Source.CAMERA and tile.participant_id in video_off:
                frame = None
            label = f"{name} (screen)" if tile.source is Source.SCREEN else name
            initial = (name.strip()[:1] or "?").upper()
            contents.append(TileContent(tile.rect, frame, label, initial))
        return Scene(tuple(contents))

    # -- the costly half: in the encoder's thread -------------------------------------------

    def _views(self) -> tuple[Plane, Plane, Plane]:
        h, w = self.height, self.width
        canvas = self._canvas
        y = canvas[:h]
        u = canvas[h : h + h // 4].reshape(h // 2, w // 2)
        v = canvas[h + h // 4 :].reshape(h // 2, w // 2)
        return y, u, v

    def render(self, scene: Scene) -> npt.NDArray[np.uint8]:
        """The canvas for ``scene``: a (height * 3/2, width) yuv420p array, reused between
        calls (copy it to keep it)."""
        y, u, v = self._views()
        y.fill(BACKGROUND_Y)
        u.fill(NEUTRAL)
        v.fill(NEUTRAL)
        rects = {tile.rect for tile in scene.tiles}
        for rect in [r for r in self._scaled if r not in rects]:
            del self._scaled[rect]
        for tile in scene.tiles:
            if tile.frame is not None:
                self._draw_frame(tile.rect, tile.frame, y, u, v)
            else:
                self._draw_placeholder(tile, y, u, v)
            self._draw_label(tile.rect, tile.label, y, u, v)
        return self._canvas

    def video_frame(self, scene: Scene) -> av.VideoFrame:
        """:meth:`render` as an ``av.VideoFrame``."""
        return av.VideoFrame.from_ndarray(self.render(scene), format="yuv420p")

    @staticmethod
    def _fill(rect: Rect, luma: int, y: Plane, u: Plane, v: Plane) -> None:
        y[rect.y : rect.y + rect.h, rect.x : rect.x + rect.w] = luma
        cy, cx, ch, cw = rect.y // 2, rect.x // 2, rect.h // 2, rect.w // 2
        u[cy : cy + ch, cx : cx + cw] = NEUTRAL
        v[cy : cy + ch, cx : cx + cw] = NEUTRAL

    def _draw_frame(self, rect: Rect, frame: av.VideoFrame, y: Plane, u: Plane, v: Plane) -> None:
        self._fill(rect, TILE_Y, y, u, v)
        w, h = fit(frame.width, frame.height, rect.w, rect.h)
        cached = self._scaled.get(rect)
        if cached is not None and cached[0] is frame:
            fy, fu, fv = cached[1]
        else:
            scaled = frame.reformat(width=w, height=h, format="yuv420p")
            fy, fu, fv = _planes(scaled)
            self._scaled[rect] = (frame, (fy, fu, fv))
        x0 = rect.x + (rect.w - w) // 2 // 2 * 2
        y0 = rect.y + (rect.h - h) // 2 // 2 * 2
        y[y0 : y0 + h, x0 : x0 + w] = fy[:h, :w]
        cx, cy = x0 // 2, y0 // 2
        u[cy : cy + h // 2, cx : cx + w // 2] = fu[: h // 2, : w // 2]
        v[cy : cy + h // 2, cx : cx + w // 2] = fv[: h // 2, : w // 2]

    def _draw_placeholder(self, tile: TileContent, y: Plane, u: Plane, v: Plane) -> None:
        rect = tile.rect
        self._fill(rect, PLACEHOLDER_Y, y, u, v)
        size = max(8, min(rect.h // 3, 160))
        self._blend_text(tile.initial, size, rect.centre, rect, y, 210, PLACEHOLDER_Y)

    def _draw_label(self, rect: Rect, label: str, y: Plane, u: Plane, v: Plane) -> None:
        size = max(10, min(rect.h // 12, 28))
        mask = text_mask(label, size)
        pad = max(2, size // 4) // 2 * 2
        box_w = min(mask.shape[1] + 2 * pad, rect.w) // 2 * 2
        box_h = min(mask.shape[0] + 2 * pad, rect.h) // 2 * 2
        if box_w <= 2 * pad or box_h <= 2 * pad:
            return
        box = Rect(rect.x, rect.y + rect.h - box_h, box_w, box_h)
        self._fill(box, LABEL_BG_Y, y, u, v)
        centre = (box.x + pad + mask.shape[1] // 2, box.y + box_h // 2)
        self._blend_text(label, size, centre, box, y, TEXT_Y, LABEL_BG_Y)

    @staticmethod
    def _blend_text(
        text: str,
        size: int,
        centre: tuple[int, int],
        clip: Rect,
        y: Plane,
        luma: int,
        background: int,
    ) -> None:
        """Draw ``text`` centred on ``centre`` into the Y plane, clipped to ``clip``."""
        mask = text_mask(text, size)
        mh, mw = mask.shape
        x0 = max(clip.x, centre[0] - mw // 2)
        y0 = max(clip.y, centre[1] - mh // 2)
        x1 = min(clip.x + clip.w, x0 + mw)
        y1 = min(clip.y + clip.h, y0 + mh)
        if x1 <= x0 or y1 <= y0:
            return
        alpha = mask[: y1 - y0, : x1 - x0].astype(np.uint16)
        region = (background * (255 - alpha) + luma * alpha) // 255
        y[y0:y1, x0:x1] = region.astype(np.uint8)
