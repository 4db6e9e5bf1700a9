"""A small PNG line chart (zlib + struct, no imaging library): get_price_history's chart=true image.

    png = png_line_chart([0.41, 0.43, 0.40], y_format=lambda v: f"{v * 100:.1f}c", x_labels=("05-01", "05-08"))
    shown = downsample(points, 400)            # at most 400 evenly spaced items, first and last kept

Pure: no MCP, no I/O. The values are floats because they are only drawn (never priced).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["png_line_chart", "downsample"]

T = TypeVar("T")
RGB = tuple[int, int, int]

BACKGROUND: RGB = (255, 255, 255)
GRID: RGB = (230, 230, 230)
LINE: RGB = (31, 97, 201)
AXIS: RGB = (150, 150, 150)
INK: RGB = (60, 60, 60)
PAD = 10  # pixels of margin on every side
MIN_BAND = 0.02  # a flatter series is drawn on a band this tall around its middle

# A 3x5 pixel font for the axis labels (digits, '.', '-', ':', 'c' for cents, '%', ' ').
_GLYPHS = {
    "0": ("111", "101", "101", "101", "111"), "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"), "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"), "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"), "7": ("111", "001", "010", "010", "010"),
    "8": ("111", "101", "111", "101", "111"), "9": ("111", "101", "111", "001", "111"),
    ".": ("000", "000", "000", "000", "010"), "-": ("000", "000", "111", "000", "000"),
    ":": ("000", "010", "000", "010", "000"), "c": ("000", "011", "100", "100", "011"),
    "%": ("101", "001", "010", "100", "101"), " ": ("000", "000", "000", "000", "000"),
}
_SCALE = 2  # each font pixel is 2x2 image pixels: glyphs are 6x10, advance 8
GLYPH_HEIGHT = 5 * _SCALE


def _text_width(text: str) -> int:
    return len(text) * 4 * _SCALE


def downsample(points: Sequence[T], n: int) -> list[T]:
    """At most ``n`` items of ``points``, evenly spaced, the first and the last always among them."""
    if len(points) <= n:
        return list(points)
    step = (len(points) - 1) / (n - 1)
    return [points[round(i * step)] for i in range(n)]


class _Canvas:
    """An RGB pixel grid; writes outside it are dropped."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.px = [[BACKGROUND] * width for _ in range(height)]

    def text(self, x0: int, y0: int, label: str) -> None:
        for n, ch in enumerate(label):
            for gy, row in enumerate(_GLYPHS.get(ch, _GLYPHS[" "])):
                for gx, bit in enumerate(row):
                    if bit == "1":
                        self._block(x0 + n * 4 * _SCALE + gx * _SCALE, y0 + gy * _SCALE)

    def _block(self, x0: int, y0: int) -> None:
        for dy in range(_SCALE):
            for dx in range(_SCALE):
                x, y = x0 + dx, y0 + dy
                if 0 <= x < self.width and 0 <= y < self.height:
                    self.px[y][x] = INK

    def line(self, x0: int, y0: int, x1: int, y1: int) -> None:
        """Bresenham, two pixels thick (downwards)."""
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        while True:
            for oy in (0, 1):
                if 0 <= y0 + oy < self.height:
                    self.px[y0 + oy][x0] = LINE
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(c for p in row for c in p) for row in self.px)
        ihdr = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw, 9))
                + _chunk(b"IEND", b""))


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def _band(values: Sequence[float]) -> tuple[float, float]:
    """The range the y axis spans: the values' own, widened to MIN_BAND (within [0, 1]) when flatter."""
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi - lo < MIN_BAND:
        mid = (hi + lo) / 2
        lo, hi = max(0.0, mid - MIN_BAND / 2), min(1.0, mid + MIN_BAND / 2)
    return lo, hi


def _axes(c: _Canvas, left: int, bottom: int, y_labels: tuple[str, str] | None,
          x_labels: tuple[str, str] | None) -> None:
    """Five grid lines, the two axes and their labels."""
    width, height = c.width, c.height
    plot_h = height - PAD - bottom
    for k in range(5):
        y = PAD + round(plot_h * k / 4)
        for x in range(left, width - PAD):
            c.px[y][x] = GRID
    for y in range(PAD, height - bottom + 1):
        c.px[y][left] = AXIS
    for x in range(left, width - PAD):
        c.px[height - bottom][x] = AXIS
    if y_labels:
        c.text(PAD, PAD, y_labels[0])
        c.text(PAD, height - bottom - GLYPH_HEIGHT, y_labels[1])
    if x_labels:
        c.text(left, height - bottom + 4, x_labels[0])
        c.text(width - PAD - _text_width(x_labels[1]), height - bottom + 4, x_labels[1])


def png_line_chart(values: list[float], width: int = 480, height: int = 200, *,
                   y_format: Callable[[float], str] | None = None,
                   x_labels: tuple[str, str] | None = None) -> bytes:
    """A small line chart of ``values`` (probabilities, drawn on a band scaled to their range). With
    ``y_format`` the top and bottom of that band are written on the y axis; ``x_labels`` (first, last)
    go under the x axis."""
    c = _Canvas(width, height)
    lo, hi = _band(values)
    y_labels = (y_format(hi), y_format(lo)) if y_format else None
    left = PAD + (max(_text_width(t) for t in y_labels) + 6 if y_labels else 0)
    bottom = PAD + (GLYPH_HEIGHT + 6 if x_labels else 0)
    _axes(c, left, bottom, y_labels, x_labels)
    plot_h = height - PAD - bottom

    def xy(i: int, v: float) -> tuple[int, int]:
        x = left + round((width - left - PAD - 1) * (i / max(1, len(values) - 1)))
        y = height - bottom - round(plot_h * ((v - lo) / (hi - lo)))
        return x, min(max(y, 0), height - 1)

    pts = [xy(i, v) for i, v in enumerate(values)]
    for a, b in zip(pts, pts[1:], strict=False):
        c.line(*a, *b)
    if len(pts) == 1:
        c.line(*pts[0], *pts[0])
    return c.png()
