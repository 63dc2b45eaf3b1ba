"""Small image builders shared by the tests: encoded files made from MNIST digits and shapes."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image
from scipy import ndimage


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
