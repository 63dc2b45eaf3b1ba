"""Safe decoding of untrusted images: data URLs, base64 and raw bytes from browsers and uploads.

Everything that reaches the recognizer comes from strangers, so every step is bounded
before it costs anything: the text length before base64 decoding, the byte count
before parsing, the format by its magic bytes (never by a name or a MIME type that the
client chose), the pixel count before the pixels are decompressed. Each rejection is
an ``ImageError`` subclass with a stable ``code`` for machines and a message for people.
"""

from __future__ import annotations

import binascii
import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from model.runtime import png

# Magic bytes of the formats we accept, and the Pillow plug-in that must parse each.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
)
ALLOWED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
DATA_URL = re.compile(r"data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[\w.+-]+=[\w.+-]+)*)(?P<base64>;base64)?,", re.I)


@dataclass(frozen=True)
class Limits:
    """How much an untrusted image may cost; a 1000 px kiosk canvas fits well inside the defaults."""

    max_bytes: int = 5 * 1024 * 1024
    max_pixels: int = 4096 * 4096
    max_stored_bytes: int = 0  # the bound on the drawing kept with an attempt; 0: keep no drawing


DEFAULT_LIMITS = Limits()


class ImageError(ValueError):
    """An image we refuse; ``code`` is stable for clients, ``status`` is the HTTP status it maps to."""

    code = "bad_image"
    status = 400


class EmptyImage(ImageError):
    code = "empty_image"


class BadEncoding(ImageError):
    code = "bad_encoding"


class ImageTooLarge(ImageError):
    code = "image_too_large"
    status = 413


class TooManyPixels(ImageError):
    code = "too_many_pixels"
    status = 413


class UnsupportedFormat(ImageError):
    code = "unsupported_format"
    status = 415


class CorruptImage(ImageError):
    code = "corrupt_image"


def image_bytes(data: bytes | bytearray | memoryview | str, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """Raw bytes from raw bytes, a ``data:`` URL or bare base64, checking the size before decoding."""
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    elif isinstance(data, str):
        raw = decode_text(data, limits)
    else:
        raise BadEncoding(f"An image must be bytes, a data URL or base64 text, not {type(data).__name__}.")
    if not raw:
        raise EmptyImage("The image is empty.")
    if len(raw) > limits.max_bytes:
        raise ImageTooLarge(f"The image is {len(raw):,} bytes; the limit is {limits.max_bytes:,} bytes.")
    return raw


def decode_text(text: str, limits: Limits) -> bytes:
    """Strict base64 (no stray characters, correct padding), optionally behind a ``data:`` URL header."""
    text = text.strip()
    if not text:
        raise EmptyImage("The image is empty.")
    header = DATA_URL.match(text)
    if header:
        if not header.group("base64"):
            raise BadEncoding("Only base64 data URLs are accepted (the URL lacks ';base64').")
        text = text[header.end() :]
    elif text.startswith("data:"):
        raise BadEncoding("The data URL header is malformed; expected 'data:image/png;base64,...'.")
    # Check the size the text would decode to before decoding it.
    if len(text) * 3 // 4 > limits.max_bytes:
        raise ImageTooLarge(f"The image is over {limits.max_bytes:,} bytes once decoded; that is the limit.")
    try:
        return binascii.a2b_base64(text, strict_mode=True)  # validates in C, unlike b64decode's regex
    except (binascii.Error, ValueError) as error:
        raise BadEncoding(f"The image is not valid base64 ({error}).") from error


def sniff_format(raw: bytes) -> str:
    """The format named by the content's magic bytes; anything else is refused."""
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "WEBP"
    for signature, name in SIGNATURES:
        if raw.startswith(signature):
            return name
    raise UnsupportedFormat("This is not a PNG, JPEG, GIF, BMP or WebP image.")


def decode_image(data: bytes | bytearray | memoryview | str, limits: Limits = DEFAULT_LIMITS) -> Image.Image:
    """A fully loaded, upright Pillow image (EXIF orientation applied; first frame of an animation).

    A plain PNG (``model/runtime/png.py``: what canvases send) comes back as its luminance and alpha
    (``L`` or ``LA``), all that the recognizer reads, decoded without Pillow in a tenth of
    the time; anything else, and every refusal, goes through Pillow.
    """
    raw = image_bytes(data, limits)
    image_format = sniff_format(raw)
    if image_format == "PNG" and (plain := png.luminance(raw, limits.max_pixels)) is not None:
        return plain
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=[image_format])
            width, height = image.size
            if width < 1 or height < 1:
                raise CorruptImage("The image has no pixels.")
            if width * height > limits.max_pixels:
                raise TooManyPixels(
                    f"The image is {width}x{height} pixels; the limit is {limits.max_pixels:,} pixels in all."
                )
            image.load()
            if image_format in {"JPEG", "WEBP", "PNG"}:
                ImageOps.exif_transpose(image, in_place=True)
            return image
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise TooManyPixels(f"The image expands to too many pixels ({error}).") from error
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError, MemoryError) as error:
        raise CorruptImage(f"The {image_format} image is truncated or corrupt and cannot be read.") from error
