"""The image filters preprocessing needs, each equal to its ``scipy.ndimage`` namesake, without SciPy.

Serving imported SciPy for seven calls of ``scipy.ndimage``; it cost 142 MB of the serving install and
28 MB in every recognizer process (``python -m bench.footprint``). These are NumPy, or for the
uniform filter and the components the compiled kernels of ``model/runtime/filter_kernels.py``, and
``tests/unit/test_filters.py`` checks each against SciPy, which training still installs: the same
numbers to the bit, so every model serves the same answers as before.

The filters use SciPy's default border, ``reflect`` (d c b a | a b c d | d c b a, NumPy's
``symmetric``), and its window placement: ``size`` pixels around pixel i run from
i - size // 2 to i - size // 2 + size - 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from model.runtime import kernels

Box = tuple[int, int, int, int]  # left, top, right, bottom (exclusive)


def padded(line: np.ndarray, size: int) -> np.ndarray:
    """``line`` (filtered along its last axis) extended on both sides as the window of ``size`` needs."""
    before, after = size // 2, size - 1 - size // 2
    length = line.shape[-1]
    if before <= length:  # one mirror each side (after <= before always): slices, a third of np.pad's time
        return np.concatenate([line[..., :before][..., ::-1], line, line[..., length - after :][..., ::-1]], axis=-1)
    return np.pad(line, [(0, 0)] * (line.ndim - 1) + [(before, after)], mode="symmetric")


def separable(image: np.ndarray, sizes: int | tuple[int, int], along_rows: Callable[[np.ndarray, int], np.ndarray]):
    """A 2-D filter as two 1-D passes, down the columns and then along the rows, the second reading the first's
    result in the image's own type (as SciPy does)."""
    rows, columns = (sizes, sizes) if isinstance(sizes, int) else sizes
    down = along_rows(image.T, rows).T.astype(image.dtype, copy=False)
    return along_rows(down, columns).astype(image.dtype, copy=False)


def uniform_filter(image: np.ndarray, size: int) -> np.ndarray:
    """The mean over a ``size`` x ``size`` window of a float32 image (``scipy.ndimage.uniform_filter``)."""
    out = np.empty(image.shape, np.float32)
    kernels.compiled("model.runtime.filter_kernels", "uniform_filter")(image, size, out)
    return out


def maximum_filter(image: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """The maximum over a ``size`` window, an int or (rows, columns) (``scipy.ndimage.maximum_filter``)."""
    return separable(image, size, lambda lines, width: running_extreme(lines, width, np.maximum))


def minimum_filter(image: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """The minimum over a ``size`` window, an int or (rows, columns) (``scipy.ndimage.minimum_filter``)."""
    return separable(image, size, lambda lines, width: running_extreme(lines, width, np.minimum))


def running_extreme(lines: np.ndarray, size: int, extreme: np.ufunc) -> np.ndarray:
    """The extreme of every window of ``size`` along the last axis, by doubling: after k rounds each value
    covers 2**k samples, and two overlapping spans of the largest power of two cover any window."""
    length = lines.shape[-1]
    spans, span = padded(lines, size), 1
    while 2 * span <= size:
        spans = extreme(spans[..., :-span], spans[..., span:])
        span *= 2
    return extreme(spans[..., :length], spans[..., size - span : size - span + length])


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """Row and column of the centre of mass (``scipy.ndimage.center_of_mass``, the same sums in the same types)."""
    total = image.sum()
    rows, columns = np.ogrid[: image.shape[0], : image.shape[1]]
    return float((image * rows.astype(float)).sum() / total), float((image * columns.astype(float)).sum() / total)


def eroded(mask: np.ndarray) -> np.ndarray:
    """``scipy.ndimage.binary_erosion(mask)`` (4-neighbour cross, outside counts as empty), by slicing.

    The empty border is written by hand: ``np.pad``'s own bookkeeping took most of this function's time.
    """
    padded = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), dtype=mask.dtype)
    padded[1:-1, 1:-1] = mask
    centre = padded[1:-1, 1:-1]
    return centre & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]


def grown(mask: np.ndarray) -> np.ndarray:
    """``scipy.ndimage.maximum_filter(mask, size=3)`` of a boolean mask (a 3x3 square), by slicing."""
    rows = mask.copy()
    rows[1:] |= mask[:-1]
    rows[:-1] |= mask[1:]
    grown = rows.copy()
    grown[:, 1:] |= rows[:, :-1]
    grown[:, :-1] |= rows[:, 1:]
    return grown


def dilated(mask: np.ndarray) -> np.ndarray:
    """``scipy.ndimage.binary_dilation(mask)``: grown by one pixel towards its four neighbours."""
    grown = mask.copy()
    grown[1:] |= mask[:-1]
    grown[:-1] |= mask[1:]
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    return grown


@dataclass(frozen=True)
class Components:
    """The 8-connected components of a mask, numbered as ``scipy.ndimage.label`` numbers them."""

    labels: np.ndarray  # int32, the mask's shape: 0 off the mask, else the component's number, 1..count
    boxes: list[Box]  # component n's box at n - 1 (``scipy.ndimage.find_objects``, as left, top, right, bottom)

    @property
    def count(self) -> int:
        return len(self.boxes)


def provisional_bound(height: int, width: int) -> int:
    """The most provisional labels the kernel can need: a new one has none of its visited neighbours set, so
    at most one starts in any 2x2 block."""
    return ((height + 1) // 2) * ((width + 1) // 2)


def components(mask: np.ndarray) -> Components:
    """The 8-connected components of a boolean mask, in the raster order of their first pixel."""
    height, width = mask.shape
    labels = np.empty((height, width), np.int32)
    boxes = np.empty((provisional_bound(height, width), 4), np.int32)
    count = kernels.compiled("model.runtime.filter_kernels", "label_components")(
        np.ascontiguousarray(mask, dtype=np.uint8), labels, boxes
    )
    return Components(labels, [tuple(box) for box in boxes[:count].tolist()])
