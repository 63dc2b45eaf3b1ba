"""Drawer pseudonyms: the ``session`` stored and published with an attempt is never an address or a sid.

It is HMAC-SHA256(secret, day + identifier): stable for one drawer (a connection's sid, or a
REST caller's address) within a UTC day, which is what the retrain split needs to keep one
drawer's attempts together, and unlinkable across days. The secret lives in
``DATA_DIR/pseudonym_secret`` (mode 0600) so that every server process makes the same
pseudonyms; deleting it unlinks every pseudonym made before.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from pathlib import Path

from server.access.local_secret import read_or_create

SECRET_FILE = "pseudonym_secret"
LENGTH = 32  # hex characters: 128 bits, plenty to keep a day's drawers apart


def utc_day() -> str:
    return time.strftime("%Y-%m-%d", time.gmtime())


class Pseudonyms:
    def __init__(self, data_dir: str | Path, today: Callable[[], str] = utc_day) -> None:
        self._key = read_or_create(Path(data_dir) / SECRET_FILE)[0].encode()
        self._today = today

    def __call__(self, identifier: str) -> str:
        """The drawer's pseudonym for today."""
        message = f"{self._today()}\n{identifier}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:LENGTH]
