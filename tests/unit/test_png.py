"""model/runtime/png.py: a plain PNG's clean copy shows the same pixels and nothing else, and its luminance and alpha
are Pillow's to the bit (every filter type, colour type and size); anything unusual gets neither."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin
from zlib_ng import zlib_ng

from model.runtime import png
from model.runtime.decode import ImageError, Limits, decode_image
from model.runtime.drawing import stored_png
from model.runtime.unfilter import AVERAGE, NONE, PAETH, SUB, UP

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


def made(scanlines: bytes, width: int, height: int, interlace: int = 0, colour: int = 0) -> bytes:
    """An 8-bit PNG written chunk by chunk (gray unless ``colour`` says), so tests can make what encoders would not."""
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, interlace)
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
    assert Image.open(io.BytesIO(kept)).mode == "L"  # shrunk from what the recognizer read: its luminance


COLOUR_TYPES = {"L": 0, "RGB": 2, "LA": 4, "RGBA": 6}


def paeth(left: int, up: int, corner: int) -> int:
    """The PNG spec's Paeth predictor, written as the spec says it (9.4), independently of the kernel's."""
    estimate = left + up - corner
    to_left, to_up, to_corner = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
    if to_left <= to_up and to_left <= to_corner:
        return left
    return up if to_up <= to_corner else corner


def filtered(pixels: np.ndarray, kinds: list[int]) -> bytes:
    """Scanlines of ``pixels`` (height, width, channels) filtered with ``kinds[y]`` on row y, byte by byte."""
    height, width, step = pixels.shape
    rows = pixels.reshape(height, width * step).astype(int)
    out = bytearray()
    for y, kind in enumerate(kinds):
        out.append(kind)
        for x in range(width * step):
            left = rows[y, x - step] if x >= step else 0
            up = rows[y - 1, x] if y > 0 else 0
            corner = rows[y - 1, x - step] if y > 0 and x >= step else 0
            predicted = {NONE: 0, SUB: left, UP: up, AVERAGE: (left + up) // 2, PAETH: paeth(left, up, corner)}[kind]
            out.append((rows[y, x] - predicted) % 256)
    return bytes(out)


def drawing_like(mode: str, width: int, height: int, seed: int) -> np.ndarray:
    """Flat ground, flat strokes and noisy edges: runs where Paeth's shortcut holds and where it does not."""
    pixels = np.asarray(noisy(mode, (width, height), seed)).reshape(height, width, len(mode)).copy()
    pixels[: height // 3] = pixels[0, 0]  # rows of one colour, like a canvas's empty top
    return pixels


def bands_by_pillow(raw: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    """Pillow's own decoding of ``raw``, as the recognizer reads it: ``convert("L")`` and the alpha channel."""
    image = Image.open(io.BytesIO(raw))
    alpha = np.asarray(image.getchannel("A")) if image.mode.endswith("A") else None
    return np.asarray(image.convert("L")), alpha


def assert_same_bands(raw: bytes) -> None:
    image = png.luminance(raw, MAX_PIXELS)
    assert image is not None
    luminance, alpha = bands_by_pillow(raw)
    assert image.mode == ("LA" if alpha is not None else "L")
    np.testing.assert_array_equal(np.asarray(image.getchannel("L")), luminance)
    if alpha is not None:
        np.testing.assert_array_equal(np.asarray(image.getchannel("A")), alpha)


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
@pytest.mark.parametrize("size", [(1, 1), (1, 6), (7, 1), (13, 9)])
@pytest.mark.parametrize("kind", ["none", "sub", "up", "average", "paeth", "mixed"])
def test_every_filter_type_unfilters_as_pillow_does(mode, size, kind):
    width, height = size
    pixels = drawing_like(mode, width, height, seed=width * height)
    rng = np.random.default_rng(height)
    names = {"none": NONE, "sub": SUB, "up": UP, "average": AVERAGE, "paeth": PAETH}
    kinds = list(rng.integers(0, 5, height)) if kind == "mixed" else [names[kind]] * height
    raw = made(filtered(pixels, kinds), width, height, colour=COLOUR_TYPES[mode])
    assert_same_bands(raw)


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
@pytest.mark.parametrize("size", [(37, 5), (500, 500), (1000, 700)])
def test_what_encoders_write_decodes_as_pillow_does(mode, size):
    """Pillow's encoder picks a filter per row (all five types on noisy images); compression levels differ."""
    for level in (1, 6, 9):
        assert_same_bands(saved(noisy(mode, size, seed=level), compress_level=level))


def test_chromium_frames_decode_as_pillow_does():
    frames = sorted((Path(__file__).resolve().parents[2] / "bench" / "frames").glob("*.png"))
    assert len(frames) >= 30
    for frame in frames:
        assert_same_bands(frame.read_bytes())


def test_rgb_luminance_is_pillows_formula_for_every_colour():
    """Every 8-bit red, green and blue combination on a few rows, gray exactly as Pillow's ``convert("L")``."""
    levels = np.arange(0, 256, 5, dtype=np.uint8)
    red, green, blue = np.meshgrid(levels, levels, levels, indexing="ij")
    pixels = np.stack([red.ravel(), green.ravel(), blue.ravel()], axis=1).reshape(-1, 416, 3)
    assert_same_bands(saved(Image.fromarray(pixels, "RGB")))


def test_a_filter_type_that_does_not_exist_is_left_to_pillow_which_refuses_it():
    raw = made(bytes([5, 1, 2, 3]), 3, 1)
    assert png.luminance(raw, MAX_PIXELS) is None
    with pytest.raises(ImageError) as refused:
        decode_image(raw)
    assert refused.value.code == "corrupt_image"


@pytest.mark.parametrize("mode", ["P", "I;16", "1"])
def test_what_is_not_plain_decodes_through_pillow_in_its_own_mode(mode):
    image = noisy("L", (40, 30)).convert(mode)
    raw = saved(image)
    assert png.luminance(raw, MAX_PIXELS) is None
    assert decode_image(raw).mode == Image.open(io.BytesIO(raw)).mode


def test_plain_pngs_decode_to_luminance_and_alpha():
    assert decode_image(saved(noisy("RGB", (40, 30)))).mode == "L"
    assert decode_image(saved(noisy("RGBA", (40, 30)))).mode == "LA"
    assert decode_image(saved(noisy("LA", (40, 30)))).mode == "LA"


def test_too_many_pixels_in_a_plain_png_are_refused_before_inflating():
    raw = saved(noisy("RGB", (64, 64)))
    assert png.luminance(raw, 64 * 64 - 1) is None
    with pytest.raises(ImageError) as refused:
        decode_image(raw, Limits(max_pixels=64 * 64 - 1))
    assert refused.value.code == "too_many_pixels"


@pytest.mark.parametrize("default_image", [True, False])
def test_an_animated_png_reads_as_its_first_frame_as_pillow_does(default_image):
    frames = [noisy("RGB", (30, 20), seed) for seed in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "PNG", save_all=True, append_images=frames[1:], default_image=default_image)
    assert_same_bands(buffer.getvalue())


def test_without_a_writable_cache_folder_the_kernels_compile_into_a_temporary_one(tmp_path):
    """A read-only root file system: numba can write neither beside the source, nor in the user's cache.
    Numba alone would refuse to define the kernels, and every recognizer process would die at start."""
    package = tmp_path / "model" / "runtime"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    for name in ("__init__.py", "png.py", "unfilter.py", "kernels.py", "filters.py", "filter_kernels.py"):
        (package / name).write_bytes((Path(png.__file__).parent / name).read_bytes())
    (package / "__pycache__").write_text("a file where numba wants a folder")  # unwritable, even for root
    home = tmp_path / "home"
    home.write_text("not a folder either")
    environment = {key: value for key, value in os.environ.items() if key != "NUMBA_CACHE_DIR"}
    decode = (
        "import numpy as np, sys; from model.runtime import png; from PIL import Image; import io; "
        "b = io.BytesIO(); Image.new('RGB', (9, 7), (200, 10, 30)).save(b, 'PNG'); "
        "image = png.luminance(b.getvalue(), 100); print(png.__file__, image.mode, np.asarray(image)[0, 0]); "
        "from model.runtime import filters; cross = np.eye(4, dtype=bool); "
        "print(filters.components(cross | cross[::-1]).count)"
    )
    result = subprocess.run(
        [sys.executable, "-c", decode],
        cwd=tmp_path,
        env={**environment, "HOME": str(home), "XDG_CACHE_HOME": str(home), "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    grays = np.asarray(Image.new("RGB", (1, 1), (200, 10, 30)).convert("L"))[0, 0]
    assert result.stdout.split() == [str(package / "png.py"), "L", str(grays), "1"]
    assert "No writable folder for numba's cache" in result.stderr


@settings(max_examples=300, deadline=None)
@given(
    mode=st.sampled_from(["L", "LA", "RGB", "RGBA"]),
    width=st.integers(1, 40),
    height=st.integers(1, 12),
    seed=st.integers(0, 2**32 - 1),
    bad_filter=st.booleans(),
)
def test_any_scanlines_decode_as_pillow_decodes_them(mode, width, height, seed, bad_filter):
    """Differential fuzzing: random bytes after random filter types are a valid PNG, and must read exactly as
    Pillow reads them; a filter type over 4 anywhere makes both refuse."""
    rng = np.random.default_rng(seed)
    stride = width * len(mode)
    rows = rng.integers(0, 256, (height, 1 + stride), dtype=np.uint8)
    rows[:, 0] = rng.integers(0, 5, height)
    if bad_filter:
        rows[rng.integers(height), 0] = rng.integers(5, 256)
    raw = made(rows.tobytes(), width, height, colour=COLOUR_TYPES[mode])
    if bad_filter:
        assert png.luminance(raw, MAX_PIXELS) is None
        with pytest.raises(ImageError) as refused:
            decode_image(raw)
        assert refused.value.code == "corrupt_image"
    else:
        assert_same_bands(raw)
