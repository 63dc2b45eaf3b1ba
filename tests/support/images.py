"""Small image builders shared by the tests: encoded files made from MNIST digits and shapes.

The fixtures built from them (``seven_png``, ``seven_frame``, ``blank_frame``...) live in
``tests/conftest.py``; the builders are here so a test can vary size and position.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image
from scipy import ndimage

# Clear MNIST test digits, by label: index into x_test. The tests' 7 is CLEAR[7].
CLEAR = {0: 3, 1: 2, 2: 1, 3: 18, 4: 4, 5: 15, 6: 21, 7: 0, 8: 61, 9: 7}


def encode(image: Image.Image, image_format: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def data_url(raw: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(raw).decode()}"


def big_digit(digit: np.ndarray, height: int = 200, thicken: int = 0) -> np.ndarray:
    """An MNIST digit blown up to a pen shape ``height`` pixels tall, coverage in [0, 1]."""
    big = ndimage.zoom(digit.astype(np.float32) / 255.0, height / 20.0, order=3) > 0.5
    if thicken:
        big = ndimage.binary_dilation(big, iterations=thicken)
    return ndimage.gaussian_filter(big.astype(np.float32), 0.7)


def on_canvas(shape: np.ndarray, size: int = 400, at: tuple[int, int] = (100, 100)) -> np.ndarray:
    canvas = np.zeros((size, size), dtype=np.float32)
    height, width = min(shape.shape[0], size - at[1]), min(shape.shape[1], size - at[0])
    canvas[at[1] : at[1] + height, at[0] : at[0] + width] = shape[:height, :width]
    return canvas


def transparent_png(coverage: np.ndarray, colour: tuple[int, int, int] = (0, 0, 0)) -> bytes:
    rgba = np.zeros((*coverage.shape, 4), dtype=np.uint8)
    rgba[..., :3] = colour
    rgba[..., 3] = np.rint(coverage * 255).astype(np.uint8)
    return encode(Image.fromarray(rgba, "RGBA"))


def white_png(coverage: np.ndarray) -> bytes:
    return encode(Image.fromarray(np.rint(255 * (1 - coverage)).astype(np.uint8), "L").convert("RGB"))


def dark_png(coverage: np.ndarray) -> bytes:
    return encode(Image.fromarray(np.rint(255 * coverage).astype(np.uint8), "L"))


def white_rgb(coverage: np.ndarray) -> Image.Image:
    """Dark ink on an opaque white RGB canvas."""
    return Image.fromarray(np.rint(255 * (1 - coverage)).astype(np.uint8), "L").convert("RGB")


# The colour modes and formats clients send a canvas in: coverage -> encoded file.
COLOUR_MODES = {
    "RGB white PNG": lambda coverage: encode(white_rgb(coverage)),
    "RGBA transparent PNG": lambda coverage: transparent_png(coverage),
    "L gray PNG": lambda coverage: encode(white_rgb(coverage).convert("L")),
    "P palette PNG": lambda coverage: encode(
        white_rgb(coverage).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    ),
    "JPEG q85": lambda coverage: encode(white_rgb(coverage), "JPEG", quality=85),
}


def drawing(digit: np.ndarray, height: int = 200, at: tuple[int, int] = (100, 100)) -> bytes:
    """An MNIST digit drawn ``height`` pixels tall on a transparent 400x400 canvas: what the page sends."""
    return transparent_png(on_canvas(big_digit(digit, height), at=at))


def blank_png(size: int = 300) -> bytes:
    """An empty transparent canvas: no digit to read."""
    return transparent_png(np.zeros((size, size), np.float32))


def row(mnist, digits: str, gap: int, height: int = 120) -> np.ndarray:
    """Clear digits side by side (a written number), ``gap`` pixels between their ink (negative: they touch)."""
    shapes = []
    for character in digits:
        shape = big_digit(mnist.x_test[CLEAR[int(character)]], height)
        columns = np.flatnonzero(shape.max(axis=0) > 0.05)
        shapes.append(shape[:, columns[0] : columns[-1] + 1])
    width = sum(s.shape[1] for s in shapes) + gap * (len(shapes) - 1) + 80
    canvas = np.zeros((max(s.shape[0] for s in shapes) + 40, width), np.float32)
    x = 40
    for shape in shapes:
        canvas[20 : 20 + shape.shape[0], x : x + shape.shape[1]] = np.maximum(
            canvas[20 : 20 + shape.shape[0], x : x + shape.shape[1]], shape
        )
        x += shape.shape[1] + gap
    return canvas
