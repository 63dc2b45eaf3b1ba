"""Generated drawings: digits in many hands, and the things people draw that are not digits.

Everything here is drawn the way a canvas sends it (ink on a transparent or white
ground, or chalk-light on dark), at canvas size, and goes through the server's own
``model.runtime.preprocess.prepare``: the model learns from exactly what it will be shown.

* ``font_digit_coverage``: a digit from a font with random size, pen width, slant,
  rotation and an elastic wobble (Simard et al. 2003), so no two are alike.
* ``NON_DIGIT_KINDS``: letters and words from handwriting fonts, symbols, simple shapes
  and random scribbles. Shapes that *are* digits stay out: a ring is a 0 and a single
  upright bar is a 1, so neither is drawn here, nor are letters that people write like
  digits (O, I, l, Z, S, B, b, g, q...).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from model.runtime.preprocess import prepare

NOT_A_DIGIT = 10  # the label of the reject class: the model's eleventh output

# Letters nobody mistakes for a digit; the rest (O o Q D I l i j J Z z S s B b G g q T t a d) are left out.
LETTERS = "ACEFHKLMNPRUVWXYcefhkmnpruvwxy"
SYMBOLS = "#@&%?$+=*<>~{}^€£§¶"  # no "!": without its dot (a speck) it is a 1
WORD_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def crop_to_ink(coverage: np.ndarray) -> np.ndarray:
    rows, columns = np.flatnonzero(coverage.max(axis=1) > 0.05), np.flatnonzero(coverage.max(axis=0) > 0.05)
    if len(rows) == 0:
        return coverage
    return coverage[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]


def render_text(text: str, font_path: str, rng: np.random.Generator, height: int) -> np.ndarray:
    """Text in a font as ink coverage in [0, 1], with a random pen width, slant and rotation, cropped."""
    size = max(12, int(height * rng.uniform(0.9, 1.3)))
    font = ImageFont.truetype(font_path, size)
    stroke = int(rng.integers(0, max(1, size // 14) + 1))
    width = int(size * (0.9 * len(text) + 1.2))
    image = Image.new("L", (width, int(size * 2)), 0)
    ImageDraw.Draw(image).text(
        (width / 2, size), text, font=font, fill=255, anchor="mm", stroke_width=stroke, stroke_fill=255
    )
    slant = float(rng.uniform(-0.3, 0.3))
    image = image.transform(
        image.size, Image.Transform.AFFINE, (1, slant, -slant * image.size[1] / 2, 0, 1, 0), Image.Resampling.BILINEAR
    )
    image = image.rotate(float(rng.uniform(-12, 12)), resample=Image.Resampling.BILINEAR, expand=True)
    return crop_to_ink(np.asarray(image, dtype=np.float32) / 255.0)


def elastic(coverage: np.ndarray, rng: np.random.Generator, strength: float = 0.04) -> np.ndarray:
    """A smooth random displacement of every pixel: the wobble of a real hand (Simard et al. 2003).

    The field is a 5x5 grid of random shifts upsampled bicubically: smooth at the scale
    of a stroke, so lines bend rather than break.
    """
    pad = int(max(coverage.shape) * strength * 1.5) + 2
    padded = np.pad(coverage, pad)
    height, width = padded.shape
    reach = max(height, width) * strength * rng.uniform(0.5, 1.5)
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    shifts = [smooth_field(rng, (width, height)) * reach for _ in range(2)]
    moved = ndimage.map_coordinates(padded, [rows + shifts[0], columns + shifts[1]], order=1, mode="constant")
    return crop_to_ink(np.clip(moved, 0, 1))


def smooth_field(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    coarse = Image.fromarray(rng.uniform(-1, 1, (5, 5)).astype(np.float32), "F")
    return np.asarray(coarse.resize(size, Image.Resampling.BICUBIC), dtype=np.float32)


def pen_width(coverage: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Thicken or thin the strokes a little: a stylus, a finger, a marker."""
    change = int(rng.integers(-1, 3)) * max(1, coverage.shape[0] // 60)
    if change > 0:
        return ndimage.grey_dilation(coverage, size=(change + 1, change + 1))
    if change < 0:
        thinner = ndimage.grey_erosion(coverage, size=(-change + 1, -change + 1))
        return thinner if (thinner > 0.5).sum() > 0.4 * (coverage > 0.5).sum() else coverage
    return coverage


def handwritten(text: str, font_path: str, rng: np.random.Generator) -> np.ndarray:
    """A character in a font as a hand would draw it: a random size, then the wobble, then the pen."""
    height = int(rng.integers(60, 200))
    return pen_width(elastic(render_text(text, font_path, rng, height), rng), rng)


def font_digit_coverage(label: int, font_path: str, rng: np.random.Generator) -> np.ndarray:
    return handwritten(str(label), font_path, rng)


# Non-digits ---------------------------------------------------------------------------------


def letter(fonts: list[str], rng: np.random.Generator) -> np.ndarray:
    text = LETTERS[int(rng.integers(0, len(LETTERS)))]
    return handwritten(text, pick(fonts, rng), rng)


def word(fonts: list[str], rng: np.random.Generator) -> np.ndarray:
    text = "".join(WORD_LETTERS[int(i)] for i in rng.integers(0, len(WORD_LETTERS), int(rng.integers(2, 6))))
    return elastic(render_text(text, pick(fonts, rng), rng, int(rng.integers(40, 110))), rng, strength=0.02)


def symbol(fonts: list[str], rng: np.random.Generator) -> np.ndarray:
    text = SYMBOLS[int(rng.integers(0, len(SYMBOLS)))]
    return handwritten(text, pick(fonts, rng), rng)


def pick(fonts: list[str], rng: np.random.Generator) -> str:
    return fonts[int(rng.integers(0, len(fonts)))]


def polygon_points(kind: str, rng: np.random.Generator) -> list[list[tuple[float, float]]]:
    """Strokes (lists of points in a unit square) for a simple shape or symbol."""
    t = np.linspace(0, 2 * np.pi, 60)
    if kind == "triangle":
        return [[(0.5, 0.05), (0.95, 0.9), (0.05, 0.9), (0.5, 0.05)]]
    if kind == "square":
        return [[(0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9), (0.1, 0.1)]]
    if kind == "star":
        angles = np.arange(11) * (4 * np.pi / 5) - np.pi / 2
        return [[(0.5 + 0.45 * math.cos(a), 0.5 + 0.45 * math.sin(a)) for a in angles]]
    if kind == "heart":
        x = 16 * np.sin(t) ** 3
        y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        return [list(zip(0.5 + x / 36, 0.5 + y / 36, strict=True))]
    if kind == "smiley":
        face = list(zip(0.5 + 0.45 * np.cos(t), 0.5 + 0.45 * np.sin(t), strict=True))
        mouth = [(0.5 + 0.25 * math.cos(a), 0.55 + 0.2 * math.sin(a)) for a in np.linspace(0.3, np.pi - 0.3, 20)]
        eyes = [[(0.35, 0.35), (0.35, 0.42)], [(0.65, 0.35), (0.65, 0.42)]]
        return [face, mouth, *eyes]
    if kind == "cross":
        return [[(0.1, 0.1), (0.9, 0.9)], [(0.9, 0.1), (0.1, 0.9)]]
    if kind == "hash":
        return [
            [(0.35, 0.05), (0.3, 0.95)],
            [(0.7, 0.05), (0.65, 0.95)],
            [(0.05, 0.35), (0.95, 0.35)],
            [(0.05, 0.68), (0.95, 0.68)],
        ]
    if kind == "arrow":
        return [[(0.05, 0.5), (0.95, 0.5)], [(0.65, 0.2), (0.95, 0.5), (0.65, 0.8)]]
    if kind == "spiral":
        r = np.linspace(0.02, 0.45, 80)
        a = np.linspace(0, 5 * np.pi, 80)
        return [list(zip(0.5 + r * np.cos(a), 0.5 + r * np.sin(a), strict=True))]
    if kind == "wave":
        x = np.linspace(0.05, 0.95, 60)
        return [list(zip(x, 0.5 + 0.2 * np.sin(x * rng.uniform(10, 20)), strict=True))]
    if kind == "zigzag":
        count = int(rng.integers(4, 8))
        return [[(0.05 + 0.9 * i / count, 0.3 if i % 2 else 0.7) for i in range(count + 1)]]
    if kind == "house":
        return [[(0.15, 0.45), (0.5, 0.1), (0.85, 0.45), (0.85, 0.9), (0.15, 0.9), (0.15, 0.45), (0.85, 0.45)]]
    if kind == "sun":
        ring = list(zip(0.5 + 0.2 * np.cos(t), 0.5 + 0.2 * np.sin(t), strict=True))
        rays = [
            [(0.5 + 0.28 * math.cos(a), 0.5 + 0.28 * math.sin(a)), (0.5 + 0.45 * math.cos(a), 0.5 + 0.45 * math.sin(a))]
            for a in np.arange(8) * np.pi / 4
        ]
        return [ring, *rays]
    if kind == "check":
        return [[(0.1, 0.55), (0.4, 0.9), (0.9, 0.1)]]
    if kind == "lightning":
        return [[(0.6, 0.02), (0.25, 0.55), (0.55, 0.5), (0.35, 0.98)]]
    raise ValueError(kind)


SHAPES = (
    "triangle",
    "square",
    "star",
    "heart",
    "smiley",
    "cross",
    "hash",
    "arrow",
    "spiral",
    "wave",
    "zigzag",
    "house",
    "sun",
    "check",
    "lightning",
)


def draw_strokes(strokes: list[list[tuple[float, float]]], rng: np.random.Generator, size: int) -> np.ndarray:
    """Strokes in a unit square drawn with a round pen at ``size`` pixels, squashed and turned a little."""
    aspect = rng.uniform(0.7, 1.3)
    width, height = int(size * min(1.0, aspect)), int(size * min(1.0, 1 / aspect))
    pen = max(2, int(size * rng.uniform(0.03, 0.09)))
    margin = pen * 2
    image = Image.new("L", (width + 2 * margin, height + 2 * margin), 0)
    draw = ImageDraw.Draw(image)
    jitter = size * 0.015
    for stroke in strokes:
        points = [
            (margin + x * width + rng.normal(0, jitter), margin + y * height + rng.normal(0, jitter)) for x, y in stroke
        ]
        draw.line(points, fill=255, width=pen, joint="curve")
        for x, y in (points[0], points[-1]):
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=255)
    image = image.rotate(float(rng.uniform(-20, 20)), resample=Image.Resampling.BILINEAR, expand=True)
    return crop_to_ink(np.asarray(image, dtype=np.float32) / 255.0)


def shape(rng: np.random.Generator) -> np.ndarray:
    kind = SHAPES[int(rng.integers(0, len(SHAPES)))]
    return elastic(draw_strokes(polygon_points(kind, rng), rng, int(rng.integers(80, 220))), rng, strength=0.03)


def scribble(rng: np.random.Generator) -> np.ndarray:
    """A random pen path: a smoothed random walk with many turns, sometimes two or three of them."""
    strokes = []
    for _ in range(int(rng.choice([1, 1, 1, 2, 3]))):
        count = int(rng.integers(12, 24))
        steps = rng.normal(0, 0.25, (count, 2)).cumsum(axis=0)
        steps = ndimage.gaussian_filter1d(steps, 1.0, axis=0)
        low, high = steps.min(axis=0), steps.max(axis=0)
        unit = (steps - low) / np.maximum(high - low, 1e-6)
        strokes.append([(float(x), float(y)) for x, y in unit])
    return draw_strokes(strokes, rng, int(rng.integers(80, 220)))


def scratch(rng: np.random.Generator) -> np.ndarray:
    """A scratched-out patch: dense back-and-forth strokes, what a child does to "erase"."""
    count = int(rng.integers(6, 14))
    points = [(float(i % 2), float(y)) for i, y in enumerate(np.sort(rng.uniform(0, 1, count)))]
    return draw_strokes([points], rng, int(rng.integers(80, 200)))


NonDigitKind = Callable[[list[str], np.random.Generator], np.ndarray]
NON_DIGIT_KINDS: dict[str, NonDigitKind] = {
    "letter": letter,
    "word": word,
    "symbol": symbol,
    "shape": lambda fonts, rng: shape(rng),
    "scribble": lambda fonts, rng: scribble(rng),
    "scratch": lambda fonts, rng: scratch(rng),
}
NON_DIGIT_SHARES = {"letter": 0.35, "word": 0.15, "symbol": 0.15, "shape": 0.15, "scribble": 0.15, "scratch": 0.05}


# On a canvas, through the server's preprocessing -----------------------------------------------


def on_canvas(coverage: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """The drawing as a canvas frame: placed at random with margins, ink on transparent, white or a board."""
    height, width = coverage.shape
    side = int(max(height, width) * rng.uniform(1.1, 2.0)) + 8
    top, left = int(rng.integers(0, side - height + 1)), int(rng.integers(0, side - width + 1))
    placed = np.zeros((side, side), dtype=np.float32)
    placed[top : top + height, left : left + width] = coverage[: side - top, : side - left]
    alpha = np.rint(placed * 255).astype(np.uint8)
    style = rng.random()
    if style < 0.45:  # the page: strokes on a transparent canvas
        rgba = np.zeros((side, side, 4), dtype=np.uint8)
        rgba[..., :3] = rng.integers(0, 256, 3)
        rgba[..., 3] = alpha
        return Image.fromarray(rgba, "RGBA")
    if style < 0.85:  # dark pen on white
        return Image.fromarray(255 - alpha, "L")
    return Image.fromarray(alpha, "L")  # light on dark: chalk, an inverted scan


def prepared(coverage: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """The 28x28 input the server would make of this drawing, or None if it would refuse it (blank, tiny)."""
    return prepare(on_canvas(coverage, rng)).image
