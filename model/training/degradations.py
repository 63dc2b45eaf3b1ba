"""The shapes real handwriting arrives in: fat, thin, blurred, small, faint, JPEG'd.

A fat marker photographed out of focus, a finger on a coarse touch screen, a thumbnail
upload scaled back up: none of it looks like a clean canvas stroke, and a model that only
met clean strokes reads it badly and confidently (issue 24 measured 93.9 % on such digits).
Each degradation is a family of parameters (``Degradation``); a family's ``draw`` picks one
at random within its ranges, and ``render`` applies it to a digit's ink. The realistic test
kinds (``model.training.realistic``, from MNIST *test* writers) and the generated training
and validation sets (``model.training.training_data``, from MNIST *training* writers) use the
same families, so the model learns the degradations, never the test writers.

The order follows the physics: the pen (``pen``: dilation or erosion of the ink), then
the page placed on a canvas, then the capture (``resolution``: shrunk until the digit is
8-16 px tall and scaled back up, ``blur``: soft edges or focus), then the ink's strength
against the paper (``contrast``), then the file (``jpeg_quality``).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

PAPER = 245  # the paper's brightness: a little off white, as scans and screenshots are


@dataclass(frozen=True)
class Degradation:
    """One draw from a family; every field is a physical parameter a test can check."""

    height: int  # the digit's ink height on the canvas, in pixels
    pen: int = 0  # dilation (> 0, a fatter pen) or erosion (< 0, a thinner one), in canvas pixels
    resolution: int = 0  # the digit's height, in pixels, at the capture's resolution; 0: full
    blur: float = 0.0  # Gaussian sigma of soft edges or focus, in canvas pixels
    contrast: float = 1.0  # ink darkness as a share of the paper's brightness: 1 is black on paper
    jpeg_quality: int = 0  # 0 saves a PNG


def thick_blurred(rng: np.random.Generator) -> Degradation:
    """A fat marker or a fingertip, photographed or scanned out of focus."""
    height = int(rng.integers(140, 300))
    return Degradation(
        height=height,
        pen=round(height * rng.uniform(0.035, 0.08)),
        blur=float(height * rng.uniform(0.012, 0.035)),
        contrast=float(rng.uniform(0.6, 1.0)),
        jpeg_quality=int(rng.integers(50, 90)) if rng.random() < 0.5 else 0,
    )


def low_resolution(rng: np.random.Generator) -> Degradation:
    """A digit only 8-16 px tall when captured (a thumbnail, a coarse touch grid), scaled back up."""
    return Degradation(
        height=int(rng.integers(120, 320)),
        pen=0,
        resolution=int(rng.integers(8, 17)),
        blur=float(rng.uniform(0.0, 2.0)),
        contrast=float(rng.uniform(0.7, 1.0)),
    )


def thin_faint(rng: np.random.Generator) -> Degradation:
    """A hard pencil or a fine stylus, pale against the paper, through a cheap camera's JPEG."""
    height = int(rng.integers(140, 300))
    return Degradation(
        height=height,
        pen=-int(rng.integers(1, 4)),
        blur=float(rng.uniform(0.0, 1.2)),
        contrast=float(rng.uniform(0.25, 0.5)),
        jpeg_quality=int(rng.integers(30, 75)),
    )


def thumbnail(rng: np.random.Generator) -> Degradation:
    """All at once, as issue 24 met it: a fat stroke, captured small, scaled up soft, JPEG'd."""
    height = int(rng.integers(140, 300))
    return Degradation(
        height=height,
        pen=round(height * rng.uniform(0.025, 0.07)),
        resolution=int(rng.integers(8, 15)),
        blur=float(height * rng.uniform(0.005, 0.02)),
        contrast=float(rng.uniform(0.45, 0.95)),
        jpeg_quality=int(rng.integers(25, 70)),
    )


FAMILIES: dict[str, Callable[[np.random.Generator], Degradation]] = {
    "thick_blurred": thick_blurred,
    "low_resolution": low_resolution,
    "thin_faint": thin_faint,
    "thumbnail": thumbnail,
}


def ink(digit: np.ndarray, height: int) -> np.ndarray:
    """An MNIST digit's strokes at ``height`` pixels: its own pen, smooth, as a boolean mask.

    MNIST fits digits in a 20 px box of 28, so the 28x28 image is zoomed by ``height / 20``.
    """
    big = ndimage.zoom(digit.astype(np.float32) / 255.0, height / 20.0, order=3)
    return big > 0.5


def with_pen(shape: np.ndarray, pen: int) -> np.ndarray:
    """Dilate (``pen`` > 0) or erode the ink; erosion stops before a stroke would break apart."""
    if pen > 0:
        # Every pixel within ``pen`` of the ink: a round pen, at one distance transform's cost.
        return ndimage.distance_transform_edt(~np.pad(shape, pen))[pen:-pen, pen:-pen] <= pen
    parts = ndimage.label(shape)[1]
    for iterations in range(-pen, 0, -1):
        thinner = ndimage.binary_erosion(shape, iterations=iterations)
        if ndimage.label(thinner)[1] == parts and thinner.sum() > 0.25 * shape.sum():
            return thinner
    return shape


def captured(coverage: np.ndarray, degradation: Degradation) -> np.ndarray:
    """The coverage as a camera or a small screen captures it: shrunk to ``resolution``, scaled back, blurred."""
    if degradation.resolution:
        size = (coverage.shape[1], coverage.shape[0])
        factor = degradation.resolution / degradation.height
        small = (max(2, round(size[0] * factor)), max(2, round(size[1] * factor)))
        image = Image.fromarray(coverage.astype(np.float32), "F")
        coverage = np.asarray(
            image.resize(small, Image.Resampling.BOX).resize(size, Image.Resampling.BILINEAR), dtype=np.float32
        )
    if degradation.blur > 0:
        coverage = ndimage.gaussian_filter(coverage, degradation.blur)
    return np.clip(coverage, 0.0, 1.0)


def render(digit: np.ndarray, degradation: Degradation, rng: np.random.Generator) -> bytes:
    """The digit drawn with the degradation's pen, placed at random, captured, saved: an image file."""
    shape = with_pen(ink(digit, degradation.height), degradation.pen)
    rows, columns = np.flatnonzero(shape.any(axis=1)), np.flatnonzero(shape.any(axis=0))
    cropped = shape[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    stroke = ndimage.gaussian_filter(cropped.astype(np.float32), 0.7)
    side = int(max(stroke.shape) * rng.uniform(1.3, 1.8)) + 8
    canvas = np.zeros((side, side), dtype=np.float32)
    top = int(rng.integers(0, side - stroke.shape[0] + 1))
    left = int(rng.integers(0, side - stroke.shape[1] + 1))
    canvas[top : top + stroke.shape[0], left : left + stroke.shape[1]] = stroke
    coverage = captured(canvas, degradation)
    gray = np.rint(PAPER * (1.0 - degradation.contrast * coverage)).astype(np.uint8)
    buffer = io.BytesIO()
    if degradation.jpeg_quality:
        Image.fromarray(gray, "L").convert("RGB").save(buffer, format="JPEG", quality=degradation.jpeg_quality)
    else:
        Image.fromarray(gray, "L").save(buffer, format="PNG")
    return buffer.getvalue()


def drawer(family: str) -> Callable[[np.ndarray, np.random.Generator], bytes]:
    """A realistic kind for ``model.training.realistic``: an MNIST digit rendered with a fresh draw of the family."""
    draw = FAMILIES[family]

    def draw_kind(digit: np.ndarray, rng: np.random.Generator) -> bytes:
        return render(digit, draw(rng), rng)

    draw_kind.__name__ = family
    draw_kind.__doc__ = draw.__doc__
    return draw_kind
