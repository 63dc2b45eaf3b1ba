"""Classrooms: a short code that keeps one class's drawings, feed and stats apart from another's.

A room is optional: drawers without one are in the default room "". The code is what a
teacher writes on the board (``/?room=7B``), so it is short and plain: 1 to 16 of
``A-Z a-z 0-9 _ -``. Anything else is refused with ``bad_room`` rather than cleaned up, so a
typo is noticed instead of silently landing in another room.
"""

from __future__ import annotations

import re
from typing import Any

from server.errors import ProtocolError

DEFAULT_ROOM = ""
ROOM_CODE = re.compile(r"[A-Za-z0-9_-]{1,16}")
FEED_PREFIX = "dashboard:"  # Socket.IO rooms named after classrooms: one live feed each


def parse_room(value: Any) -> str:
    """A room code as sent (absent, null or "" is the default room); raises ProtocolError ``bad_room``."""
    if value is None or value == DEFAULT_ROOM:
        return DEFAULT_ROOM
    if not isinstance(value, str) or not ROOM_CODE.fullmatch(value):
        raise ProtocolError("bad_room", "room must be 1 to 16 letters, digits, _ or -.")
    return value


def feed(room: str) -> str:
    """The Socket.IO room a classroom's dashboards watch."""
    return FEED_PREFIX + room
