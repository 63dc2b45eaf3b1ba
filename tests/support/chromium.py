"""Debian's Chromium for Playwright, drawing an MNIST digit on the page with the mouse, and PNGs as a canvas holds them.

Shared by the browser tests (``tests/system/test_browser.py``) and the benchmark that records the
page's own frames (``bench/page_frames.py``): every run of ink in every row of the digit
becomes one stroke. ``PNG_PIXELS`` is the in-page decoding the offline-recognizer tests and
benchmark share.
"""

from __future__ import annotations

import numpy as np

# JavaScript for page.evaluate: a base64 PNG drawn on a 2-D canvas and read back with getImageData,
# as the drawing pad holds a drawing. Evaluated functions declare it first: `${PNG_PIXELS}`.
PNG_PIXELS = """
async function pngPixels(png) {
  const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  return context.getImageData(0, 0, canvas.width, canvas.height);
}
"""

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
