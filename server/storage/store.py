"""What every attempt store offers (``Store``) and how it fails (``StoreUnavailable``).

The two stores, ``sqlite.py`` (the default) and ``cassandra.py``, implement it; ``urls.py`` opens
one from ``STORE_URL``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from server.storage.attempts import Attempt


@dataclass(frozen=True)
class RoomRecord:
    """A classroom a teacher opened (``server/access/rooms.py``): kept after it closes, so a stored
    attempt's room code always has its name, and a code is never handed out twice."""

    code: str
    name: str
    language: str  # "" for the pupil's own; else a catalogue (frontend/i18n/) the page uses for the class
    created_at: float
    last_active: float  # written at most once a minute; the room expires after ROOM_IDLE_MINUTES without use
    closed_at: float | None = None


class StoreUnavailable(Exception):
    """The store cannot be reached right now; the caller spools and retries."""


class Store(Protocol):
    """What the attempt log and the API need from a database."""

    def create_schema(self) -> None: ...
    def upsert(self, attempts: list[Attempt]) -> None: ...
    def set_label(self, attempt_id: str, label: int | None, created_at: float) -> None: ...
    def delete(self, attempt_id: str, created_at: float) -> None: ...
    def purge(self, before: float) -> None: ...
    def get(self, attempt_id: str) -> Attempt | None: ...
    def recent(self, limit: int, before: float | None, room: str = "") -> list[Attempt]: ...
    def outcomes(self, since: float, room: str = "") -> list[tuple[int | None, int | None]]: ...
    def labelled(self, page_size: int = 500) -> Iterator[Attempt]: ...
    def save_room(self, room: RoomRecord) -> None: ...
    def get_room(self, code: str) -> RoomRecord | None: ...
    def rooms(self) -> list[RoomRecord]: ...
    def ping(self) -> None: ...
    def close(self) -> None: ...
