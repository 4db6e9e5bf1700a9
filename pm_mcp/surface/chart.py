"""get_price_history's chart=true image, two ways:

    png = price_chart_png(times, prices, title=m.title, outcome="Yes", venue="Kalshi",
                          volumes=volumes, volume_unit="contracts", now=now, close=m.close_time)
    png = png_line_chart([0.41, 0.43, 0.40], y_format=lambda v: f"{v * 100:.1f}c", x_labels=("05-01", "05-08"))
    shown = downsample(points, 400)            # at most 400 evenly spaced items, first and last kept

``price_chart_png`` is the chart a person reads: matplotlib (Agg, no display; imported on the first chart, never
at start-up) draws the price line in cents with a title (market, outcome, venue), dated axes with the year,
volume bars where the venue gives them, and marks for now and for the close date. ``png_line_chart`` is the
small dependency-free encoder (zlib + struct, a 3x5 pixel font) kept for callers that pass only values.

Pure: no MCP, no I/O. The values are floats because they are only drawn (never priced).
"""

from __future__ import annotations

import importlib.util
import io
import struct
import unicodedata
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

__all__ = ["price_chart_png", "png_line_chart", "downsample", "chart_available"]

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


# --- the chart a person reads (matplotlib) -------------------------------------------------------------------
PRICE_COLOUR = "#1f61c9"  # the price line (LINE above, as a hex colour)
VOLUME_COLOUR = "#9aa5b1"
NOW_COLOUR = "#2e7d32"
CLOSE_COLOUR = "#c62828"
TITLE_CHARS = 90  # a longer market title is cut (with an ellipsis) so that it fits the width


def chart_available() -> bool:
    """Whether matplotlib is installed (price_chart_png needs it; png_line_chart does not)."""
    return importlib.util.find_spec("matplotlib") is not None


def _plain(text: str, limit: int) -> str:
    """Venue text for a title: one line, no control/format characters, cut at ``limit`` characters."""
    cleaned = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in str(text))
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[:limit - 1].rstrip() + "…"


def _utc(t: datetime) -> datetime:
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(UTC)


def _date_format(span: timedelta) -> str:
    if span <= timedelta(days=2):
        return "%Y-%m-%d\n%H:%M"
    return "%Y-%m-%d"


def _price_band(prices: Sequence[float]) -> tuple[float, float]:
    """The y range in probability units: the data's range padded, at least 10 cents tall, inside [0, 1]."""
    lo, hi = (min(prices), max(prices)) if prices else (0.0, 1.0)
    pad = max((hi - lo) * 0.15, (0.10 - (hi - lo)) / 2, 0.01)
    lo, hi = max(0.0, lo - pad), min(1.0, hi + pad)
    return lo, hi


def price_chart_png(times: Sequence[datetime], prices: Sequence[float], *, title: str, outcome: str, venue: str,
                    volumes: Sequence[float | None] | None = None, volume_unit: str = "",
                    now: datetime | None = None, close: datetime | None = None,
                    width: int = 800, height: int = 450) -> bytes:
    """A PNG of one outcome's price over time (``prices`` in [0, 1], drawn in cents) at ``times`` (UTC).
    ``volumes`` (same length; None where unknown) are drawn as bars on their own axis; ``now`` and ``close``
    as labelled vertical lines when they fall on the chart (a close date past the data is drawn when it is
    near, otherwise named in the subtitle). Raises ImportError without matplotlib (see chart_available)."""
    from matplotlib import dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ts = [_utc(t) for t in times]
    fig = Figure(figsize=(width / 100, height / 100), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    subtitle = [f"outcome: {_plain(outcome, 40)}", _plain(venue, 30)]
    start, end = (ts[0], ts[-1]) if ts else (_utc(now or datetime.now(UTC)) - timedelta(days=1),
                                              _utc(now or datetime.now(UTC)))
    span = max(end - start, timedelta(hours=1))
    right = end
    if close is not None:
        close = _utc(close)
        if start <= close <= end + span / 2:
            right = max(right, close)
        else:
            subtitle.append(f"closes {close:%Y-%m-%d %H:%M} UTC")
    if volumes is not None and any(v is not None for v in volumes):
        _volume_bars(ax, ts, volumes, volume_unit)
    if ts:
        ax.plot(ts, list(prices), color=PRICE_COLOUR, linewidth=2, zorder=3)
        ax.plot([ts[-1]], [prices[-1]], "o", color=PRICE_COLOUR, markersize=5, zorder=4)
        ax.annotate(f"{prices[-1] * 100:.1f}¢", (ts[-1], prices[-1]), xytext=(-2, 16), textcoords="offset points",
                    ha="right", color=PRICE_COLOUR, fontsize=10, fontweight="bold", zorder=5,
                    annotation_clip=False, bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none",
                                                 "alpha": 0.85})
    else:
        ax.text(0.5, 0.5, "no price points in this window", transform=ax.transAxes, ha="center", va="center",
                color="#666666")
    lo, hi = _price_band(prices)
    ax.set_ylim(lo, hi)
    ax.set_xlim(start - span * 0.01, right + span * 0.04)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v * 100:.0f}¢"))
    ax.set_ylabel("price (¢ per share = implied %)")
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=7))
    ax.xaxis.set_major_formatter(mdates.DateFormatter(_date_format(right - start), tz=UTC))
    ax.set_xlabel("UTC")
    ax.grid(True, color="#e6e6e6", zorder=0)
    for t, colour, label in ((_utc(now) if now else None, NOW_COLOUR, "now"),
                             (close if close is not None and close <= right else None, CLOSE_COLOUR, "close")):
        if t is not None and start - span * 0.01 <= t <= right + span * 0.04:
            ax.axvline(t, color=colour, linestyle="--", linewidth=1.5, zorder=2)
            ax.annotate(label if label == "now" else f"close {t:%Y-%m-%d}", (t, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(-3, -12), textcoords="offset points", ha="right", color=colour, fontsize=9)
    fig.suptitle(_plain(title, TITLE_CHARS), fontsize=12, fontweight="bold", x=0.01, ha="left", parse_math=False)
    ax.set_title("  ·  ".join(subtitle), fontsize=10, loc="left", color="#444444", parse_math=False)
    fig.subplots_adjust(left=0.09, right=0.9, top=0.85, bottom=0.17)  # fixed margins (tight_layout costs a draw)
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _volume_bars(ax, ts: list[datetime], volumes: Sequence[float | None], unit: str) -> None:
    """Volume per point as grey bars on a right-hand axis below the price line."""
    pairs = [(t, v) for t, v in zip(ts, volumes, strict=False) if v is not None]
    vax = ax.twinx()
    # one line collection (not a rectangle per bar): as wide as 70% of a point's share of the plot width
    fig = ax.get_figure()
    plot_px = fig.get_figwidth() * fig.dpi * 0.81
    bar_pt = max(0.8, min(12.0, 0.7 * plot_px / max(1, len(ts)) * 72 / fig.dpi))
    vax.vlines([t for t, _ in pairs], 0, [v for _, v in pairs], colors=VOLUME_COLOUR, alpha=0.55,
               linewidth=bar_pt, zorder=1)
    top = max((v for _, v in pairs), default=0) or 1
    vax.set_ylim(0, top * 3)  # bars in the lower third, under the price line
    vax.set_ylabel(f"volume ({unit})" if unit else "volume", color="#777777")
    vax.tick_params(axis="y", colors="#777777", labelsize=8)
    ax.set_zorder(vax.get_zorder() + 1)
    ax.patch.set_visible(False)
