"""A plain PNG's inflated scanlines to its luminance and alpha, compiled (numba), as Pillow would show them.

Pillow inflates with the system's zlib and unfilters every sample on its own: 1.6 ms
for a 500x500 RGB canvas, then 0.1 ms more to turn it gray, twice what the whole rest
of preprocessing costs. zlib-ng inflates the same data in 0.05 ms (``model/runtime/png.py``),
and this kernel undoes the row filters and computes the gray in one pass over the rows,
two rows at a time so they stay in cache: 0.17 ms (``bench/README.md``, session 7).
Kept over pyspng (libspng): 2x faster on the page's frames, 3-5x on 500 px canvases (``python -m bench.png_decoders``).

The recognizer reads nothing but luminance and alpha (``model/runtime/preprocess.py``), so those
are what comes out, with Pillow's own integer formula for RGB: the same 28x28 input as
``Image.convert("L")`` and ``getchannel("A")`` of Pillow's decoding, to the bit
(``tests/unit/test_png.py``).

It is compiled once per machine (about a second, cached in ``__pycache__``) for the one
signature below. The caller checks every length before the call: with bounds checks
off, an index past the end would read or write memory that is not the array's.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types

SCANLINES = types.Array(types.uint8, 1, "C", readonly=True)  # inflated bytes are immutable
PLANE = types.Array(types.uint8, 2, "C")
SIGNATURE = types.boolean(SCANLINES, types.intp, types.intp, PLANE, PLANE)

NONE, SUB, UP, AVERAGE, PAETH = range(5)  # the filter types that begin each scanline (PNG spec, 9.2)


@njit(cache=True, nogil=True, boundscheck=False)
def unfilter_row(kind: int, row: np.ndarray, above: np.ndarray, out: np.ndarray, step: int) -> bool:
    """One scanline's samples from its filtered bytes and the row above (zeros above the first row).

    ``step`` is the bytes per pixel: each sample is predicted from the same channel of the
    pixel to its left. The running left value stays in a register, one channel at a time.
    """
    size = row.size
    if kind == NONE:
        for x in range(size):
            out[x] = row[x]
    elif kind == UP:
        for x in range(size):
            out[x] = row[x] + above[x]
    elif kind == SUB:
        for channel in range(step):
            left = np.uint8(0)
            for x in range(channel, size, step):
                left = np.uint8(row[x] + left)
                out[x] = left
    elif kind == AVERAGE:
        for channel in range(step):
            left = np.int32(0)
            for x in range(channel, size, step):
                left = np.int32(np.uint8(row[x] + ((left + np.int32(above[x])) >> 1)))
                out[x] = left
    elif kind == PAETH:
        for channel in range(step):
            left = np.int32(0)
            corner = np.int32(0)
            for x in range(channel, size, step):
                up = np.int32(above[x])
                if up == corner:  # flat above: the prediction is the left sample (most of a canvas)
                    predicted = left
                else:
                    to_left, to_up, to_corner = abs(up - corner), abs(left - corner), abs(left + up - 2 * corner)
                    if to_left <= to_up and to_left <= to_corner:
                        predicted = left
                    elif to_up <= to_corner:
                        predicted = up
                    else:
                        predicted = corner
                left = np.int32(np.uint8(row[x] + predicted))
                out[x] = left
                corner = up
    else:
        return False
    return True


@njit(cache=True, nogil=True, boundscheck=False)
def split_bands(samples: np.ndarray, channels: int, luminance: np.ndarray, alpha: np.ndarray) -> None:
    """One row of gray, gray+alpha, RGB or RGBA samples as luminance (Pillow's ``L24``) and alpha."""
    width = luminance.size
    if channels == 1:
        for x in range(width):
            luminance[x] = samples[x]
    elif channels == 2:
        for x in range(width):
            luminance[x] = samples[2 * x]
            alpha[x] = samples[2 * x + 1]
    elif channels == 3:
        for x in range(width):
            luminance[x] = gray(samples[3 * x], samples[3 * x + 1], samples[3 * x + 2])
    else:
        for x in range(width):
            luminance[x] = gray(samples[4 * x], samples[4 * x + 1], samples[4 * x + 2])
            alpha[x] = samples[4 * x + 3]


@njit(cache=True, nogil=True, inline="always")
def gray(red: np.uint8, green: np.uint8, blue: np.uint8) -> np.uint8:
    """Pillow's ``L24``: ITU-R 601-2 luma in 16-bit fixed point, rounded."""
    return np.uint8((np.uint32(red) * 19595 + np.uint32(green) * 38470 + np.uint32(blue) * 7471 + 0x8000) >> 16)


@njit(SIGNATURE, cache=True, nogil=True, boundscheck=False)
def scanlines_to_bands(
    scanlines: np.ndarray, channels: int, width: int, luminance: np.ndarray, alpha: np.ndarray
) -> bool:
    """Fill ``luminance`` (height, width) and, for 2 or 4 channels, ``alpha`` (height, width; else (height, 0))
    from exactly ``height * (1 + width * channels)`` inflated bytes. False for a filter type that does not
    exist: the caller lets Pillow refuse the image."""
    height = luminance.shape[0]
    stride = width * channels
    above = np.zeros(stride, np.uint8)
    current = np.empty(stride, np.uint8)
    for y in range(height):
        start = y * (stride + 1)
        if not unfilter_row(scanlines[start], scanlines[start + 1 : start + 1 + stride], above, current, channels):
            return False
        split_bands(current, channels, luminance[y], alpha[y])
        above, current = current, above
    return True
