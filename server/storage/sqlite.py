"""The embedded default store: one SQLite file, no service to run.

One connection shared behind a lock: writes come from the attempt log's single writer
thread, reads from request threads; WAL mode lets them overlap.

The connection is opened (and the schema created) on first use, and again on the next
call after opening failed: a file that cannot be opened (a mount that is not there yet, a
directory in its place) makes the store unavailable, as an unreachable Cassandra node
does, instead of stopping the app from starting. The attempt log then spools and retries.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from server.concurrency import off_the_loop
from server.storage.attempts import Attempt
from server.storage.offline import SQLITE_SCHEMA as OFFLINE_SCHEMA
from server.storage.offline import KioskRecord, OfflineAnswer
from server.storage.store import RoomRecord, StoreUnavailable

SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    source TEXT NOT NULL,
    session TEXT NOT NULL,
    digit INTEGER,
    confidence REAL NOT NULL,
    probabilities TEXT NOT NULL,
    image BLOB,
    input BLOB,
    model_version TEXT NOT NULL,
    frames INTEGER NOT NULL,
    latency_ms REAL NOT NULL,
    final INTEGER NOT NULL,
    label INTEGER,
    owner TEXT,
    room TEXT,
    hidden INTEGER
);
CREATE INDEX IF NOT EXISTS attempts_by_time ON attempts (created_at DESC);
CREATE TABLE IF NOT EXISTS rooms (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    language TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_active REAL NOT NULL,
    closed_at REAL
);
"""
IN_ROOM = "COALESCE(room, '') = ?"  # rows from before rooms have none: the default room

UPSERT = """
INSERT INTO attempts (id, created_at, updated_at, source, session, digit, confidence, probabilities, image, input,
                      model_version, frames, latency_ms, final, owner, room)
VALUES (:id, :created_at, :updated_at, :source, :drawer, :digit, :confidence, :probabilities, :image, :input,
        :model_version, :frames, :latency_ms, :final, :owner, :room)
ON CONFLICT (id) DO UPDATE SET
    updated_at = excluded.updated_at, source = excluded.source, session = excluded.session,
    digit = excluded.digit, confidence = excluded.confidence, probabilities = excluded.probabilities,
    image = excluded.image, input = excluded.input, model_version = excluded.model_version,
    frames = excluded.frames, latency_ms = excluded.latency_ms, final = excluded.final,
    owner = COALESCE(excluded.owner, attempts.owner), room = excluded.room,
    created_at = MIN(attempts.created_at, excluded.created_at)
"""

# A label may arrive before the attempt's first write lands; keep it on a placeholder row.
LABEL = """
INSERT INTO attempts (id, created_at, updated_at, source, session, confidence, probabilities, model_version,
                      frames, latency_ms, final, label)
VALUES (:id, :created_at, :created_at, 'canvas', '', 0, '[]', '', 0, 0, 0, :label)
ON CONFLICT (id) DO UPDATE SET label = excluded.label
"""

# Hidden from the wall (moderation): a flag of its own, which no upsert touches; like a label, it may
# arrive before the attempt's first write lands, and waits on a placeholder row.
HIDE = """
INSERT INTO attempts (id, created_at, updated_at, source, session, confidence, probabilities, model_version,
                      frames, latency_ms, final, hidden)
VALUES (:id, :created_at, :created_at, 'canvas', '', 0, '[]', '', 0, 0, 0, :hidden)
ON CONFLICT (id) DO UPDATE SET hidden = excluded.hidden
"""

COLUMNS = (
    "id, created_at, source, session AS drawer, digit, confidence, probabilities, image, input, model_version, frames, "
    "latency_ms, final, label, updated_at, owner, COALESCE(room, '') AS room, COALESCE(hidden, 0) AS hidden"
)
# Files made before attempts had owners, rooms or the hidden flag get the column; a no-op once it is there.
ADDED_COLUMNS = {"owner": "TEXT", "room": "TEXT", "hidden": "INTEGER"}


def add_columns(connection: sqlite3.Connection) -> None:
    """Older files get the columns added since (``ADDED_COLUMNS``); idempotent."""
    columns = {row["name"] for row in connection.execute("PRAGMA table_info(attempts)")}
    for name, kind in ADDED_COLUMNS.items():
        if name not in columns:
            connection.execute(f"ALTER TABLE attempts ADD COLUMN {name} {kind}")


def row_to_attempt(row: sqlite3.Row) -> Attempt:
    record = dict(row)
    record["probabilities"] = json.loads(record["probabilities"])
    record["final"] = bool(record["final"])
    record["hidden"] = bool(record["hidden"])
    return Attempt(**record)


class SqliteStore:
    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        """The shared connection, opened with the schema in place on first use; called with the lock held."""
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            try:
                connection.row_factory = sqlite3.Row
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=FULL")  # a committed attempt survives a crash
                connection.execute("PRAGMA busy_timeout=5000")
                connection.executescript(SCHEMA)
                add_columns(connection)
            except sqlite3.Error:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def _run(self, sql: str, parameters=(), many: bool = False) -> list[sqlite3.Row]:
        """One statement (or one batch, in one transaction) on the shared connection, off the event loop."""
        try:
            with self._lock:
                return off_the_loop(self._execute, sql, parameters, many)
        except (sqlite3.OperationalError, OSError) as error:
            raise StoreUnavailable(f"SQLite {self.path}: {error}") from error

    def _execute(self, sql: str, parameters, many: bool) -> list[sqlite3.Row]:
        """Called with the lock held; a batch commits (and fsyncs) before it returns."""
        connection = self._connect()
        if many:
            with connection:
                connection.executemany(sql, parameters)
            return []
        return connection.execute(sql, parameters).fetchall()

    def create_schema(self) -> None:
        """Idempotent: connecting creates whatever is missing."""
        self._run("SELECT 1")

    def upsert(self, attempts: list[Attempt]) -> None:
        rows = [
            {**attempt.__dict__, "probabilities": json.dumps(attempt.probabilities), "final": int(attempt.final)}
            for attempt in attempts
        ]
        self._run(UPSERT, rows, many=True)

    def set_label(self, attempt_id: str, label: int | None, created_at: float) -> None:
        self._run(LABEL, {"id": attempt_id, "label": label, "created_at": created_at})

    def set_hidden(self, attempt_id: str, hidden: bool, created_at: float) -> None:
        """Hide an attempt from the wall, or show it again; later upserts keep the flag."""
        self._run(HIDE, {"id": attempt_id, "hidden": int(hidden), "created_at": created_at})

    def delete(self, attempt_id: str, created_at: float) -> None:
        """The attempt's row, drawing and all; ``created_at`` is for stores that index by day."""
        self._run("DELETE FROM attempts WHERE id = ?", (attempt_id,))

    def purge(self, before: float) -> None:
        """Forget attempts created before ``before``: the retention period, enforced (idempotent, indexed)."""
        self._run("DELETE FROM attempts WHERE created_at < ?", (before,))

    def get(self, attempt_id: str) -> Attempt | None:
        rows = self._run(f"SELECT {COLUMNS} FROM attempts WHERE id = ? AND frames > 0", (attempt_id,))
        return row_to_attempt(rows[0]) if rows else None

    def recent(self, limit: int, before: float | None, room: str = "") -> list[Attempt]:
        rows = self._run(
            f"SELECT {COLUMNS} FROM attempts WHERE frames > 0 AND created_at < ? AND {IN_ROOM} "
            "ORDER BY created_at DESC LIMIT ?",
            (before if before is not None else float("inf"), room, limit),
        )
        return [row_to_attempt(row) for row in rows]

    def outcomes(self, since: float, room: str = "") -> list[tuple[int | None, int | None]]:
        rows = self._run(
            f"SELECT digit, label FROM attempts WHERE final = 1 AND created_at >= ? AND {IN_ROOM}", (since, room)
        )
        return [(row["digit"], row["label"]) for row in rows]

    def labelled(self, page_size: int = 500) -> Iterator[Attempt]:
        """Attempts with a label and the model's input, oldest first, a page at a time (keyset paging).

        The drawing itself is left out: training needs the 28x28 input the model saw.
        """
        after: tuple[float, str] = (float("-inf"), "")
        columns = COLUMNS.replace("image, ", "NULL AS image, ")
        while True:
            rows = self._run(
                f"SELECT {columns} FROM attempts WHERE label IS NOT NULL AND input IS NOT NULL AND frames > 0 "
                "AND (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?",
                (*after, page_size),
            )
            yield from (row_to_attempt(row) for row in rows)
            if len(rows) < page_size:
                return
            after = (rows[-1]["created_at"], rows[-1]["id"])

    def save_room(self, room: RoomRecord) -> None:
        self._run(
            "INSERT OR REPLACE INTO rooms (code, name, language, created_at, last_active, closed_at) "
            "VALUES (:code, :name, :language, :created_at, :last_active, :closed_at)",
            room.__dict__,
        )

    def get_room(self, code: str) -> RoomRecord | None:
        rows = self._run("SELECT * FROM rooms WHERE code = ?", (code,))
        return RoomRecord(**dict(rows[0])) if rows else None

    def rooms(self) -> list[RoomRecord]:
        return [RoomRecord(**dict(row)) for row in self._run("SELECT * FROM rooms ORDER BY created_at")]

    def ping(self) -> None:
        self._run("SELECT 1")

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
            self._connection = None

    # The browser's side of offline attempts and the kiosks' heartbeats (server/storage/offline.py): tables
    # of their own, made on first use.

    def _offline_tables(self) -> None:
        if not getattr(self, "_offline_ready", False):
            with self._lock:
                self._connect().executescript(OFFLINE_SCHEMA)
            self._offline_ready = True

    def save_offline_answer(self, answer: OfflineAnswer) -> None:
        """Idempotent: a second delivery of the same attempt keeps the first record."""
        self._offline_tables()
        self._run(
            "INSERT OR IGNORE INTO offline_answers (attempt_id, delivered_at, drawn_at, digit, reason, confidence, "
            "claimed_version, version_known, kiosk_id) VALUES (:attempt_id, :delivered_at, :drawn_at, :digit, "
            ":reason, :confidence, :claimed_version, :version_known, :kiosk_id)",
            {**answer.__dict__, "version_known": int(answer.version_known)},
        )

    def offline_answer(self, attempt_id: str) -> OfflineAnswer | None:
        self._offline_tables()
        rows = self._run("SELECT * FROM offline_answers WHERE attempt_id = ?", (attempt_id,))
        if not rows:
            return None
        return OfflineAnswer(**{**dict(rows[0]), "version_known": bool(rows[0]["version_known"])})

    def save_kiosk(self, kiosk: KioskRecord) -> None:
        self._offline_tables()
        self._run(
            "INSERT OR REPLACE INTO kiosks (kiosk_id, last_seen, model_version, online_seconds, offline_seconds, "
            "waiting, attempts_today, state, session) VALUES (:kiosk_id, :last_seen, :model_version, "
            ":online_seconds, :offline_seconds, :waiting, :attempts_today, :state, :session)",
            kiosk.__dict__,
        )

    def kiosks(self) -> list[KioskRecord]:
        self._offline_tables()
        return [KioskRecord(**dict(row)) for row in self._run("SELECT * FROM kiosks ORDER BY kiosk_id")]

    def forget_offline_answer(self, attempt_id: str) -> None:
        """With its attempt (DELETE /api/attempts/<id>)."""
        self._offline_tables()
        self._run("DELETE FROM offline_answers WHERE attempt_id = ?", (attempt_id,))

    def purge_offline_answers(self, before: float) -> None:
        """Forget the browser's answers of attempts drawn before ``before`` (the retention period)."""
        self._offline_tables()
        self._run("DELETE FROM offline_answers WHERE drawn_at < ?", (before,))
