"""What the web process remembers of the attempts being drawn, so a frame needs no store read.

For each recent attempt: when it started, how many frames it had, whether a final frame
ended it, which connection draws it and its owner's token hash. The handlers ask it who
may draw or label an attempt (one dict lookup for the common frame); the results loop
(``server/serving/results.py``) counts each answered frame here.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import NamedTuple

from server.access.owners import owner_token_for
from server.storage.attempts import Attempt

TRACKED_ATTEMPTS = 10_000


class Tracked(NamedTuple):
    created_at: float
    frames: int
    sid: str | None  # the connection that started (or resumed) it; None for REST attempts
    ended: bool  # a final frame of the attempt was classified
    owner: str | None = None  # the owner token's hash, stored with the attempt
    token: str | None = None  # the owner token itself, for the first answer; only where it was made
    hidden: bool = False  # the teacher hid it from the wall: its next frames' ``attempt`` events say so


class AttemptTracker:
    """What a frame lacks of its attempt's record: when it started, how many frames it had, whether it
    ended, and who owns it (so the common frame, from its own connection, is let through by one lookup)."""

    def __init__(self, capacity: int = TRACKED_ATTEMPTS) -> None:
        self._attempts: collections.OrderedDict[str, Tracked] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.capacity = capacity

    def claim(self, attempt_id: str, tracked: Tracked) -> Tracked:
        """Track ``tracked`` unless the attempt already is; returns whichever is tracked (first claim wins)."""
        with self._lock:
            current = self._attempts.setdefault(attempt_id, tracked)
            self._evict()
            return current

    def observe(self, attempt_id: str, sid: str | None, final: bool) -> Tracked:
        """Count one more classified frame; returns the attempt as it was before this frame ended it."""
        with self._lock:
            before = self._attempts.pop(attempt_id, Tracked(time.time(), 0, sid, False))
            # The owner token goes out with the first answer only; memory keeps just its hash after that.
            self._attempts[attempt_id] = before._replace(
                frames=before.frames + 1, ended=before.ended or final, token=None
            )
            self._evict()
            return before._replace(frames=before.frames + 1)

    def set_hidden(self, attempt_id: str, hidden: bool) -> None:
        """The teacher hid the attempt from the wall (or showed it again); nothing to do if it is not tracked."""
        with self._lock:
            tracked = self._attempts.get(attempt_id)
            if tracked is not None:
                self._attempts[attempt_id] = tracked._replace(hidden=hidden)

    def get(self, attempt_id: str) -> Tracked | None:
        return self._attempts.get(attempt_id)  # one dict read: atomic, and on every frame's path

    def forget(self, attempt_id: str) -> None:
        with self._lock:
            self._attempts.pop(attempt_id, None)

    def _evict(self) -> None:
        """Called with the lock held: the oldest attempts go first; the store still knows their owners."""
        while len(self._attempts) > self.capacity:
            self._attempts.popitem(last=False)


def starting(stored: Attempt | None, sid: str | None, proposed: str | None = None) -> Tracked:
    """The tracker entry for an attempt that is not tracked: resumed from the store, else new, owned by the
    token its first frame proposed (``owner_token_for``) or a fresh one."""
    if stored is not None:
        return Tracked(stored.created_at, stored.frames, sid, stored.final, stored.owner, hidden=stored.hidden)
    token, owner = owner_token_for(proposed)
    return Tracked(time.time(), 0, sid, False, owner, token)
