"""model/png.py: the clean copy of a plain PNG shows the same pixels and nothing else; anything unusual gets none."""

from __future__ import annotations

import io
import struct
import time

import numpy as np
import pytest
from PIL import Image, PngImagePlugin
from zlib_ng import zlib_ng

from model import png
from model.decode import Limits, decode_image
from model.drawing import stored_png

MAX_PIXELS = Limits().max_pixels


def saved(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def pillow_pixels(raw: bytes) -> np.ndarray:
    """What Pillow alone decodes from the bytes as sent."""
    return np.asarray(Image.open(io.BytesIO(raw)))


def noisy(mode: str, size: tuple[int, int], seed: int = 0) -> Image.Image:
    """A drawing-like image: flat ground, a dark blob, noise (so every PNG filter type gets used)."""
    rng = np.random.default_rng(seed)
    bands = len(mode)
    pixels = np.full((size[1], size[0], bands), 255, np.uint8)
    pixels[size[1] // 4 : size[1] // 2, size[0] // 3 : size[0] // 2] = 20
    pixels = np.clip(pixels.astype(int) + rng.integers(-30, 30, pixels.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels[..., 0] if bands == 1 else pixels, mode)


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
@pytest.mark.parametrize("size", [(1, 1), (37, 5), (500, 500)])
@pytest.mark.parametrize("level", [0, 1, 6, 9])
def test_the_clean_copy_of_a_plain_png_shows_the_same_pixels(mode, size, level):
    raw = saved(noisy(mode, size), compress_level=level)
    copy = png.clean_copy(raw, MAX_PIXELS)
    assert copy is not None
    assert Image.open(io.BytesIO(copy)).mode == mode
    np.testing.assert_array_equal(pillow_pixels(copy), pillow_pixels(raw))


def made(scanlines: bytes, width: int, height: int, interlace: int = 0) -> bytes:
    """An 8-bit gray PNG written chunk by chunk, so tests can make what encoders would not."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, interlace)
    return (
        png.SIGNATURE
        + png.chunk(b"IHDR", header)
        + png.chunk(b"IDAT", zlib_ng.compress(scanlines))
        + png.chunk(b"IEND", b"")
    )


def test_image_data_split_over_many_chunks_is_joined():
    image = noisy("RGB", (300, 200))
    chunks = png.read_chunks(saved(image))
    idat = b"".join(data for kind, data in chunks if kind == b"IDAT")  # re-split as some encoders write it
    pieces = [png.chunk(b"IDAT", idat[i : i + 100]) for i in range(0, len(idat), 100)]
    split = png.SIGNATURE + png.chunk(b"IHDR", chunks[0][1]) + b"".join(pieces) + png.chunk(b"IEND", b"")
    np.testing.assert_array_equal(pillow_pixels(png.clean_copy(split, MAX_PIXELS)), np.asarray(image))


def test_unusual_pngs_get_no_clean_copy():
    raw = saved(noisy("RGB", (40, 30)))
    idat = raw.index(b"IDAT") + 4
    unusual = {
        "interlaced": made(bytes(100), 10, 10, interlace=1),
        "16-bit": saved(Image.fromarray(np.full((8, 8), 40000, np.uint16))),
        "palette": saved(noisy("RGB", (40, 30)).convert("P")),
        "bad CRC": raw[:idat] + bytes([raw[idat] ^ 1]) + raw[idat + 1 :],
        "bytes after IEND": raw + b"appended secret",
        "cut short": raw[:-20],
        "not a PNG": b"not a png",
    }
    for name, sent in unusual.items():
        assert png.clean_copy(sent, MAX_PIXELS) is None, name


def test_a_stream_longer_than_its_header_promises_is_never_inflated_whole():
    """A 10x10 gray header over 64 MB of zeros: the read stops after 111 bytes, and Pillow reads its 10 rows."""
    bomb = made(bytes(64 * 1024 * 1024), 10, 10)
    assert len(bomb) < 100_000
    started = time.process_time()
    assert png.clean_copy(bomb, MAX_PIXELS) is None
    assert time.process_time() - started < 1.0, "it inflated far more than the header's 110 bytes"


def test_a_stream_shorter_than_its_header_promises_gets_no_copy():
    assert png.clean_copy(made(bytes(50), 10, 10), MAX_PIXELS) is None


def test_data_after_the_stream_inside_the_image_data_is_not_read_as_plain():
    hidden = zlib_ng.compress(bytes(10 * 11)) + b"hidden bytes after the stream"
    header = struct.pack(">IIBBBBB", 10, 10, 8, 0, 0, 0, 0)
    raw = png.SIGNATURE + png.chunk(b"IHDR", header) + png.chunk(b"IDAT", hidden) + png.chunk(b"IEND", b"")
    assert png.clean_copy(raw, MAX_PIXELS) is None


def test_more_pixels_than_allowed_are_not_inflated():
    raw = saved(noisy("L", (64, 64)))
    assert png.clean_copy(raw, 64 * 64 - 1) is None


def test_the_kept_drawing_is_the_clean_copy_without_any_other_chunk():
    image = noisy("RGBA", (120, 90))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "a child's full name")
    info.add_itxt("GPS", "51.5, -0.1")
    raw = saved(image, pnginfo=info, dpi=(300, 300))
    kept = stored_png(decode_image(raw), 1_000_000, raw)
    assert kept == png.clean_copy(raw, MAX_PIXELS)
    assert [kind for kind, _ in png.read_chunks(kept)] == [b"IHDR", b"IDAT", b"IEND"]
    assert b"child" not in kept
    assert b"GPS" not in kept
    np.testing.assert_array_equal(pillow_pixels(kept), np.asarray(image))


def turned() -> bytes:
    """EXIF that says: rotate 90 degrees to show upright."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return exif.tobytes()


def in_text(exif: bytes) -> PngImagePlugin.PngInfo:
    """EXIF in a text chunk, as ImageMagick writes it; Pillow reads it for orientation too."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Raw profile type exif", f"\nexif\n{len(exif)}\n{exif.hex()}")
    return info


def test_chunks_that_change_the_pixels_make_it_re_encode():
    """Colour-key transparency, a palette or EXIF orientation (its own chunk, or a text chunk): a copy of
    the header and image data alone would show other pixels, so the decoded pixels are encoded instead."""
    image = noisy("RGB", (30, 20))
    sent = {
        "colour key": saved(image, transparency=(255, 255, 255)),
        "palette": saved(image.convert("P")),
        "eXIf": saved(image, exif=turned()),
        "EXIF in text": saved(image, pnginfo=in_text(turned())),
    }
    for name, raw in sent.items():
        assert png.clean_copy(raw, MAX_PIXELS) is None, name
        decoded = decode_image(raw)
        assert decoded.size == ((20, 30) if "EXIF" in name.upper() else (30, 20)), name
        kept = Image.open(io.BytesIO(stored_png(decoded, 1_000_000, raw)))
        np.testing.assert_array_equal(np.asarray(kept.convert("RGBA")), np.asarray(decoded.convert("RGBA")))


def test_a_clean_copy_over_the_bound_is_shrunk_as_before():
    raw = saved(noisy("RGB", (400, 400)), compress_level=0)
    kept = stored_png(decode_image(raw), 60_000, raw)
    assert kept is not None
    assert len(kept) <= 60_000
    assert Image.open(io.BytesIO(kept)).size[0] < 400
