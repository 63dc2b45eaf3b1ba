"""Debian's Chromium for Playwright, and drawing an MNIST digit on the page with the mouse.

Shared by the browser tests (``tests/system/test_browser.py``) and the benchmark that records the
page's own frames (``bench/page_frames.py``): every run of ink in every row of the digit
becomes one stroke.
"""

from __future__ import annotations

import numpy as np

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]


def strokes(digit: np.ndarray, box: dict, margin: float = 0.15) -> list[list[tuple[float, float]]]:
    """Horizontal strokes over every run of ink in each row of an MNIST digit (or a row of digits), on the page."""
    ink = digit > 100
    rows, columns = np.nonzero(ink)
    top, left = rows.min(), columns.min()
    span = max(rows.max() - top, columns.max() - left) + 1
    size = min(box["width"], box["height"]) * (1 - 2 * margin)
    cell = size / span
    origin_x = box["x"] + box["width"] * margin
    origin_y = box["y"] + box["height"] * margin
    paths = []
    width = ink.shape[1]
    for row in range(top, rows.max() + 1):
        line = ink[row]
        column = 0
        while column < width:
            if not line[column]:
                column += 1
                continue
            start = column
            while column < width and line[column]:
                column += 1
            y = origin_y + (row - top + 0.5) * cell
            paths.append([(origin_x + (start - left + 0.3) * cell, y), (origin_x + (column - left - 0.3) * cell, y)])
    return paths


def draw_with_mouse(page, paths) -> None:
    for path in paths:
        page.mouse.move(*path[0])
        page.mouse.down()
        for x, y in path[1:]:
            page.mouse.move(x, y, steps=4)
        page.mouse.up()
