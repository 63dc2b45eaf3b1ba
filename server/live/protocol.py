"""The Socket.IO protocol's payloads, parsed and checked. Pure functions, no I/O.

Every rejection is a ``ProtocolError`` with a stable machine ``code`` and a message for
people; the handler turns it into an ``error`` event and the connection stays usable.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from typing import Any

from server.access.rooms import parse_room
from server.errors import ProtocolError

MAX_SEQ = 2**53  # JavaScript's largest exact integer
MAX_OWNER_TOKEN_CHARS = 128
OWNER_TOKEN = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_OWNER_TOKEN_CHARS}}}")  # base64url: ours and the page's


@dataclass(frozen=True)
class FrameEvent:
    attempt_id: str
    seq: int
    image: str | bytes
    final: bool
    owner_token: str | None = None
    room: str = ""
    explain: bool = False


@dataclass(frozen=True)
class LabelEvent:
    attempt_id: str
    label: int
    owner_token: str | None = None


def require_object(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ProtocolError("bad_payload", "The event payload must be a JSON object.")
    return payload


def parse_attempt_id(value: Any) -> str:
    """A UUID in canonical lowercase form; anything else is refused."""
    if not isinstance(value, str) or len(value) > 64:
        raise ProtocolError("bad_attempt_id", "attempt_id must be a UUID string.")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ProtocolError("bad_attempt_id", "attempt_id must be a UUID string.") from None


def parse_owner_token(value: Any) -> str | None:
    """The optional ``owner_token``: the token the page made for a new attempt, or proof of ownership of an
    existing one (the page's, or the one its first answer gave) from another connection."""
    if value is None:
        return None
    if not isinstance(value, str) or not OWNER_TOKEN.fullmatch(value):
        raise ProtocolError("bad_owner_token", "owner_token must be the string the attempt's first prediction gave.")
    return value


def finite_number(value: Any) -> float | None:
    """A JSON number as a finite float; None for anything else (NaN, infinities, integers past a float's range,
    booleans), so a parser refuses it with its own message instead of failing on it later."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def parse_label(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9:
        raise ProtocolError("bad_label", "label must be a whole number from 0 to 9.")
    return value


def parse_flag(name: str, value: Any) -> bool:
    """A true/false field (``final``, ``explain``: absent is false); anything else, null included, is refused."""
    if not isinstance(value, bool):
        raise ProtocolError("bad_payload", f"{name} must be true or false.")
    return value


def parse_image(value: Any, max_bytes: int) -> str | bytes:
    """A frame's image: its encoded bytes (a binary attachment, what the page sends) or a data URL string.

    Only the size is checked here, before anything is decoded; the decoder checks the rest.
    """
    if isinstance(value, bytes | bytearray):
        if len(value) > max_bytes:
            raise ProtocolError("image_too_large", f"The frame is over the limit of {max_bytes:,} bytes.")
        return bytes(value)
    if not isinstance(value, str) or not value:
        raise ProtocolError("bad_image", "image must be the image's bytes (a binary attachment) or a data URL string.")
    max_chars = max_bytes * 4 // 3 + 256  # base64 and its data URL header
    if len(value) > max_chars:
        raise ProtocolError("image_too_large", f"The frame is over the limit of {max_chars:,} characters.")
    return value


def parse_frame(payload: Any, max_image_bytes: int) -> FrameEvent:
    """``{"attempt_id", "seq", "image", "final", "owner_token"?, "room"?, "explain"?}`` -> FrameEvent."""
    payload = require_object(payload)
    attempt_id = parse_attempt_id(payload.get("attempt_id"))
    seq = payload.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_SEQ:
        raise ProtocolError("bad_seq", "seq must be a non-negative whole number.")
    image = parse_image(payload.get("image"), max_image_bytes)
    final = parse_flag("final", payload.get("final", False))
    explain = parse_flag("explain", payload.get("explain", False))
    owner_token = parse_owner_token(payload.get("owner_token"))
    return FrameEvent(attempt_id, seq, image, final, owner_token, parse_room(payload.get("room")), explain)


def parse_label_event(payload: Any) -> LabelEvent:
    payload = require_object(payload)
    return LabelEvent(
        parse_attempt_id(payload.get("attempt_id")),
        parse_label(payload.get("label")),
        parse_owner_token(payload.get("owner_token")),
    )
