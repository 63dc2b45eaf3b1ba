"""What is kept of the browser's side of offline attempts, and of the kiosks' heartbeats (docs/offline.md).

An attempt drawn while the server was unreachable is stored like any other (source ``offline``,
re-recognized by the server's own model); ``OfflineAnswer`` keeps, beside it, what the browser
answered and by which model version it claimed (kept as text, whether the server knows it or not).
``KioskRecord`` is a kiosk's latest heartbeat, for the teacher's kiosk panel.

Both stores keep them in tables of their own (``offline_answers``, ``kiosks``), made on first use: the
attempts table is not changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OfflineAnswer:
    attempt_id: str
    delivered_at: float
    drawn_at: float
    digit: int | None  # the browser's answer
    reason: str | None  # "blank", "too_faint", "too_small", "not_a_digit" or None
    confidence: float | None
    claimed_version: str  # the model version the browser says it ran, as sent
    version_known: bool  # whether this server knows a version of that name
    kiosk_id: str = ""

    def summary(self) -> dict[str, Any]:
        return {
            "delivered_at": self.delivered_at,
            "drawn_at": self.drawn_at,
            "digit": self.digit,
            "reason": self.reason,
            "confidence": self.confidence,
            "model_version": self.claimed_version,
            "version_known": self.version_known,
            "kiosk_id": self.kiosk_id,
        }


@dataclass(frozen=True)
class KioskRecord:
    kiosk_id: str
    last_seen: float
    model_version: str  # the model the kiosk's page runs offline (its claim, as sent)
    online_seconds: float  # since the kiosk's page opened
    offline_seconds: float
    waiting: int  # attempts in its outbox, not yet delivered
    attempts_today: int  # attempts finished on it today, online or offline (its own count)
    state: str  # "online", or "offline" when its last answers came from the browser
    session: str = ""  # the daily pseudonym of its address (server/access/pseudonyms.py), never the address


SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS offline_answers (
    attempt_id TEXT PRIMARY KEY, delivered_at REAL NOT NULL, drawn_at REAL NOT NULL, digit INTEGER,
    reason TEXT, confidence REAL, claimed_version TEXT NOT NULL, version_known INTEGER NOT NULL, kiosk_id TEXT
);
CREATE TABLE IF NOT EXISTS kiosks (
    kiosk_id TEXT PRIMARY KEY, last_seen REAL NOT NULL, model_version TEXT NOT NULL, online_seconds REAL NOT NULL,
    offline_seconds REAL NOT NULL, waiting INTEGER NOT NULL, attempts_today INTEGER NOT NULL, state TEXT NOT NULL,
    session TEXT
);
"""

CASSANDRA_TABLES = (
    """CREATE TABLE IF NOT EXISTS offline_answers (
        attempt_id uuid PRIMARY KEY, delivered_at timestamp, drawn_at timestamp, digit int, reason text,
        confidence double, claimed_version text, version_known boolean, kiosk_id text)""",
    """CREATE TABLE IF NOT EXISTS kiosks (
        kiosk_id text PRIMARY KEY, last_seen timestamp, model_version text, online_seconds double,
        offline_seconds double, waiting int, attempts_today int, state text, session text)""",
)
