"""The drawing as it is kept: a clean PNG of its pixels only, within a byte bound.

Never the bytes as sent: an upload may carry EXIF (GPS, the camera's serial), text chunks
or data appended after the image. Only the pixels survive: a plain PNG's header and image
data without any other chunk, else the pixels encoded afresh without any metadata, and
shrunk step by step until the PNG fits ``max_bytes``. This runs in the
recognizer child, next to the decoding, so the web process only stores the result.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from model.runtime.png import clean_copy

SHRINK = 0.7  # each step keeps this much of the width and height
SMALLEST = 28  # below the model's own input there is nothing worth keeping
KEPT_MODES = {"L", "LA", "RGB", "RGBA"}


def pixels_only(image: Image.Image) -> Image.Image:
    """A new image with the same pixels and nothing else: no info, no EXIF, no palette tricks."""
    if image.mode not in KEPT_MODES or "transparency" in image.info:  # a colour key becomes alpha
        transparent = "transparency" in image.info or image.mode.endswith("A")
        image = image.convert("RGBA" if transparent else "RGB")
    return Image.frombytes(image.mode, image.size, image.tobytes())


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def gray_png(pixels: np.ndarray) -> bytes:
    """A grayscale PNG of a 2-D uint8 array: the 28x28 input the model saw, a heat map, a layer mosaic."""
    return png(Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8)))


def stored_png(image: Image.Image, max_bytes: int, sent: bytes = b"") -> bytes | None:
    """The drawing to keep: a metadata-free PNG of at most ``max_bytes``, or None when even a small one is over.

    ``image`` decoded from the bytes ``sent``: a plain PNG is kept as its header and image
    data as they came (``model/runtime/png.py``), the same pixels without re-encoding them. One over
    ``max_bytes`` is shrunk from ``image``, which for a plain PNG is its luminance and alpha
    (``decode_image``): a colour drawing that large is kept in gray.
    """
    if max_bytes <= 0:
        return None
    copy = clean_copy(sent, image.width * image.height)
    if copy is not None and len(copy) <= max_bytes:
        return copy
    clean = pixels_only(image)
    while True:
        encoded = png(clean)
        if len(encoded) <= max_bytes:
            return encoded
        width, height = clean.size
        if min(width, height) * SHRINK < SMALLEST:
            return None
        clean = clean.resize((max(1, int(width * SHRINK)), max(1, int(height * SHRINK))), Image.Resampling.LANCZOS)
