"""The PNG chart encoder (pm_mcp.surface.chart): a valid PNG of the asked size, the line drawn where the values
are, labels inked, and downsampling that keeps the ends."""

from __future__ import annotations

import struct
import zlib

from pm_mcp.surface.chart import GRID, LINE, downsample, png_line_chart


def _decode(png: bytes) -> tuple[int, int, list[list[tuple[int, int, int]]]]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, size = 8, b"", (0, 0)
    while pos < len(png):
        (n,) = struct.unpack(">I", png[pos:pos + 4])
        tag, data = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", png[pos + 8 + n:pos + 12 + n])
        assert crc == zlib.crc32(tag + data) & 0xFFFFFFFF
        if tag == b"IHDR":
            w, h, depth, colour = struct.unpack(">IIBB", data[:10])
            assert (depth, colour) == (8, 2)  # 8-bit RGB
            size = (w, h)
        elif tag == b"IDAT":
            idat += data
        pos += 12 + n
    w, h = size
    raw = zlib.decompress(idat)
    rows = []
    for y in range(h):
        line = raw[y * (3 * w + 1):(y + 1) * (3 * w + 1)]
        assert line[0] == 0  # no filter
        rows.append([tuple(line[1 + 3 * x:4 + 3 * x]) for x in range(w)])
    return w, h, rows


def test_a_rising_line_goes_from_bottom_left_to_top_right():
    w, h, px = _decode(png_line_chart([0.2, 0.5, 0.8], 120, 60))
    assert (w, h) == (120, 60)
    lit = [(x, y) for y in range(h) for x in range(w) if px[y][x] == LINE]
    assert lit
    left = min(lit)
    right = max(lit)
    assert left[1] > right[1]  # image y grows downwards: the line rises
    assert any(GRID in row for row in px)


def test_labels_move_the_plot_and_are_inked():
    plain = _decode(png_line_chart([0.4, 0.41]))[2]
    labelled = _decode(png_line_chart([0.4, 0.41], y_format=lambda v: f"{v * 100:.1f}c",
                                      x_labels=("05-01", "05-08")))[2]
    assert plain != labelled
    ink = {p for row in labelled for p in row} - {p for row in plain for p in row}
    assert ink  # the glyphs' colour appears only with labels


def test_edge_cases_still_draw():
    for values in ([], [0.5], [0.5, 0.5], [0.0, 1.0]):
        w, h, _ = _decode(png_line_chart(values, 40, 30))
        assert (w, h) == (40, 30)


def test_downsample_keeps_the_ends_and_the_count():
    pts = list(range(1000))
    out = downsample(pts, 60)
    assert len(out) == 60 and out[0] == 0 and out[-1] == 999 and out == sorted(out)
    assert downsample(pts[:5], 60) == pts[:5]


def test_the_market_surface_still_exports_the_encoder():
    from pm_mcp.surface import market

    assert market.png_line_chart is png_line_chart
