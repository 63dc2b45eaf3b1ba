"""Turn any decoded image into what MNIST looks like, the way MNIST itself was made.

MNIST digits are white ink on black, anti-aliased, fitted into a 20x20 box keeping
their aspect ratio and placed in 28x28 by their centre of mass. A canvas frame, an
upload or a photo of paper looks nothing like that; the steps below get there:

1. ``ink_map``: downscale to a working size, composite alpha, detect polarity, divide
   out the paper (uneven light, texture) and scale the ink to [0, 1] above the noise.
2. ``select_digit``: keep the connected strokes that form the digit, drop specks.
3. ``to_mnist``: crop, even out the stroke width, fit 20x20, centre by mass in 28x28.

All analysis runs on at most ``WORK_SIZE`` pixels a side, so a 1000 px kiosk canvas
costs about what a small one does; a digit that is small in a big image is re-read
from the original pixels so it keeps its detail.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from model.runtime import filters

# The written contract: every constant lives in preprocess.json, which the browser's port
# (frontend/js/preprocess.js, the offline fallback) reads too, so the two cannot drift apart.
CONTRACT_PATH = Path(__file__).with_name("preprocess.json")
CONTRACT: dict[str, Any] = {
    key: value for key, value in json.loads(CONTRACT_PATH.read_text()).items() if key != "about"
}

WORK_SIZE = CONTRACT["work_size"]
BOX_SIZE = CONTRACT["box_size"]
CANVAS_SIZE = CONTRACT["canvas_size"]
MNIST_CENTRE = CONTRACT["mnist_centre"]  # where MNIST puts the centre of mass (row, column)
MNIST_STROKE = CONTRACT["mnist_stroke"]  # median stroke width of MNIST digits, in 20x20-box pixels
INK_THRESHOLD = CONTRACT["ink_threshold"]  # ink above this is part of a stroke
# The faintest stroke we still call ink, as a share of the paper's brightness. Light pencil photographed
# on gray paper can be barely 10 % darker than the paper around it; blank paper photos (uneven light, sensor
# noise, JPEG) stay under this once the noise floor is taken off.
MIN_CONTRAST = CONTRACT["min_contrast"]
MIN_DIGIT_SHARE = CONTRACT["min_digit_share"]  # a mark smaller than this share of the long side is a dot
SMALL_DIGIT_PIXELS = CONTRACT["small_digit_pixels"]  # below this many working pixels, re-read from the original


@dataclass(frozen=True)
class Prepared:
    """The model's input, or why there is none."""

    image: np.ndarray | None  # (28, 28) uint8, ink high; None when no digit was found
    reason: str | None = None  # "blank", "too_faint" or "too_small" when image is None
    box: tuple[int, int, int, int] | None = None  # the digit in source pixels: left, top, right, bottom


class NoInk(Exception):
    """Raised inside the pipeline when there is nothing to classify; carries the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def prepare(image: Image.Image) -> Prepared:
    """The MNIST-style 28x28 input for the single digit in ``image``."""
    try:
        ink, scale = ink_map(image)
        mask = select_digit(ink)
        box = bounding_box(mask)
        if scale > 1 and max(box[2] - box[0], box[3] - box[1]) < SMALL_DIGIT_PIXELS:
            return prepare_region(image, source_box(box, scale, image.size, margin=CONTRACT["small_digit_margin"]))
        return Prepared(to_mnist(ink * mask, box), box=source_box(box, scale, image.size))
    except NoInk as no_ink:
        return Prepared(None, no_ink.reason)


def prepare_region(image: Image.Image, region: tuple[int, int, int, int]) -> Prepared:
    """Re-read a small digit from the original pixels around it, for full detail."""
    crop = image.crop(region)
    ink, scale = ink_map(crop)
    mask = select_digit(ink)
    box = bounding_box(mask)
    left, top = region[:2]
    x0, y0, x1, y1 = source_box(box, scale, crop.size)
    return Prepared(to_mnist(ink * mask, box), box=(x0 + left, y0 + top, x1 + left, y1 + top))


def ink_map(image: Image.Image, max_side: int = WORK_SIZE) -> tuple[np.ndarray, float]:
    """Ink in [0, 1] (1 = full stroke) at working size, and the source pixels per working pixel.

    A canvas frame is often strokes on a fully transparent ground. Its colour channels
    are meaningless where alpha is zero (usually black, so naive gray is black on
    black); the alpha channel alone is the drawing, whatever colour the pen had. An
    image that is mostly opaque is composited on white instead, as a browser shows it.
    """
    factor = max(1, math.ceil(max(image.size) / max_side))
    alpha = alpha_band(image)
    if alpha is not None:
        coverage = working_array(alpha, factor)
        if (
            coverage.min() < CONTRACT["transparent_max_coverage"]
            and (coverage > 0.5).mean() < CONTRACT["transparent_max_opaque_share"]
        ):
            return stretch(coverage), float(factor)
        gray = 1.0 - coverage + working_array(gray_band(image), factor) * coverage
    else:
        gray = working_array(gray_band(image), factor)
    return stretch(ink_on_ground(gray)), float(factor)


def alpha_band(image: Image.Image) -> Image.Image | None:
    """The alpha channel, for images that have one (including palette and colour-key transparency)."""
    if image.mode in ("RGBA", "LA", "RGBa", "La", "PA"):
        return image.getchannel("A")
    if "transparency" in image.info:
        return image.convert("RGBA").getchannel("A")
    return None


def gray_band(image: Image.Image) -> Image.Image:
    """The image's luminance as an ``L`` band.

    A palette image (GIF, a small PNG) is mapped through a table of its palette's grays
    in one look-up per pixel: ``convert("L")`` works out each pixel's gray from its
    colour, about three times the cost (0.3 ms for 500x500).
    """
    if image.mode == "P":
        return image.point(palette_grays(image), "L")
    return image.convert("L")


def palette_grays(image: Image.Image) -> list[int]:
    """Pillow's own gray of each of the 256 palette entries, so the look-up equals ``convert("L")`` exactly."""
    entries = Image.frombytes("P", (256, 1), bytes(range(256)))
    entries.putpalette(image.getpalette("RGB") or [], "RGB")
    return list(entries.convert("L").tobytes())


def working_array(band: Image.Image, factor: int) -> np.ndarray:
    """One band as float32 in [0, 1], box-reduced by an integer factor: Pillow's fastest downscale."""
    if factor > 1:
        band = band.reduce(factor)
    return np.asarray(band, dtype=np.float32) / 255.0


def ink_on_ground(gray: np.ndarray) -> np.ndarray:
    """Darkness of the ink against its ground, whatever the ground's polarity and lighting.

    A digital canvas has one exact ground value at its whole border and in most pixels;
    it needs neither the polarity test nor the paper estimate (both fit lighting that is
    not there, and the paper estimate dims the inside of very thick strokes). Anything
    else (paper, photos, JPEG noise at the border) takes the full path.
    """
    ground = uniform_ground(gray)
    if ground is None:
        if light_on_dark(gray):  # chalkboard, inverted scan
            gray = 1.0 - gray
        return remove_paper(gray)
    if ground == gray.min() and ground != gray.max():  # light strokes on a dark canvas
        gray, ground = 1.0 - gray, 1.0 - ground
    return ink_against(gray, np.float32(ground))  # a float64 scalar would turn every later array float64


def uniform_ground(gray: np.ndarray) -> float | None:
    """The ground's value when every border pixel and most pixels have exactly it, and it is an extreme."""
    border = np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
    ground = border[0]
    if not (border == ground).all() or ground not in (gray.min(), gray.max()):
        return None
    if np.count_nonzero(gray == ground) < gray.size // 2:
        return None
    return float(ground)


def light_on_dark(gray: np.ndarray) -> bool:
    """True when the rare pixels (the ink) are brighter than the common ones (the ground).

    Judged after taking out a fitted lighting plane, not by an absolute level: gray paper
    in shadow is darker than 0.5 and still a light ground, and a lighting gradient spans
    more gray levels than faint pencil does.
    """
    plane = plane_fit(gray.shape) @ gray[::4, ::4].ravel()
    sample = gray[::2, ::2]
    rows, columns = np.arange(0, gray.shape[0], 2)[:, None], np.arange(0, gray.shape[1], 2)
    low, median, high = quantiles(sample - (plane[0] + plane[1] * rows + plane[2] * columns), (0.01, 0.5, 0.99))
    return high - median > median - low


@functools.lru_cache(maxsize=64)
def plane_fit(shape: tuple[int, int]) -> np.ndarray:
    """The least-squares solver of a plane over every fourth pixel: the same matrix for every image of a size."""
    rows, columns = np.mgrid[0 : shape[0] : 4, 0 : shape[1] : 4]
    return np.linalg.pinv(np.column_stack([np.ones(rows.size), rows.ravel(), columns.ravel()]))


def quantiles(values: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """``np.quantile(values, qs)`` (linear interpolation) with one partition: a fraction of its overhead.

    A canvas is mostly its empty ground, all one value and the smallest: when every order
    statistic asked for lies among the copies of the minimum, each quantile is the minimum,
    found in two passes instead of a partition (nearly half of an uncropped canvas's preprocessing).
    """
    flat = values.ravel()
    positions = np.asarray(qs) * (flat.size - 1)
    low, high = np.floor(positions).astype(int), np.ceil(positions).astype(int)
    smallest = flat.min()
    if high.max() < np.count_nonzero(flat == smallest):
        return np.full(len(positions), smallest, dtype=np.float64)  # the float64 the general path returns
    ordered = np.partition(flat, np.unique(np.concatenate([low, high])))
    return ordered[low] + (ordered[high] - ordered[low]) * (positions - low)


def paper_window(gray: np.ndarray) -> int:
    """A window wider than any stroke and narrower than the lighting changes."""
    return max(CONTRACT["min_paper_window"], max(gray.shape) // CONTRACT["paper_window_share"])


def remove_paper(gray: np.ndarray) -> np.ndarray:
    """Darkness relative to the local paper brightness: uneven light and gray paper cancel out.

    The paper is estimated as a fitted lighting plane plus the local maximum, over a window
    wider than any stroke, of what the plane leaves, smoothed; dividing by it (not
    subtracting) also evens out the contrast of ink in shadow.
    """
    window = paper_window(gray)
    lighting = lighting_plane(gray, window)
    highest = filters.maximum_filter(gray - lighting, window)
    return ink_against(gray, lighting + filters.uniform_filter(highest, window))


def lighting_plane(gray: np.ndarray, window: int) -> np.ndarray:
    """The plane that fits the paper's brightness best: least squares over every fourth pixel of a local
    maximum (which takes the strokes out, so a big digit does not tilt it), on that coarse grid.

    ``remove_paper`` takes its local maximum after taking this plane out: a local maximum
    over a lighting gradient lies above the paper by the gradient times half the window, and,
    divided by paper twice as bright at one corner as at the other, that excess read as
    uneven faint ink over the whole sheet; the noise floor it raised hid faint strokes on
    unevenly lit paper (``too_faint``, or ``blank``).
    """
    paper = filters.maximum_filter(gray[::4, ::4], max(1, window // 4))
    a, b, c = plane_fit(gray.shape) @ paper.ravel()
    rows, columns = np.arange(gray.shape[0], dtype=np.float32)[:, None], np.arange(gray.shape[1], dtype=np.float32)
    return np.float32(a) + np.float32(b) * rows + np.float32(c) * columns  # float32 throughout


def ink_against(gray: np.ndarray, paper: np.ndarray | float) -> np.ndarray:
    """1 - gray / paper in [0, 1], after a light blur: sensor noise and JPEG blocks shrink, strokes stay."""
    return np.clip(
        1.0 - filters.uniform_filter(gray, CONTRACT["blur_size"]) / np.maximum(paper, CONTRACT["min_paper"]),
        0.0,
        1.0,
    )


def stretch(ink: np.ndarray) -> np.ndarray:
    """Map the noise floor to 0 and the strokes' typical darkness to 1, so pencil counts as ink."""
    sample = ink[::2, ::2]  # statistics of the ground: a quarter of the pixels is plenty
    median = float(quantiles(sample, (0.5,))[0])
    noise = 1.4826 * float(quantiles(np.abs(sample - median), (0.5,))[0])
    floor = median + max(CONTRACT["noise_sigmas"] * noise, CONTRACT["min_noise_floor"])
    strokes = ink[ink > floor]
    if strokes.size == 0:
        raise NoInk("blank")
    peak = float(quantiles(strokes, (CONTRACT["stroke_quantile"],))[0])
    if peak - floor < MIN_CONTRAST:
        raise NoInk("too_faint")
    return np.clip((ink - floor) / (peak - floor), 0.0, 1.0)


def select_digit(ink: np.ndarray) -> np.ndarray:
    """A 0/1 mask of the strokes that make up the digit.

    Components are taken largest first; each joins when it is big or lies near the
    strokes kept so far, so the broken bar of a 5 stays while a speck of dust in the
    corner goes.
    """
    strokes = filters.components(ink > INK_THRESHOLD)
    count = strokes.count
    if count == 0:
        raise NoInk("blank")
    masses = np.bincount(strokes.labels.ravel(), weights=ink.ravel(), minlength=count + 1)[1:]
    order = np.argsort(masses)[::-1]
    kept = [order[0]]
    box = strokes.boxes[order[0]]
    total = masses.sum()
    for index in order[1:]:
        if masses[index] < CONTRACT["component_min_share"] * total:
            break
        candidate = strokes.boxes[index]
        reach = CONTRACT["component_reach"] * max(box[2] - box[0], box[3] - box[1])
        if masses[index] > CONTRACT["component_big_share"] * masses[order[0]] or boxes_near(box, candidate, reach):
            kept.append(index)
            box = (
                min(box[0], candidate[0]),
                min(box[1], candidate[1]),
                max(box[2], candidate[2]),
                max(box[3], candidate[3]),
            )
    if max(box[2] - box[0], box[3] - box[1]) < max(CONTRACT["min_digit_pixels"], MIN_DIGIT_SHARE * max(ink.shape)):
        raise NoInk("too_small")
    if len(kept) == count:  # every stroke is the digit (the usual drawing): no look-up per pixel
        digit = strokes.labels > 0
    else:
        keep = np.zeros(count + 1, dtype=bool)
        keep[np.asarray(kept) + 1] = True
        digit = keep[strokes.labels]
    # Take back the faint anti-aliased rim that the threshold cut off.
    return filters.grown(digit).astype(np.float32)


def boxes_near(a: tuple[int, int, int, int], b: tuple[int, int, int, int], reach: float) -> bool:
    gap_x = max(b[0] - a[2], a[0] - b[2], 0)
    gap_y = max(b[1] - a[3], a[1] - b[3], 0)
    return max(gap_x, gap_y) <= reach


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Left, top, right, bottom (exclusive) of the non-zero pixels."""
    rows = np.flatnonzero(mask.any(axis=1))
    columns = np.flatnonzero(mask.any(axis=0))
    return int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1


def source_box(
    box: tuple[int, int, int, int], scale: float, size: tuple[int, int], margin: float = 0.0
) -> tuple[int, int, int, int]:
    """A working-size box in source pixels, grown by ``margin`` of its long side, clipped to the image."""
    pad = margin * max(box[2] - box[0], box[3] - box[1])
    left, top = (box[0] - pad) * scale, (box[1] - pad) * scale
    right, bottom = (box[2] + pad) * scale, (box[3] + pad) * scale
    return (max(0, int(left)), max(0, int(top)), min(size[0], int(np.ceil(right))), min(size[1], int(np.ceil(bottom))))


def to_mnist(ink: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Crop, normalise the stroke width, fit 20x20 keeping aspect ratio, centre by mass in 28x28."""
    left, top, right, bottom = box
    crop = even_stroke_width(ink[top:bottom, left:right])
    height, width = crop.shape
    factor = BOX_SIZE / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    glyph = Image.fromarray(crop).resize(size, Image.Resampling.LANCZOS if factor > 1 else Image.Resampling.BOX)
    glyph = np.clip(np.asarray(glyph), 0.0, None)
    peak = glyph.max()
    if peak <= 0:
        raise NoInk("too_small")
    glyph = np.clip(glyph / peak, 0.0, 1.0)
    return place_by_mass(glyph)


def even_stroke_width(crop: np.ndarray) -> np.ndarray:
    """Thicken hairlines and thin marker strokes towards MNIST's pen, measured in 20x20-box units.

    The stroke width is area / half the boundary length of the thresholded strokes.
    """
    strokes = crop > CONTRACT["stroke_threshold"]
    boundary = np.count_nonzero(strokes & ~filters.eroded(strokes))
    if boundary == 0:
        return crop
    width = 2.0 * np.count_nonzero(strokes) / boundary
    box_units = BOX_SIZE / max(crop.shape)
    target = (
        CONTRACT["stroke_target_share"] * MNIST_STROKE / box_units
    )  # towards MNIST's pen, not all the way: loops must stay open
    steps = round((target - width) / 2)
    if steps > 0:
        return disk_filter(crop, steps, filters.maximum_filter, np.maximum)
    if width * box_units > CONTRACT["thick_stroke_factor"] * MNIST_STROKE and steps < 0:
        return disk_filter(crop, min(-steps, int(width / 4)), filters.minimum_filter, np.minimum)
    return crop


def disk(radius: int) -> np.ndarray:
    span = np.arange(-radius, radius + 1)
    return (span[:, None] ** 2 + span[None, :] ** 2) <= radius * radius + radius


def disk_filter(
    image: np.ndarray,
    radius: int,
    rank_filter: Callable[..., np.ndarray],
    combine: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
    """Grey dilation or erosion by ``disk(radius)``, exactly, as separable rectangle filters.

    The disk is the union of a few rectangles, and the maximum (minimum) over a union is
    the maximum (minimum) of the maxima over its parts; each rectangle filter runs as two
    1-D passes, so radius 2 costs a third of one 2-D footprint filter.
    """
    result = None
    for size in disk_rectangles(radius):
        part = rank_filter(image, size)
        result = part if result is None else combine(result, part)
    return result


@functools.lru_cache(maxsize=16)
def disk_rectangles(radius: int) -> tuple[tuple[int, int], ...]:
    """(height, width) of the rectangles whose union is ``disk(radius)``, none inside another."""
    limit = radius * radius + radius
    half_widths = [math.isqrt(limit - rows * rows) for rows in range(radius + 1)]
    return tuple(
        (2 * rows + 1, 2 * half_width + 1)
        for rows, half_width in enumerate(half_widths)
        if rows == radius or half_widths[rows + 1] < half_width
    )


def place_by_mass(glyph: np.ndarray) -> np.ndarray:
    """Put the glyph in a 28x28 field so its centre of mass lands where MNIST's does."""
    height, width = glyph.shape
    row_mass, column_mass = filters.center_of_mass(glyph)
    top = round(MNIST_CENTRE - row_mass)
    left = round(MNIST_CENTRE - column_mass)
    top = min(max(top, 0), CANVAS_SIZE - height)
    left = min(max(left, 0), CANVAS_SIZE - width)
    field = np.zeros((CANVAS_SIZE, CANVAS_SIZE), dtype=np.float32)
    field[top : top + height, left : left + width] = glyph
    return np.rint(field * 255.0).astype(np.uint8)
