"""Apache Cassandra store: the production log, for many servers and many classrooms.

Designed for the reads the API makes, with CQL that Cassandra 2.1 through 5 understand:

* ``attempts``: one row per attempt by id (lookup, image, label).
* ``attempts_by_day``: the same attempts clustered newest first inside a day
  partition, so history pages and stats never scan the table.
* ``attempt_days``: the days that have attempts, newest first, so paging knows
  which partitions to visit.

Rooms (classrooms, ``server/access/rooms.py``) are a column of ``attempts`` and of
``attempts_by_day``, not part of any key: a day partition holds every room's attempts, and
history and stats filter its rows by room as they read them. A day of a busy school is a few
thousand small rows, read anyway for stats; a partition per room and day would make every
existing row unreachable by room and need a migration, for no gain at this size.

One Cluster and Session per process, statements prepared once, DDL idempotent, and no
CQL is ever built from user data (the keyspace name is checked as an identifier).

An attempt's rows go in one *unlogged* batch: every write is an idempotent upsert that
the attempt log retries until it lands, so the batchlog's atomicity buys nothing, and a
logged batch needs a second live node for its batchlog, failing when one of two is down.
"""

from __future__ import annotations

import math
import re
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

from cassandra import ConsistencyLevel, DriverException, InvalidRequest
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable, Session
from cassandra.policies import ConstantReconnectionPolicy, DCAwareRoundRobinPolicy, TokenAwarePolicy
from cassandra.query import BatchStatement, BatchType, PreparedStatement

from server.storage.attempts import Attempt, day_of
from server.storage.offline import CASSANDRA_TABLES as OFFLINE_TABLES
from server.storage.offline import KioskRecord, OfflineAnswer
from server.storage.store import RoomRecord, StoreUnavailable

KEYSPACE_NAME = re.compile(r"[a-z][a-z0-9_]{0,47}")
DAYS_BUCKET = 0  # attempt_days is one small partition: one row per day
MAX_DAYS_VISITED = 400
PAGE_ROWS = 200  # history rows read per slice of a day partition, before filtering by room

TABLES = (
    """CREATE TABLE IF NOT EXISTS attempts (
        id uuid PRIMARY KEY, created_at timestamp, updated_at timestamp, source text, session text,
        digit int, confidence double, probabilities list<double>, image blob, input blob,
        model_version text, frames int, latency_ms double, final boolean, label int, owner text, room text,
        hidden boolean)""",
    """CREATE TABLE IF NOT EXISTS attempts_by_day (
        day text, created_at timestamp, id uuid, digit int, label int, final boolean, room text,
        PRIMARY KEY ((day), created_at, id)) WITH CLUSTERING ORDER BY (created_at DESC, id ASC)""",
    """CREATE TABLE IF NOT EXISTS attempt_days (
        bucket int, day text, PRIMARY KEY ((bucket), day)) WITH CLUSTERING ORDER BY (day DESC)""",
    # A few rows a day at most: read whole, never expired (a stored attempt's room keeps its name).
    """CREATE TABLE IF NOT EXISTS rooms (
        code text PRIMARY KEY, name text, language text, created_at timestamp, last_active timestamp,
        closed_at timestamp)""",
)

# Tables made before attempts had owners, rooms or the hidden flag get the columns. CQL has no ADD IF NOT EXISTS that
# 2.1 understands, so "it is already there" is recognised by its message (2.1 and 5 word it differently).
ADD_COLUMNS = (
    "ALTER TABLE attempts ADD owner text",
    "ALTER TABLE attempts ADD room text",
    "ALTER TABLE attempts_by_day ADD room text",
    "ALTER TABLE attempts ADD hidden boolean",
)
ALREADY_THERE = ("already exist", "conflicts with an existing column")

INSERT = (
    "INSERT INTO attempts (id, created_at, updated_at, source, session, digit, confidence, probabilities, "
    "image, input, model_version, frames, latency_ms, final, room{owner}) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?{mark}) USING TTL ?"
)

STATEMENTS = {
    "insert": INSERT.format(owner=", owner", mark=", ?"),
    # A record without an owner (its tracker entry was evicted) must not erase the stored one.
    "insert_ownerless": INSERT.format(owner="", mark=""),
    "insert_by_day": "INSERT INTO attempts_by_day (day, created_at, id, digit, final, room) "
    "VALUES (?, ?, ?, ?, ?, ?) USING TTL ?",
    "insert_day": "INSERT INTO attempt_days (bucket, day) VALUES (?, ?) USING TTL ?",
    "label": "UPDATE attempts USING TTL ? SET label = ? WHERE id = ?",
    "label_by_day": "UPDATE attempts_by_day USING TTL ? SET label = ? WHERE day = ? AND created_at = ? AND id = ?",
    # Hidden from the wall: a cell of its own that no insert writes, so later upserts keep it.
    "hide": "UPDATE attempts USING TTL ? SET hidden = ? WHERE id = ?",
    "delete": "DELETE FROM attempts WHERE id = ?",
    "delete_by_day": "DELETE FROM attempts_by_day WHERE day = ? AND created_at = ? AND id = ?",
    "get": "SELECT id, created_at, updated_at, source, session, digit, confidence, probabilities, image, input, "
    "model_version, frames, latency_ms, final, label, owner, room, hidden FROM attempts WHERE id = ?",
    "days": "SELECT day FROM attempt_days WHERE bucket = ? AND day <= ? LIMIT ?",
    "page": "SELECT id, created_at, room FROM attempts_by_day WHERE day = ? AND created_at < ? LIMIT ?",
    "outcomes": "SELECT digit, label, final, room FROM attempts_by_day WHERE day = ? AND created_at >= ?",
    "ping": "SELECT release_version FROM system.local",
    "save_room": "INSERT INTO rooms (code, name, language, created_at, last_active, closed_at) "
    "VALUES (?, ?, ?, ?, ?, ?)",
    "get_room": "SELECT code, name, language, created_at, last_active, closed_at FROM rooms WHERE code = ?",
    "rooms": "SELECT code, name, language, created_at, last_active, closed_at FROM rooms",
    # The export reads every row once, paged by the driver; the drawing itself stays in the table.
    "labelled": "SELECT id, created_at, updated_at, source, session, digit, confidence, probabilities, input, "
    "model_version, frames, latency_ms, final, label, room FROM attempts",
}


def time_to_live(created_at: float, retention_seconds: float, now: float) -> int:
    """The TTL that makes a write expire when its attempt leaves the retention period (0: never).

    Every write of an attempt (upsert, label) expires at the same moment, counted from its
    creation, so a late label does not keep a row alive longer than the rest of it.
    """
    if retention_seconds <= 0:
        return 0
    return max(1, math.ceil(created_at + retention_seconds - now))


def to_datetime(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def to_timestamp(moment: datetime) -> float:
    return moment.replace(tzinfo=UTC).timestamp()


def row_to_room(row) -> RoomRecord:
    closed = None if row.closed_at is None else to_timestamp(row.closed_at)
    created, active = to_timestamp(row.created_at), to_timestamp(row.last_active)
    return RoomRecord(row.code, row.name or "", row.language or "", created, active, closed)


def row_to_attempt(row) -> Attempt | None:
    """An ``attempts`` row as an Attempt; None for a label that arrived before its attempt."""
    if row.created_at is None or row.frames is None:
        return None
    image = getattr(row, "image", None)  # the export does not read it
    return Attempt(
        id=str(row.id),
        created_at=to_timestamp(row.created_at),
        updated_at=to_timestamp(row.updated_at),
        source=row.source,
        drawer=row.session,
        digit=row.digit,
        confidence=row.confidence,
        probabilities=list(row.probabilities or []),
        image=image,
        input=row.input,
        model_version=row.model_version,
        frames=row.frames,
        latency_ms=row.latency_ms,
        final=bool(row.final),
        label=row.label,
        owner=getattr(row, "owner", None),  # the export does not read it
        room=row.room or "",  # rows from before rooms have none: the default room
        hidden=bool(getattr(row, "hidden", False)),  # never set (or the export, which does not read it): shown
    )


class CassandraStore:
    def __init__(
        self,
        hosts: list[str],
        port: int = 9042,
        keyspace: str = "digits",
        replication_factor: int = 1,
        consistency: str = "LOCAL_QUORUM",
        retention_seconds: float = 0,
        username: str | None = None,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not KEYSPACE_NAME.fullmatch(keyspace):
            raise ValueError(f"Invalid Cassandra keyspace name {keyspace!r}: use lowercase letters, digits and _.")
        if consistency.upper() not in ConsistencyLevel.name_to_value:
            raise ValueError(f"Unknown Cassandra consistency level {consistency!r}.")
        self.hosts, self.port, self.keyspace = hosts, port, keyspace
        self.replication_factor = replication_factor
        self.retention_seconds = retention_seconds
        self.auth_provider = PlainTextAuthProvider(username, password or "") if username else None
        self.ssl_context = ssl_context
        self.consistency = ConsistencyLevel.name_to_value[consistency.upper()]
        self._lock = threading.Lock()
        self._cluster: Cluster | None = None
        self._session: Session | None = None
        self._prepared: dict[str, PreparedStatement] = {}

    def _connect(self) -> tuple[Session, dict[str, PreparedStatement]]:
        """The one Session of this process, (re)connected on demand; our own retries replace the driver's.

        The driver's default reconnection gives up after 64 attempts, so it is told to
        retry forever, and a cluster that failed outright is rebuilt on the next call.
        """
        with self._lock:
            if self._session is not None and not self._session.is_shutdown:
                return self._session, self._prepared
            profile = ExecutionProfile(
                load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()),
                consistency_level=self.consistency,
                request_timeout=5,
            )
            cluster = Cluster(
                contact_points=self.hosts,
                port=self.port,
                protocol_version=3,
                connect_timeout=3,
                control_connection_timeout=3,
                reconnection_policy=ConstantReconnectionPolicy(delay=1.0, max_attempts=None),
                execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                auth_provider=self.auth_provider,
                ssl_context=self.ssl_context,
            )
            try:
                session = cluster.connect()
                self._create_schema(session)
                session.set_keyspace(self.keyspace)
                prepared = {name: session.prepare(cql) for name, cql in STATEMENTS.items()}
            except (NoHostAvailable, DriverException, OSError) as error:
                cluster.shutdown()
                raise StoreUnavailable(f"Cassandra at {self.hosts}:{self.port} is unreachable: {error}") from error
            self._cluster, self._session, self._prepared = cluster, session, prepared
            return session, prepared

    def _create_schema(self, session: Session) -> None:
        session.execute(
            f"CREATE KEYSPACE IF NOT EXISTS {self.keyspace} WITH replication = "
            f"{{'class': 'SimpleStrategy', 'replication_factor': {int(self.replication_factor)}}}"
        )
        session.set_keyspace(self.keyspace)
        for ddl in TABLES:
            session.execute(ddl, timeout=30)
        for ddl in ADD_COLUMNS:
            try:
                session.execute(ddl, timeout=30)
            except InvalidRequest as error:
                if not any(words in str(error) for words in ALREADY_THERE):
                    raise

    def _execute(self, name: str, parameters: tuple) -> list:
        session, prepared = self._connect()
        try:
            return list(session.execute(prepared[name], parameters))
        except (NoHostAvailable, DriverException, OSError) as error:
            raise StoreUnavailable(f"Cassandra {name} failed: {error}") from error

    def create_schema(self) -> None:
        self._connect()

    def upsert(self, attempts: list[Attempt]) -> None:
        session, prepared = self._connect()
        futures = []
        for attempt in attempts:
            attempt_id, created = uuid.UUID(attempt.id), to_datetime(attempt.created_at)
            day = day_of(attempt.created_at)
            ttl = self._ttl(attempt.created_at)
            batch = BatchStatement(batch_type=BatchType.UNLOGGED, consistency_level=self.consistency)
            owned = attempt.owner is not None
            batch.add(
                prepared["insert" if owned else "insert_ownerless"],
                (
                    attempt_id,
                    created,
                    to_datetime(attempt.updated_at),
                    attempt.source,
                    attempt.drawer,
                    attempt.digit,
                    attempt.confidence,
                    attempt.probabilities,
                    attempt.image,
                    attempt.input,
                    attempt.model_version,
                    attempt.frames,
                    attempt.latency_ms,
                    attempt.final,
                    attempt.room,
                    *((attempt.owner,) if owned else ()),
                    ttl,
                ),
            )
            by_day = (day, created, attempt_id, attempt.digit, attempt.final, attempt.room, ttl)
            batch.add(prepared["insert_by_day"], by_day)
            batch.add(prepared["insert_day"], (DAYS_BUCKET, day, ttl))
            futures.append(session.execute_async(batch))
        try:
            for future in futures:
                future.result()
        except (NoHostAvailable, DriverException, OSError) as error:
            raise StoreUnavailable(f"Cassandra write failed: {error}") from error

    def set_label(self, attempt_id: str, label: int | None, created_at: float) -> None:
        session, prepared = self._connect()
        key = uuid.UUID(attempt_id)
        batch = BatchStatement(batch_type=BatchType.UNLOGGED, consistency_level=self.consistency)
        ttl = self._ttl(created_at)
        batch.add(prepared["label"], (ttl, label, key))
        batch.add(prepared["label_by_day"], (ttl, label, day_of(created_at), to_datetime(created_at), key))
        try:
            session.execute(batch)
        except (NoHostAvailable, DriverException, OSError) as error:
            raise StoreUnavailable(f"Cassandra label write failed: {error}") from error

    def set_hidden(self, attempt_id: str, hidden: bool, created_at: float) -> None:
        """Hide an attempt from the wall, or show it again; it expires with the rest of the attempt."""
        self._execute("hide", (self._ttl(created_at), hidden, uuid.UUID(attempt_id)))

    def delete(self, attempt_id: str, created_at: float) -> None:
        """The attempt's row (drawing included) and its history row, together."""
        session, prepared = self._connect()
        key = uuid.UUID(attempt_id)
        batch = BatchStatement(batch_type=BatchType.UNLOGGED, consistency_level=self.consistency)
        batch.add(prepared["delete"], (key,))
        batch.add(prepared["delete_by_day"], (day_of(created_at), to_datetime(created_at), key))
        try:
            session.execute(batch)
        except (NoHostAvailable, DriverException, OSError) as error:
            raise StoreUnavailable(f"Cassandra delete failed: {error}") from error

    def _ttl(self, created_at: float) -> int:
        return time_to_live(created_at, self.retention_seconds, time.time())

    def purge(self, before: float) -> None:
        """Nothing to do: every write carries a TTL, so Cassandra forgets expired attempts itself."""

    def get(self, attempt_id: str) -> Attempt | None:
        rows = self._execute("get", (uuid.UUID(attempt_id),))
        return row_to_attempt(rows[0]) if rows else None

    def _days(self, newest: float, oldest: float | None = None) -> list[str]:
        rows = self._execute("days", (DAYS_BUCKET, day_of(newest), MAX_DAYS_VISITED))
        days = [row.day for row in rows]
        return [day for day in days if oldest is None or day >= day_of(oldest)]

    def _room_page(self, day: str, before: datetime, room: str, wanted: int) -> list[uuid.UUID]:
        """Up to ``wanted`` ids of ``room``'s attempts in one day partition, newest first, before ``before``.

        The partition holds every room's rows, so it is read in slices until enough are this room's.
        """
        ids: list[uuid.UUID] = []
        while len(ids) < wanted:
            rows = self._execute("page", (day, before, PAGE_ROWS))
            ids.extend(row.id for row in rows if (row.room or "") == room)
            if len(rows) < PAGE_ROWS:
                break
            before = rows[-1].created_at
        return ids[:wanted]

    def recent(self, limit: int, before: float | None, room: str = "") -> list[Attempt]:
        before = before if before is not None else datetime.now(UTC).timestamp() + 86400
        ids: list[uuid.UUID] = []
        for day in self._days(before):
            ids.extend(self._room_page(day, to_datetime(before), room, limit - len(ids)))
            if len(ids) >= limit:
                break
        # One round trip for the whole page: the lookups by id go out together.
        session, prepared = self._connect()
        futures = [session.execute_async(prepared["get"], (attempt_id,)) for attempt_id in ids]
        try:
            rows = [future.result().one() for future in futures]
        except (NoHostAvailable, DriverException, OSError) as error:
            raise StoreUnavailable(f"Cassandra get failed: {error}") from error
        attempts = [row_to_attempt(row) for row in rows if row is not None]
        return [attempt for attempt in attempts if attempt is not None]

    def outcomes(self, since: float, room: str = "") -> list[tuple[int | None, int | None]]:
        now = datetime.now(UTC).timestamp() + 86400
        return [
            (row.digit, row.label)
            for day in self._days(now, since)
            for row in self._execute("outcomes", (day, to_datetime(since)))
            if row.final and (row.room or "") == room
        ]

    def labelled(self, page_size: int = 500) -> Iterator[Attempt]:
        """Attempts with a label and the model's input, ``page_size`` rows per round trip.

        A full scan of ``attempts`` (there is no index on label), but never all of it in
        memory: the driver fetches the next page as this generator is consumed.
        """
        session, prepared = self._connect()
        statement = prepared["labelled"].bind(())
        statement.fetch_size = page_size
        try:
            for row in session.execute(statement):
                if row.label is not None and row.input is not None:
                    attempt = row_to_attempt(row)
                    if attempt is not None:
                        yield attempt
        except (NoHostAvailable, DriverException, OSError) as error:
            raise StoreUnavailable(f"Cassandra export failed: {error}") from error

    def save_room(self, room: RoomRecord) -> None:
        closed = None if room.closed_at is None else to_datetime(room.closed_at)
        times = (to_datetime(room.created_at), to_datetime(room.last_active), closed)
        self._execute("save_room", (room.code, room.name, room.language, *times))

    def get_room(self, code: str) -> RoomRecord | None:
        rows = self._execute("get_room", (code,))
        return row_to_room(rows[0]) if rows else None

    def rooms(self) -> list[RoomRecord]:
        return sorted((row_to_room(row) for row in self._execute("rooms", ())), key=lambda room: room.created_at)

    def ping(self) -> None:
        self._execute("ping", ())

    def close(self) -> None:
        with self._lock:
            if self._cluster is not None:
                self._cluster.shutdown()
            self._cluster = self._session = None

    # The browser's side of offline attempts and the kiosks' heartbeats (server/storage/offline.py): tables
    # of their own, made on first use, with plain (unprepared) statements: they are rare writes.

    def _offline_run(self, cql: str, parameters: tuple = ()) -> list:
        session, _ = self._connect()
        try:
            if not getattr(self, "_offline_ready", False):
                for ddl in OFFLINE_TABLES:
                    session.execute(ddl, timeout=30)
                self._offline_ready = True
            return list(session.execute(cql, parameters))
        except (NoHostAvailable, DriverException, OSError) as error:
            raise StoreUnavailable(f"Cassandra offline tables failed: {error}") from error

    def save_offline_answer(self, answer: OfflineAnswer) -> None:
        """Idempotent: a second delivery of the same attempt keeps the first record (a lightweight transaction)."""
        self._offline_run(
            "INSERT INTO offline_answers (attempt_id, delivered_at, drawn_at, digit, reason, confidence, "
            "claimed_version, version_known, kiosk_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) IF NOT EXISTS"
            + (f" USING TTL {self._ttl(answer.drawn_at)}" if self.retention_seconds else ""),
            (
                uuid.UUID(answer.attempt_id),
                to_datetime(answer.delivered_at),
                to_datetime(answer.drawn_at),
                answer.digit,
                answer.reason,
                answer.confidence,
                answer.claimed_version,
                answer.version_known,
                answer.kiosk_id,
            ),
        )

    def offline_answer(self, attempt_id: str) -> OfflineAnswer | None:
        rows = self._offline_run("SELECT * FROM offline_answers WHERE attempt_id = %s", (uuid.UUID(attempt_id),))
        if not rows:
            return None
        row = rows[0]
        return OfflineAnswer(
            str(row.attempt_id),
            to_timestamp(row.delivered_at),
            to_timestamp(row.drawn_at),
            row.digit,
            row.reason,
            row.confidence,
            row.claimed_version or "",
            bool(row.version_known),
            row.kiosk_id or "",
        )

    def save_kiosk(self, kiosk: KioskRecord) -> None:
        self._offline_run(
            "INSERT INTO kiosks (kiosk_id, last_seen, model_version, online_seconds, offline_seconds, waiting, "
            "attempts_today, state, session) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                kiosk.kiosk_id,
                to_datetime(kiosk.last_seen),
                kiosk.model_version,
                kiosk.online_seconds,
                kiosk.offline_seconds,
                kiosk.waiting,
                kiosk.attempts_today,
                kiosk.state,
                kiosk.session,
            ),
        )

    def kiosks(self) -> list[KioskRecord]:
        rows = self._offline_run("SELECT * FROM kiosks")
        found = [
            KioskRecord(
                row.kiosk_id,
                to_timestamp(row.last_seen),
                row.model_version or "",
                row.online_seconds or 0.0,
                row.offline_seconds or 0.0,
                row.waiting or 0,
                row.attempts_today or 0,
                row.state or "",
                row.session or "",
            )
            for row in rows
        ]
        return sorted(found, key=lambda kiosk: kiosk.kiosk_id)

    def forget_offline_answer(self, attempt_id: str) -> None:
        """With its attempt (DELETE /api/attempts/<id>)."""
        self._offline_run("DELETE FROM offline_answers WHERE attempt_id = %s", (uuid.UUID(attempt_id),))

    def purge_offline_answers(self, before: float) -> None:
        """Nothing to do: each row expires with its attempt (its TTL)."""
