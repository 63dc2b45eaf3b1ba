"""The compiled (numba) half of ``model/runtime/filters.py``: what NumPy cannot do fast, loop by loop.

- ``label_components``: the 8-connected components of a mask, as ``scipy.ndimage.label`` and
  ``find_objects`` give them. Two passes with a union-find forest over provisional labels: the
  first labels each pixel from its four neighbours already visited (left, up-left, up, up-right),
  the second numbers the components 1, 2, ... in the raster order of their first pixel, as SciPy
  does, and finds their boxes.
- ``uniform_filter``: ``scipy.ndimage.uniform_filter``, SciPy's own loop (a running float64 sum,
  each output that sum over the window size) with its ``reflect`` border; NumPy's ``cumsum`` took
  four times SciPy's time.

numba is loaded in the recognizer processes anyway, for the PNG kernel. ``tests/unit/test_filters.py``
checks both against SciPy, to the bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types

MASK = types.Array(types.uint8, 2, "C")
LABELS = types.Array(types.int32, 2, "C")
BOXES = types.Array(types.int32, 2, "C")
LABEL_SIGNATURE = types.intp(MASK, LABELS, BOXES)
IMAGE = types.Array(types.float32, 2, "A", readonly=True)
PLANE = types.Array(types.float32, 2, "C")
UNIFORM_SIGNATURE = types.void(IMAGE, types.intp, PLANE)


@njit(cache=True, nogil=True, inline="always")
def root(parent: np.ndarray, label: np.int32) -> np.int32:
    while parent[label] != label:
        label = parent[label]
    return label


@njit(cache=True, nogil=True, inline="always")
def join(parent: np.ndarray, smallest: np.int32, neighbour: np.int32) -> np.int32:
    """Unite the trees of ``smallest`` (a root) and ``neighbour``; the smaller root stays a root, so every
    tree's root is its smallest, that is first seen, provisional label."""
    if neighbour == 0:
        return smallest
    other = root(parent, neighbour)
    if smallest == 0:
        return other
    if other < smallest:
        parent[smallest] = other
        return other
    if smallest < other:
        parent[other] = smallest
    return smallest


@njit(LABEL_SIGNATURE, cache=True, nogil=True, boundscheck=False)
def label_components(mask: np.ndarray, labels: np.ndarray, boxes: np.ndarray) -> int:
    """Fill ``labels`` (the mask's shape) with 0 for background and 1..count per component, and the first
    ``count`` rows of ``boxes`` (``filters.provisional_bound`` rows) with each one's left, top, right, bottom
    (exclusive); return ``count``."""
    height, width = mask.shape
    parent = np.empty(boxes.shape[0] + 1, np.int32)
    provisional = 0
    for y in range(height):
        for x in range(width):
            if mask[y, x] == 0:
                labels[y, x] = 0
                continue
            smallest = np.int32(0)
            if x > 0:
                smallest = join(parent, smallest, labels[y, x - 1])
            if y > 0:
                if x > 0:
                    smallest = join(parent, smallest, labels[y - 1, x - 1])
                smallest = join(parent, smallest, labels[y - 1, x])
                if x + 1 < width:
                    smallest = join(parent, smallest, labels[y - 1, x + 1])
            if smallest == 0:
                provisional += 1
                parent[provisional] = provisional
                smallest = np.int32(provisional)
            labels[y, x] = smallest
    final = np.zeros(provisional + 1, np.int32)
    count = 0
    for label in range(1, provisional + 1):
        top = root(parent, np.int32(label))
        if top == label:
            count += 1
            final[label] = count
            boxes[count - 1, 0] = width
            boxes[count - 1, 1] = height
            boxes[count - 1, 2] = 0
            boxes[count - 1, 3] = 0
        else:
            final[label] = final[top]
    for y in range(height):
        for x in range(width):
            if labels[y, x] != 0:
                component = final[labels[y, x]]
                labels[y, x] = component
                box = boxes[component - 1]
                box[0] = min(box[0], x)
                box[1] = min(box[1], y)
                box[2] = max(box[2], x + 1)
                box[3] = max(box[3], y + 1)
    return count


@njit(cache=True, nogil=True, inline="always")
def reflected(index: int, length: int) -> int:
    """SciPy's ``reflect`` border (d c b a | a b c d | d c b a) for an index off either end, however far."""
    period = 2 * length
    index %= period
    return index if index < length else period - 1 - index


@njit(UNIFORM_SIGNATURE, cache=True, nogil=True, boundscheck=False)
def uniform_filter(image: np.ndarray, size: int, out: np.ndarray) -> None:
    """``out`` = the mean over every ``size`` x ``size`` window of ``image``: down the columns, then along
    the rows, the first pass stored as float32 as SciPy stores it."""
    height, width = image.shape
    before = size // 2
    after = size - 1 - before
    sums = np.zeros(width, np.float64)
    for k in range(-before, after + 1):
        row = reflected(k, height)
        for x in range(width):
            sums[x] += np.float64(image[row, x])
    for y in range(height):
        for x in range(width):
            out[y, x] = np.float32(sums[x] / size)
        entering, leaving = reflected(y + after + 1, height), reflected(y - before, height)
        for x in range(width):
            sums[x] += np.float64(image[entering, x]) - np.float64(image[leaving, x])
    line = np.empty(width + size - 1, np.float64)
    for y in range(height):
        for k in range(width + size - 1):
            line[k] = out[y, reflected(k - before, width)]
        total = 0.0
        for k in range(size):
            total += line[k]
        out[y, 0] = np.float32(total / size)
        for x in range(1, width):
            total += line[x + size - 1] - line[x - 1]
            out[y, x] = np.float32(total / size)
