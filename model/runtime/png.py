"""Plain PNGs read fast: a clean copy without re-encoding, and their pixels without Pillow.

A PNG is *plain* when it is 8-bit gray or RGB, with or without alpha, not interlaced, with
no palette, colour key or EXIF orientation: then its pixels are all in two chunks, the
header and the image data. Browsers' canvases, Pillow and most clients send such PNGs.
The image data is inflated once, with zlib-ng (0.05 ms for a 500x500 canvas against
Pillow's 1 ms with the system zlib), bounded by what the header promises, and must hold
exactly those rows and nothing after them. Anything else is None here, and the caller
lets Pillow decode (and refuse) it as before.

- ``clean_copy``: the drawing kept with an attempt must carry its pixels only
  (``model/runtime/drawing.py``). Re-encoding them with Pillow took 2 ms for the page's 256 px
  frames and 4 to 7 ms for a 500x500 canvas, on every final frame (``bench/README.md``,
  session 6); the header and image data as sent, and no other chunk (no text, EXIF, ICC
  profile, nor bytes after the end), are the same pixels.
- ``luminance``: what the recognizer reads (luminance, and alpha when there is one),
  unfiltered by the compiled kernel in ``model/runtime/unfilter.py``: 0.2 ms for a 500x500 RGB
  canvas where Pillow's decoding and gray conversion took 1.7 ms.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass

import numpy as np
from PIL import Image
from zlib_ng import zlib_ng

from model.runtime import kernels

log = logging.getLogger("digits.png")
SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # colour type -> samples per pixel: gray, RGB, gray+alpha, RGBA
# Chunks that change the pixels a decoder shows: a clean copy without them would differ, so a PNG
# that has one is re-encoded from its decoded pixels instead (palette, colour-key transparency, EXIF
# orientation).
CHANGE_PIXELS = {b"PLTE", b"tRNS", b"eXIf"}
EXIF_IN_TEXT = b"Raw profile type exif\0"  # EXIF in a text chunk, which Pillow reads for orientation too
TEXT = {b"tEXt", b"zTXt", b"iTXt"}


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib_ng.crc32(data, zlib_ng.crc32(kind)))


@dataclass(frozen=True)
class Plain:
    """A plain PNG's header and image data as sent, and that data inflated: a filter byte before each row."""

    header: bytes
    compressed: bytes
    scanlines: bytes
    width: int
    height: int
    channels: int


def read_plain(raw: bytes, max_pixels: int) -> Plain | None:
    """``raw`` as a plain PNG of at most ``max_pixels`` whose image data holds exactly its rows, or None."""
    chunks = read_chunks(raw)
    if chunks is None or chunks[0][0] != b"IHDR" or any(changes_pixels(kind, data) for kind, data in chunks):
        return None
    header = chunks[0][1]
    if len(header) != 13:
        return None
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or interlace != 0 or colour not in CHANNELS or not 0 < width * height <= max_pixels:
        return None
    compressed = b"".join(data for kind, data in chunks if kind == b"IDAT")
    scanlines = inflate_exactly(compressed, height * (1 + width * CHANNELS[colour]))
    return None if scanlines is None else Plain(header, compressed, scanlines, width, height, CHANNELS[colour])


def changes_pixels(kind: bytes, data: bytes) -> bool:
    return kind in CHANGE_PIXELS or (kind in TEXT and data.startswith(EXIF_IN_TEXT))


def inflate_exactly(compressed: bytes, expected: int) -> bytes | None:
    """The inflated stream when it is exactly ``expected`` bytes with nothing after it; never inflated further."""
    inflater = zlib_ng.decompressobj()
    try:
        scanlines = inflater.decompress(compressed, expected + 1)  # room for one byte too many, no more
    except zlib_ng.error:
        return None
    ok = len(scanlines) == expected and inflater.eof and not inflater.unused_data
    return scanlines if ok else None


def clean_copy(raw: bytes, max_pixels: int) -> bytes | None:
    """``raw``'s pixels as a PNG without any other chunk, or None when ``raw`` is not plain."""
    plain = read_plain(raw, max_pixels)
    if plain is None:
        return None
    return SIGNATURE + chunk(b"IHDR", plain.header) + chunk(b"IDAT", plain.compressed) + chunk(b"IEND", b"")


def luminance(raw: bytes, max_pixels: int) -> Image.Image | None:
    """A plain PNG as an ``L`` image (gray, RGB) or ``LA`` image (with alpha), exactly the luminance and alpha
    that Pillow's decoding shows; None when ``raw`` is not plain."""
    plain = read_plain(raw, max_pixels)
    if plain is None:
        return None
    bands = np.empty((plain.height, plain.width), np.uint8)
    alpha = np.empty((plain.height, plain.width if plain.channels in (2, 4) else 0), np.uint8)
    scanlines = np.frombuffer(plain.scanlines, np.uint8)
    unfilter = kernels.compiled("model.runtime.unfilter", "scanlines_to_bands")
    if not unfilter(scanlines, plain.channels, plain.width, bands, alpha):
        return None  # a filter type that does not exist
    if alpha.size == 0:
        return Image.fromarray(bands)
    return Image.merge("LA", (Image.fromarray(bands), Image.fromarray(alpha)))


def read_chunks(raw: bytes) -> list[tuple[bytes, bytes]] | None:
    """Every chunk up to IEND with a correct CRC, or None (no signature, a chunk cut short, a bad CRC,
    image data in two runs, or bytes after IEND)."""
    if not raw.startswith(SIGNATURE):
        return None
    chunks, position, idat_ended = [], len(SIGNATURE), False
    while position + 12 <= len(raw):
        (length,) = struct.unpack_from(">I", raw, position)
        kind, start = raw[position + 4 : position + 8], position + 8
        if start + length + 4 > len(raw):
            return None
        data = raw[start : start + length]
        if struct.unpack_from(">I", raw, start + length)[0] != zlib_ng.crc32(data, zlib_ng.crc32(kind)):
            return None
        if kind == b"IDAT" and idat_ended:
            return None
        idat_ended = idat_ended or (bool(chunks) and chunks[-1][0] == b"IDAT" and kind != b"IDAT")
        chunks.append((kind, data))
        position = start + length + 4
        if kind == b"IEND":
            return chunks if position == len(raw) and any(k == b"IDAT" for k, _ in chunks) else None
    return None
