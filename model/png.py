"""A clean copy of a plain PNG without re-encoding it: its header and image data, nothing else.

The drawing kept with an attempt must carry its pixels only (``model/drawing.py``).
Re-encoding them with Pillow took 2 ms for the page's 256 px frames and 4 to 7 ms for a
500x500 canvas, on every final frame: 15 to 18 % of the recognizer processes' time
(``bench/README.md``, session 6). A PNG's pixels are all in
two chunks, the header and the image data, when it is gray, RGB or either with alpha
(no palette, no colour key, no EXIF orientation): those two chunks as sent, and no other
(no text, EXIF, ICC profile, nor bytes after the end), are the same pixels. The image
data is inflated once here (zlib-ng: 0.05 ms for a 500x500 canvas) to check that it holds
exactly the rows its header promises and nothing after them; anything unusual gets no
copy, and the caller re-encodes the decoded pixels as before.
"""

from __future__ import annotations

import struct

from zlib_ng import zlib_ng

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


def clean_copy(raw: bytes, max_pixels: int) -> bytes | None:
    """``raw``'s pixels as a PNG without any other chunk, or None when ``raw`` is no plain PNG of at most
    ``max_pixels`` whose image data holds exactly its rows."""
    chunks = read_chunks(raw)
    if chunks is None or chunks[0][0] != b"IHDR" or any(changes_pixels(kind, data) for kind, data in chunks):
        return None
    header = chunks[0][1]
    compressed = b"".join(data for kind, data in chunks if kind == b"IDAT")
    if not holds_its_rows(header, compressed, max_pixels):
        return None
    return SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", compressed) + chunk(b"IEND", b"")


def changes_pixels(kind: bytes, data: bytes) -> bool:
    return kind in CHANGE_PIXELS or (kind in TEXT and data.startswith(EXIF_IN_TEXT))


def holds_its_rows(header: bytes, compressed: bytes, max_pixels: int) -> bool:
    """An 8-bit, not interlaced gray or RGB header (with or without alpha) of at most ``max_pixels``, and image
    data that inflates to exactly its rows, with nothing after them; never inflated past what it promises."""
    if len(header) != 13:
        return False
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or interlace != 0 or colour not in CHANNELS or not 0 < width * height <= max_pixels:
        return False
    expected = height * (1 + width * CHANNELS[colour])  # a filter byte, then the row's samples
    inflater = zlib_ng.decompressobj()
    try:
        scanlines = inflater.decompress(compressed, expected + 1)
    except zlib_ng.error:
        return False
    return len(scanlines) == expected and inflater.eof and not inflater.unused_data


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
