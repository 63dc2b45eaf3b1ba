"""Record the page's own frames: what Chromium sends while a digit is drawn on it, byte for byte.

The page crops each frame to the ink, scales it to at most 256 px and sends its PNG bytes
as a binary Socket.IO attachment (``frontend/js/pad.js``). The live benchmark's ``page``
frame set is these recordings, so "the page's frames" means what the page sends today,
not a full canvas as it once sent. Digits are MNIST test images drawn with the mouse, as
in the browser tests; from each drawing a few frames are kept, spread from its first
strokes to its last, so the set has early (little ink) and late frames in one proportion.

    python -m bench.page_frames            # rewrites bench/frames/page-*.png
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import sync_playwright

from model.training.data import load_mnist
from tests.support.chromium import CHROMIUM, CHROMIUM_FLAGS, draw_with_mouse, strokes
from tests.support.images import CLEAR
from tests.support.server_process import running_server

FRAMES = Path(__file__).resolve().parent / "frames"
DIGITS = [CLEAR[label] for label in range(8)]  # MNIST test indices: one each of 0 to 7, the tests' clear ones
KEPT_PER_DRAWING = 4


def spread(frames: list[bytes], count: int) -> list[bytes]:
    """``count`` frames evenly spaced from the first to the last (the final drawing)."""
    if len(frames) <= count:
        return frames
    return [frames[round(i * (len(frames) - 1) / (count - 1))] for i in range(count)]


def recorder(sent: list) -> Callable:
    """A ``websocket`` listener that appends every message the page sends to ``sent``."""

    def on_websocket(socket) -> None:
        socket.on("framesent", lambda payload: sent.append(payload))

    return on_websocket


def record(base: str) -> list[list[bytes]]:
    """Draw each digit on a fresh page; every binary frame the page sent, per drawing."""
    digits = load_mnist().x_test
    drawings = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        for index in DIGITS:
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            sent: list[bytes] = []
            page.on("websocket", recorder(sent))
            page.goto(base)
            page.wait_for_selector("[data-testid=connection][data-state=connected]")
            draw_with_mouse(page, strokes(digits[index], page.get_by_test_id("pad").bounding_box()))
            page.wait_for_timeout(1500)  # the last frame is sent after the pen lifts
            drawings.append([payload for payload in sent if isinstance(payload, bytes)])
            page.close()
        browser.close()
    return drawings


def main() -> None:
    with tempfile.TemporaryDirectory() as data, running_server(Path(data)) as base:
        drawings = record(base)
    for old in FRAMES.glob("page-*.png"):
        old.unlink()
    for number, sent in enumerate(drawings):
        assert sent, "the page sent no binary frame"
        for step, png in enumerate(spread(sent, KEPT_PER_DRAWING)):
            (FRAMES / f"page-{number}-{step}.png").write_bytes(png)
        print(f"drawing {number}: {len(sent)} frames sent, {len(sent[-1]):,} bytes the last")


if __name__ == "__main__":
    main()
