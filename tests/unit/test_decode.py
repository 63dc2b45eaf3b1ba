import base64
import contextlib
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from model.runtime.decode import (
    BadEncoding,
    CorruptImage,
    EmptyImage,
    ImageError,
    ImageTooLarge,
    Limits,
    TooManyPixels,
    UnsupportedFormat,
    decode_image,
)
from tests.support.images import data_url, encode


@pytest.fixture
def picture() -> Image.Image:
    pixels = np.full((30, 40, 3), 255, np.uint8)
    pixels[10:20, 5:35] = 0
    return Image.fromarray(pixels)


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "GIF", "BMP", "WEBP"])
def test_every_allowed_format_decodes(picture, image_format):
    decoded = decode_image(encode(picture, image_format))
    assert decoded.size == (40, 30)


def test_data_url_base64_and_bytes_are_the_same_image(picture):
    raw = encode(picture)
    from_bytes = np.asarray(decode_image(raw))
    assert np.array_equal(np.asarray(decode_image(data_url(raw))), from_bytes)
    assert np.array_equal(np.asarray(decode_image(base64.b64encode(raw).decode())), from_bytes)
    assert np.array_equal(np.asarray(decode_image(bytearray(raw))), from_bytes)


def test_format_is_judged_by_content_not_by_the_declared_type(picture):
    jpeg = encode(picture, "JPEG")
    assert decode_image(data_url(jpeg, mime="image/png")).size == (40, 30)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (b"", EmptyImage),
        ("   ", EmptyImage),
        ("not base64 at all!", BadEncoding),
        ("aGVsbG8", BadEncoding),  # bad padding
        ("aGVs\nbG8=", BadEncoding),  # stray newline: strict
        ("data:image/png,iVBORw0KGgo=", BadEncoding),  # not a base64 data URL
        ("data:image/png;base64", BadEncoding),  # no comma
        (12345, BadEncoding),
        (b"%PDF-1.7 a document", UnsupportedFormat),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", UnsupportedFormat),
        (b"II*\x00 a TIFF header", UnsupportedFormat),
        (b"\x89PNG\r\n\x1a\n but nothing after", CorruptImage),
    ],
)
def test_bad_input_gets_a_specific_error(payload, error):
    with pytest.raises(error) as raised:
        decode_image(payload)
    assert raised.value.code
    assert str(raised.value)


def test_errors_map_to_http_statuses():
    assert ImageTooLarge.status == 413
    assert TooManyPixels.status == 413
    assert UnsupportedFormat.status == 415
    assert CorruptImage.status == 400
    assert BadEncoding.status == 400


def test_byte_limit_is_checked_before_decoding(picture):
    raw = encode(picture, "BMP")
    limits = Limits(max_bytes=len(raw) - 1)
    with pytest.raises(ImageTooLarge):
        decode_image(raw, limits)
    with pytest.raises(ImageTooLarge):
        decode_image(data_url(raw), limits)
    # Text far over the limit is refused without decoding it (invalid base64 would otherwise say so).
    with pytest.raises(ImageTooLarge):
        decode_image("!" * 100_000, Limits(max_bytes=1000))


def test_pixel_limit_rejects_huge_images_before_decompressing():
    huge = encode(Image.new("L", (3000, 3000), 255))  # compresses to a few kB
    assert len(huge) < 100_000
    with pytest.raises(TooManyPixels, match="3000x3000"):
        decode_image(huge, Limits(max_pixels=2000 * 2000))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a size, with a tiny (wrong) image body: a decompression bomb's shape."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 10))
        + chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_rejected_by_our_limit():
    with pytest.raises(TooManyPixels):
        decode_image(png_header_only(50_000, 50_000))


def test_pillows_bomb_warning_is_an_error_even_with_a_lax_limit():
    with pytest.raises(TooManyPixels):
        decode_image(png_header_only(10_000, 10_000), Limits(max_pixels=10**12))


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "GIF", "WEBP"])
def test_truncated_files_are_rejected(picture, image_format):
    raw = encode(Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), np.uint8)), image_format)
    with pytest.raises(CorruptImage):
        decode_image(raw[: len(raw) // 2])


def test_exif_rotated_photo_is_turned_upright(picture):
    exif = Image.Exif()
    exif[0x0112] = 6
    assert decode_image(encode(picture, "JPEG", exif=exif)).size == (30, 40)


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("L", (20, 20), 0), Image.new("L", (20, 20), 255)]
    raw = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert np.asarray(decode_image(raw).convert("L")).max() == 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_random_bytes_never_crash(raw):
    with contextlib.suppress(ImageError):
        decode_image(raw)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"RIFF\x00\x00\x00\x00WEBP"]),
    st.binary(max_size=1024),
)
def test_random_bodies_behind_real_signatures_never_crash(signature, body):
    with contextlib.suppress(ImageError):
        decode_image(signature + body)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=512))
def test_random_text_never_crashes(text):
    with contextlib.suppress(ImageError):
        decode_image(text)
