"""Realistic test inputs, generated: the kinds of image people really send us.

MNIST test digits (never trained on) are re-drawn big and off-centre on transparent and
white canvases, small in the corner of a kiosk screen, as chalk on a dark board and as
photos of paper, and in the shapes real handwriting arrives in (fat, thin, small, faint,
JPEG'd: ``model.training.degradations``); digits are also rendered from handwriting fonts of the families that
training never sees (``model.training.fonts.HELD_OUT``). Beside the digits: generated non-digits
(letters, words and symbols in held-out fonts, shapes and scribbles from unseen seeds)
and ambiguous shapes that are digits (a ring is a 0, a bar a 1). Every kind is seeded,
so the same call gives the same images. Used by the accuracy tests, ``model.training.honesty``
and ``bench/recognition.py``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from scipy import ndimage

from model.training import degradations
from model.training.data import Mnist
from model.training.fonts import HELD_OUT, by_family, held_out_files
from model.training.synthetic import NON_DIGIT_KINDS, NOT_A_DIGIT, draw_strokes, on_canvas


@dataclass(frozen=True)
class Sample:
    kind: str
    label: int  # 0-9, or NOT_A_DIGIT
    data: bytes  # an encoded image file, as a browser or an upload would send it
    family: str = ""  # the font family that drew it, for font samples


def encode(image: Image.Image, image_format: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def stroke_shape(digit: np.ndarray, height: int, rng: np.random.Generator) -> np.ndarray:
    """An MNIST digit re-drawn as a smooth pen shape ``height`` pixels tall, with a random pen width.

    Upscaling the 28x28 bytes and thresholding gives MNIST's own stroke at large size;
    eroding or dilating it changes the pen from a fine stylus to a finger.
    """
    factor = height / 20.0
    big = ndimage.zoom(digit.astype(np.float32) / 255.0, factor, order=3)
    shape = big > 0.5
    change = int(rng.integers(-int(0.9 * factor), int(0.8 * factor) + 1))
    if change < 0:
        # A thinner pen, unless thinning would break a stroke apart (no one draws that).
        thinner = ndimage.binary_erosion(shape, iterations=-change)
        if ndimage.label(thinner)[1] == ndimage.label(shape)[1] and thinner.sum() > 0.3 * shape.sum():
            shape = thinner
    elif change > 0:
        shape = ndimage.binary_dilation(shape, iterations=change)
    rows = np.flatnonzero(shape.any(axis=1))
    columns = np.flatnonzero(shape.any(axis=0))
    cropped = shape[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    return ndimage.gaussian_filter(cropped.astype(np.float32), 0.7)


def place(shape: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Put the shape at a random position on an empty canvas (coverage in [0, 1])."""
    canvas = np.zeros((size[1], size[0]), dtype=np.float32)
    height, width = shape.shape
    height, width = min(height, size[1]), min(width, size[0])
    top = int(rng.integers(0, size[1] - height + 1))
    left = int(rng.integers(0, size[0] - width + 1))
    canvas[top : top + height, left : left + width] = shape[:height, :width]
    return canvas


def paint(coverage: np.ndarray, ink: tuple[int, int, int], paper: np.ndarray | tuple[int, int, int]) -> np.ndarray:
    """Blend ink over paper by coverage; paper may be a colour or an (h, w, 3) float image."""
    paper_array = np.broadcast_to(np.asarray(paper, dtype=np.float32), (*coverage.shape, 3))
    alpha = coverage[..., None]
    return np.clip(alpha * np.asarray(ink, np.float32) + (1 - alpha) * paper_array, 0, 255).astype(np.uint8)


def canvas_transparent(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A browser canvas frame: coloured strokes on a fully transparent 400x400 ground."""
    coverage = place(stroke_shape(digit, int(rng.integers(110, 330)), rng), (400, 400), rng)
    colour = [(0, 0, 0), (20, 40, 160), (255, 255, 255), (200, 30, 30)][int(rng.integers(0, 4))]
    rgba = np.zeros((400, 400, 4), dtype=np.uint8)
    rgba[..., :3] = colour
    rgba[..., 3] = np.rint(coverage * 255).astype(np.uint8)
    return encode(Image.fromarray(rgba, "RGBA"))


def canvas_white(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A canvas filled white first, then drawn on in a dark pen."""
    coverage = place(stroke_shape(digit, int(rng.integers(110, 330)), rng), (400, 400), rng)
    return encode(Image.fromarray(paint(coverage, (10, 10, 30), (255, 255, 255))))


def kiosk_corner(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A big kiosk canvas with a small digit somewhere near its edge, thin strokes."""
    shape = stroke_shape(digit, int(rng.integers(60, 140)), rng)
    coverage = place(shape, (1080, 960), rng)
    rgba = np.zeros((960, 1080, 4), dtype=np.uint8)
    rgba[..., 3] = np.rint(coverage * 255).astype(np.uint8)
    return encode(Image.fromarray(rgba, "RGBA"))


def chalkboard(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """Light chalk on a dark board, with board texture, saved as JPEG."""
    coverage = place(stroke_shape(digit, int(rng.integers(120, 300)), rng), (400, 400), rng)
    board = np.asarray((30, 60, 40), np.float32) + rng.normal(0, 6, (400, 400, 1))
    chalk = coverage * rng.uniform(0.7, 1.0, coverage.shape)
    return encode(Image.fromarray(paint(chalk, (235, 235, 225), board)), "JPEG", quality=80)


def photo(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A phone photo of pencil on gray paper: uneven light, noise, JPEG, sometimes EXIF-rotated."""
    size = (480, 640)
    coverage = place(stroke_shape(digit, int(rng.integers(150, 380)), rng), size, rng)
    ys, xs = np.mgrid[0 : size[1], 0 : size[0]].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    gradient = (np.cos(angle) * xs / size[0] + np.sin(angle) * ys / size[1]) * rng.uniform(40, 90)
    paper = (rng.uniform(150, 210) + gradient - gradient.mean())[..., None] + rng.normal(0, 5, (size[1], size[0], 1))
    paper = np.repeat(paper, 3, axis=2) * np.asarray([1.0, 0.98, 0.93])
    pencil = tuple(int(v) for v in rng.uniform(40, 100, 1).repeat(3))
    image = Image.fromarray(paint(coverage * rng.uniform(0.55, 0.95), pencil, paper)).filter(
        ImageFilter.GaussianBlur(1)
    )
    quality = int(rng.integers(45, 80))
    if rng.random() < 0.3:
        exif = Image.Exif()
        exif[0x0112] = 6  # stored rotated; a viewer turns it 90 degrees clockwise
        return encode(image.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=quality, exif=exif)
    return encode(image, "JPEG", quality=quality)


def inverted_scan(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """An inverted scan: white digit on black, grayscale PNG, like MNIST blown up."""
    coverage = place(stroke_shape(digit, int(rng.integers(100, 300)), rng), (360, 360), rng)
    return encode(Image.fromarray(np.rint(coverage * 255).astype(np.uint8), "L"))


def glyph(
    label: int,
    rng: np.random.Generator,
    fonts: list[str],
    sizes: tuple[int, int],
    strokes: tuple[int, int],
    fill: int,
    tilt: float,
) -> np.ndarray:
    """A font's digit as ink coverage, random size, stroke and tilt, placed at random on a 400 px canvas.

    ``fill=0`` with a stroke leaves only the outline (a hollow "bubble" digit).
    """
    font = ImageFont.truetype(fonts[int(rng.integers(0, len(fonts)))], int(rng.integers(*sizes)))
    stroke = int(rng.integers(*strokes))
    image = Image.new("L", (420, 420), 0)
    draw = ImageDraw.Draw(image)
    draw.text((210, 210), str(label), font=font, fill=fill, anchor="mm", stroke_width=stroke, stroke_fill=255)
    image = image.rotate(float(rng.uniform(-tilt, tilt)), resample=Image.Resampling.BILINEAR)
    coverage = np.asarray(image, dtype=np.float32) / 255.0
    rows, columns = np.flatnonzero(coverage.any(axis=1)), np.flatnonzero(coverage.any(axis=0))
    return place(coverage[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1], (400, 400), rng)


def font_digit(label: int, rng: np.random.Generator, fonts: list[str]) -> bytes:
    """A digit in a handwriting font, random size, weight, slant and place, on white or transparent."""
    coverage = glyph(label, rng, fonts, (90, 260), (0, 6), fill=255, tilt=10)
    if rng.random() < 0.5:
        rgba = np.zeros((400, 400, 4), dtype=np.uint8)
        rgba[..., 3] = np.rint(coverage * 255).astype(np.uint8)
        return encode(Image.fromarray(rgba, "RGBA"))
    return encode(Image.fromarray(paint(coverage, (0, 0, 0), (255, 255, 255))))


def outline_digit(label: int, rng: np.random.Generator, fonts: list[str]) -> bytes:
    """A hollow "bubble" digit: only the outline of a handwriting-font glyph, tilted up to 20 degrees.

    A style MNIST has none of (the committed model reads about 85 % of them), so it
    stands for a class whose handwriting the model has to learn: the retrain bench and
    tests use it.
    """
    coverage = glyph(label, rng, fonts, (160, 280), (3, 7), fill=0, tilt=20)
    return encode(Image.fromarray(paint(coverage, (0, 0, 0), (255, 255, 255))))


DRAWN_KINDS: dict[str, Callable[[np.ndarray, np.random.Generator], bytes]] = {
    "canvas_transparent": canvas_transparent,
    "canvas_white": canvas_white,
    "kiosk_corner": kiosk_corner,
    "chalkboard": chalkboard,
    "photo": photo,
    "inverted_scan": inverted_scan,
    # The shapes real handwriting arrives in (model.training.degradations): fat, thin, small, faint, JPEG'd.
    **{family: degradations.drawer(family) for family in degradations.FAMILIES},
}
KINDS = (*DRAWN_KINDS, "font")
# Each kind draws from its own seeded random stream, numbered once and for all, so adding a kind
# leaves every other kind's samples (and the floors measured on them) as they were.
STREAMS = {
    **{kind: number for number, kind in enumerate(list(DRAWN_KINDS)[:6])},
    "font": 6,
    "outline": 7,
    "non_digit": 8,
    "ambiguous": 9,
    **{family: 10 + number for number, family in enumerate(degradations.FAMILIES)},
}


def samples(mnist: Mnist, per_kind: int = 200, seed: int = 0) -> Iterator[Sample]:
    """``per_kind`` images of every kind, from MNIST test digits and handwriting fonts."""
    for kind, draw in DRAWN_KINDS.items():
        rng = np.random.default_rng([seed, STREAMS[kind]])
        for index in rng.choice(len(mnist.y_test), size=per_kind, replace=False):
            yield Sample(kind, int(mnist.y_test[index]), draw(mnist.x_test[index], rng))
    families = by_family(HELD_OUT)
    rng = np.random.default_rng([seed, STREAMS["font"]])
    for number in range(per_kind):
        label = number % 10
        family, files = families[number // 10 % len(families)]
        yield Sample("font", label, font_digit(label, rng, files), family)


def outline_samples(count: int, seed: int = 0) -> Iterator[Sample]:
    """``count`` outline digits, labels cycling 0-9, seeded."""
    fonts = held_out_files()
    rng = np.random.default_rng([seed, STREAMS["outline"]])
    for number in range(count):
        yield Sample("outline", number % 10, outline_digit(number % 10, rng, fonts))


def non_digit_samples(count: int, seed: int = 0) -> Iterator[Sample]:
    """``count`` generated non-digits, the kinds in turn: letters, words and symbols in held-out fonts,
    shapes, scribbles and scratches from seeds training never used, as PNG canvas frames."""
    fonts = held_out_files()
    rng = np.random.default_rng([seed, STREAMS["non_digit"]])
    kinds = list(NON_DIGIT_KINDS)
    for number in range(count):
        kind = kinds[number % len(kinds)]
        yield Sample(kind, NOT_A_DIGIT, encode(on_canvas(NON_DIGIT_KINDS[kind](fonts, rng), rng)))


def ambiguous_samples(count: int, seed: int = 0) -> Iterator[Sample]:
    """Shapes that are digits though they look like plain shapes: rings (0) and upright bars (1)."""
    rng = np.random.default_rng([seed, STREAMS["ambiguous"]])
    for number in range(count):
        if number % 2 == 0:
            width = rng.uniform(0.5, 0.9)
            angles = np.linspace(0, 2 * np.pi, 50)
            ring = [(0.5 + width / 2 * np.cos(a), 0.5 + 0.5 * np.sin(a)) for a in angles]
            yield Sample("ring", 0, encode(on_canvas(draw_strokes([ring], rng, int(rng.integers(80, 220))), rng)))
        else:
            lean = rng.uniform(-0.12, 0.12)
            bar = [(0.5 - lean, 0.0), (0.5 + lean, 1.0)]
            yield Sample("bar", 1, encode(on_canvas(draw_strokes([bar], rng, int(rng.integers(80, 220))), rng)))
