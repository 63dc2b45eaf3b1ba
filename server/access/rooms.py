"""Classrooms: a short code that keeps one class's drawings, feed and stats apart from another's.

Two kinds of room, one namespace of codes:

* **Opened rooms**: a teacher opens one (``POST /api/rooms``, the dashboard's button) and gets a
  six-digit code, easy to read aloud and type on a phone, with a QR code of the join link. Only an
  open code is accepted (``unknown_room`` otherwise, and each miss spends one of the address's
  guesses, ``server/access/limits.py``); its connections and frames count against the room's own
  budget, so a whole school behind one address fits. It expires after ``ROOM_IDLE_MINUTES``
  without a connection or a frame, or when the teacher closes it.
* **Free rooms**: any other code of 1 to 16 of ``A-Z a-z 0-9 _ -`` (``/?room=7B``), as before
  opened rooms existed, for a teacher who runs without the key. They keep apart the feed and the
  stats, nothing more: anyone may type one, and they share the address's limits.
  ``FREE_ROOMS=false`` refuses them (``unknown_room``), leaving opened rooms only.

No room is the default room "". Anything that is not a code is refused with ``bad_room`` rather
than cleaned up, so a typo is noticed instead of silently landing in another room.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from server.errors import ProtocolError
from server.storage.store import RoomRecord, Store

DEFAULT_ROOM = ""
ROOM_CODE = re.compile(r"[A-Za-z0-9_-]{1,16}")
OPENED_CODE = re.compile(r"[0-9]{6}")  # the codes teachers open; never a free room
FEED_PREFIX = "dashboard:"  # Socket.IO rooms named after classrooms: one live feed each
LANGUAGES = ("en", "de", "es", "fr", "ar")  # the page's catalogues (frontend/i18n/)
MAX_NAME_CHARS = 40
REFRESH_SECONDS = 5.0  # how long a process trusts what it knows of a room (another may close it)
TOUCH_SECONDS = 60.0  # last_active is written at most this often per room and process
UNKNOWN = "This class code is not open: check it with your teacher. You can still draw on your own."


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


def room_json(room: RoomRecord, idle_seconds: float) -> dict[str, Any]:
    """What the API says of an opened room (the join link and QR code are added by the route)."""
    return {
        "code": room.code,
        "name": room.name,
        "language": room.language,
        "created_at": room.created_at,
        "expires_at": room.last_active + idle_seconds,
    }


class RoomRegistry:
    """The opened rooms, read through to the store (every server process sees the same), cached briefly."""

    def __init__(
        self, store: Store, idle_seconds: float, free_rooms: bool = True, clock: Callable[[], float] = time.time
    ) -> None:
        self.store, self.idle_seconds, self.free_rooms, self.clock = store, idle_seconds, free_rooms, clock
        self._known: dict[str, tuple[RoomRecord | None, float]] = {}  # code -> (record, when it was read)
        self._touched: dict[str, float] = {}
        self._lock = threading.Lock()

    def open(self, name: str = "", language: str = "") -> RoomRecord:
        """A new room with a code never handed out before; raises ValueError for a bad name or language."""
        name = " ".join(name.split()) if isinstance(name, str) else name
        if not isinstance(name, str) or len(name) > MAX_NAME_CHARS or not name.isprintable():
            raise ValueError(f"name must be text of at most {MAX_NAME_CHARS} characters.")
        if language not in ("", *LANGUAGES):
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)} (or empty).")
        while True:
            code = f"{secrets.randbelow(10**6):06d}"
            if self.store.get_room(code) is None:
                break
        now = self.clock()
        room = RoomRecord(code, name, language, now, now)
        self.store.save_room(room)
        self._remember(room)
        return room

    def close(self, code: str) -> bool:
        """Close an open room at once, everywhere (other processes within ``REFRESH_SECONDS``); False when
        it is not open."""
        room = self.find_open(code, fresh=True)
        if room is None:
            return False
        closed = replace(room, closed_at=self.clock())
        self.store.save_room(closed)
        self._remember(closed)
        return True

    def list_open(self) -> list[RoomRecord]:
        rooms = [room for room in self.store.rooms() if self._is_open(room)]
        for room in rooms:
            self._remember(room)
        return rooms

    def find_open(self, code: str, fresh: bool = False) -> RoomRecord | None:
        """The open room with this code, or None (closed, expired or never opened). Raises StoreUnavailable."""
        if not OPENED_CODE.fullmatch(code):
            return None
        with self._lock:
            known = self._known.get(code)
        if fresh or known is None or self.clock() - known[1] > REFRESH_SECONDS:
            known = (self.store.get_room(code), self.clock())
            with self._lock:
                self._known[code] = known
        room = known[0]
        return room if room is not None and self._is_open(room) else None

    def check(self, code: str) -> str:
        """The room a frame or request may use: the default room, an open room or (unless refused) a free
        one. Raises ProtocolError ``unknown_room`` for a code that is not open."""
        if code == DEFAULT_ROOM:
            return code
        if OPENED_CODE.fullmatch(code):
            if self.find_open(code) is None:
                raise ProtocolError("unknown_room", UNKNOWN)
            self.touch(code)
            return code
        if not self.free_rooms:
            raise ProtocolError("unknown_room", UNKNOWN)
        return code

    def touch(self, code: str) -> None:
        """The room is in use: push its expiry back (written at most once a minute per process)."""
        now = self.clock()
        with self._lock:
            if now - self._touched.get(code, 0.0) < TOUCH_SECONDS:
                return
            self._touched[code] = now
            known = self._known.get(code)
        if known is not None and known[0] is not None and self._is_open(known[0]):
            active = replace(known[0], last_active=now)
            self.store.save_room(active)
            self._remember(active)

    def _is_open(self, room: RoomRecord) -> bool:
        return room.closed_at is None and self.clock() - room.last_active <= self.idle_seconds

    def _remember(self, room: RoomRecord) -> None:
        with self._lock:
            self._known[room.code] = (room, self.clock())
