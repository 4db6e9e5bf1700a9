"""The price chart a person reads (issue #17 item 6): pm_mcp.surface.chart.price_chart_png, drawn by matplotlib.
Each check decodes the PNG and looks at its size and at pixels of the colours the chart draws with."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from pm_mcp.surface import chart

mpl_image = pytest.importorskip("matplotlib.image", reason="price_chart_png needs matplotlib")

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
TIMES = [NOW - timedelta(days=30) + timedelta(hours=6 * i) for i in range(120)]
RISING = [0.20 + 0.5 * i / 119 for i in range(120)]


def _pixels(png: bytes):
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    px = mpl_image.imread(io.BytesIO(png), format="png")  # floats in [0, 1], RGBA
    assert px.shape[:2] == (height, width)
    return width, height, (px[:, :, :3] * 255).round().astype(int)


def _rgb(hex_colour: str, alpha: float = 1.0) -> tuple[int, int, int]:
    rgb = [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]
    return tuple(round(alpha * c + (1 - alpha) * 255) for c in rgb)


def _where(px, colour, tolerance: int = 6) -> list[tuple[int, int]]:
    diff = abs(px - colour).max(axis=2)
    ys, xs = (diff <= tolerance).nonzero()
    return list(zip(xs.tolist(), ys.tolist(), strict=True))


def test_the_price_line_rises_where_the_prices_rise_at_the_asked_size():
    png = chart.price_chart_png(TIMES, RISING, title="Fed cuts in December?", outcome="Yes", venue="Kalshi",
                                now=NOW)
    w, h, px = _pixels(png)
    assert (w, h) == (800, 450)
    line = _where(px, _rgb(chart.PRICE_COLOUR), tolerance=10)
    assert len(line) > 300
    left, right = min(line), max(line)
    assert left[1] > right[1] + 100  # image y grows downwards: the line rises across most of the plot


def test_volume_bars_only_where_the_venue_gives_volume():
    bars = _rgb(chart.VOLUME_COLOUR, 0.55)
    with_volume = chart.price_chart_png(TIMES, RISING, title="t", outcome="Yes", venue="Kalshi",
                                        volumes=[1000.0 + i for i in range(120)], volume_unit="contracts")
    without = chart.price_chart_png(TIMES, RISING, title="t", outcome="Yes", venue="Kalshi",
                                    volumes=[None] * 120)
    assert len(_where(_pixels(with_volume)[2], bars, 4)) > 2000
    assert len(_where(_pixels(without)[2], bars, 4)) < 50


def test_now_and_the_close_date_are_marked_when_they_are_on_the_chart():
    near = chart.price_chart_png(TIMES, RISING, title="t", outcome="Yes", venue="Kalshi", now=NOW,
                                 close=NOW + timedelta(days=5))
    px = _pixels(near)[2]
    for colour in (chart.NOW_COLOUR, chart.CLOSE_COLOUR):
        found = _where(px, _rgb(colour), 12)
        columns = {x for x, _ in found}
        assert found and max(sum(1 for x, _ in found if x == c) for c in columns) > 100, colour  # a vertical line
    far = chart.price_chart_png(TIMES, RISING, title="t", outcome="Yes", venue="Kalshi", now=NOW,
                                close=NOW + timedelta(days=400))
    assert len(_where(_pixels(far)[2], _rgb(chart.CLOSE_COLOUR), 12)) < 20  # named in the subtitle instead


def test_venue_text_cannot_break_the_chart():
    title = "Will BTC hit $100k by $Dec$?\u202e\x1b[31m" + "x" * 300
    png = chart.price_chart_png(TIMES[:3], [0.5, 0.51, 0.49], title=title, outcome="$\\frac{1}{0}$", venue="M")
    assert _pixels(png)[:2] == (800, 450)
    assert chart._plain(title, chart.TITLE_CHARS).endswith("…") and "\u202e" not in chart._plain(title, 90)


def test_edge_cases_still_draw():
    for times, prices in (([], []), (TIMES[:1], [0.5]), (TIMES[:2], [0.0, 1.0]), (TIMES[:5], [0.5] * 5)):
        png = chart.price_chart_png(times, prices, title="t", outcome="Yes", venue="Kalshi", now=NOW,
                                    width=400, height=240)
        assert _pixels(png)[:2] == (400, 240)


def test_matplotlib_is_imported_only_when_a_chart_is_drawn():
    code = ("import sys, json; import pm_mcp.surface.chart as c; a = 'matplotlib' in sys.modules; "
            "c.price_chart_png([], [], title='t', outcome='Yes', venue='v'); "
            "print(json.dumps([a, 'matplotlib' in sys.modules, 'matplotlib.pyplot' in sys.modules]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == [False, True, False]  # no pyplot: no global state
