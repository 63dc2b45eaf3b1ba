"""The attempt log: writes never slow a draft, and nothing answered is lost.

Predictions hand their records to ``AttemptLog``. A writer thread flushes them to the
store every ``flush_seconds``, keeping only the latest version of each attempt (an
attempt is upserted by id as its frames arrive).

An answer is a promise: a final frame's ``prediction`` and every REST answer are sent
only once their attempt is durable, in the store or in the spool. Such a record comes
with an ``on_durable`` callback and wakes the writer at once; every answer that arrives
while a write is under way joins the next one, so concurrent answers share one commit
(group commit). Drafts (non-final frames) only wait for the next flush: a crash may
lose a draft, never an answer.

When the store fails, for whatever reason, the batch goes to a durable local spool (an
SQLite file, fsynced on every commit) and the log reports itself degraded. From then on
new writes join the spool behind the old ones, and the writer keeps retrying on its own
schedule; once the store answers again, the spool drains oldest first and direct writes
resume. Replays are safe because every write is an idempotent upsert by attempt id.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from server.concurrency import off_the_loop
from server.storage.attempts import Attempt
from server.storage.store import Store, StoreUnavailable

log = logging.getLogger("digits.attempt_log")
DRAIN_BATCH = 200
Durable = Callable[[bool], None]  # told True once a record is in the store or the spool, False if neither took it


class Spool:
    """A durable FIFO of pending writes, one JSON operation per row (attempts serialized losslessly)."""

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS spool (seq INTEGER PRIMARY KEY AUTOINCREMENT, op TEXT NOT NULL)")

    def push(self, operations: list[dict[str, Any]]) -> None:
        rows = [(encode(op),) for op in operations]
        with self._lock:
            off_the_loop(self._commit, "INSERT INTO spool (op) VALUES (?)", rows, many=True)

    def _commit(self, sql: str, parameters: Any, many: bool = False) -> None:
        """One transaction, fsynced before it returns: called off the event loop with the lock held."""
        with self._db:
            if many:
                self._db.executemany(sql, parameters)
            else:
                self._db.execute(sql, parameters)

    def peek(self, count: int) -> list[tuple[int, dict[str, Any]]]:
        with self._lock:
            rows = self._db.execute("SELECT seq, op FROM spool ORDER BY seq LIMIT ?", (count,)).fetchall()
        return [(seq, decode(op)) for seq, op in rows]

    def remove_through(self, seq: int) -> None:
        with self._lock:
            off_the_loop(self._commit, "DELETE FROM spool WHERE seq <= ?", (seq,))

    def purge(self, before: float) -> None:
        """Drop spooled writes of attempts created before ``before``: retention holds while the store is down."""
        sql = (
            "DELETE FROM spool WHERE COALESCE(json_extract(op, '$.created_at'), "
            "json_extract(json_extract(op, '$.attempt'), '$.created_at')) < ?"
        )
        with self._lock:
            off_the_loop(self._commit, sql, (before,))

    def depth(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM spool").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def upsert_op(attempt: Attempt) -> dict[str, Any]:
    return {"op": "upsert", "attempt": attempt}


def encode(operation: dict[str, Any]) -> str:
    """An operation as spool JSON; only spooled writes pay for serializing their attempt."""
    if operation["op"] == "upsert":
        operation = {**operation, "attempt": operation["attempt"].to_json()}
    return json.dumps(operation)


def decode(text: str) -> dict[str, Any]:
    operation = json.loads(text)
    if operation["op"] == "upsert":
        operation["attempt"] = Attempt.from_json(operation["attempt"])
    return operation


def label_op(attempt_id: str, label: int | None, created_at: float) -> dict[str, Any]:
    return {"op": "label", "id": attempt_id, "label": label, "created_at": created_at}


def hidden_op(attempt_id: str, hidden: bool, created_at: float) -> dict[str, Any]:
    return {"op": "hidden", "id": attempt_id, "hidden": hidden, "created_at": created_at}


def delete_op(attempt_id: str, created_at: float) -> dict[str, Any]:
    return {"op": "delete", "id": attempt_id, "created_at": created_at}


def apply(store: Store, operations: list[dict[str, Any]]) -> None:
    """Write operations in order: consecutive upserts go as one batch."""
    upserts: list[Attempt] = []
    for operation in operations:
        if operation["op"] == "upsert":
            upserts.append(operation["attempt"])
            continue
        if upserts:
            store.upsert(upserts)
            upserts = []
        if operation["op"] == "delete":
            store.delete(operation["id"], operation["created_at"])
        elif operation["op"] == "hidden":
            store.set_hidden(operation["id"], operation["hidden"], operation["created_at"])
        else:
            store.set_label(operation["id"], operation["label"], operation["created_at"])
    if upserts:
        store.upsert(upserts)


def wait_durable(register: Callable[[Durable], None], timeout: float) -> None:
    """Hand ``register`` a callback for the writer and wait for it; StoreUnavailable unless it said durable."""
    landed = threading.Event()
    outcome: list[bool] = []

    def settle(durable: bool) -> None:
        outcome.append(durable)
        landed.set()

    register(settle)
    if not landed.wait(timeout) or not outcome[0]:
        raise StoreUnavailable("The attempt could not be stored durably.")


class AttemptLog:
    def __init__(
        self,
        store: Store,
        spool: Spool,
        flush_seconds: float = 0.25,
        retry_seconds: float = 1.0,
        retention_seconds: float = 0,
        purge_seconds: float = 3600.0,
    ) -> None:
        self.store, self.spool = store, spool
        self.flush_seconds, self.retry_seconds = flush_seconds, retry_seconds
        self.retention_seconds, self.purge_seconds = retention_seconds, purge_seconds
        self._lock = threading.Lock()
        # Attempts not yet handed to the store or spool: drafts wait for the timed flush; answers
        # (final frames, REST calls) are written at once, their senders waiting on ``_waiting``.
        self._drafts: dict[str, Attempt] = {}
        self._answers: dict[str, Attempt] = {}
        self._waiting: list[Durable] = []
        self._labels: list[dict[str, Any]] = []
        self._wake = threading.Event()
        self._stopping = False
        self.degraded = self.spool.depth() > 0
        self._thread = threading.Thread(target=self._run, name="attempt-log", daemon=True)
        self._thread.start()

    def record(self, attempt: Attempt, on_durable: Durable | None = None) -> None:
        """Remember the latest version of an attempt; it reaches the store within ``flush_seconds``.

        With ``on_durable`` it is written now, with whatever else waits, and the callback
        runs on the writer thread once the write has landed in the store or the spool.
        """
        with self._lock:
            if on_durable is None:
                self._drafts[attempt.id] = attempt
                return
            self._drafts.pop(attempt.id, None)  # the answer supersedes the attempt's drafts
            self._answers[attempt.id] = attempt
            self._waiting.append(on_durable)
        self._wake.set()

    def commit(self, attempt: Attempt, timeout: float) -> None:
        """Record an attempt and return once it is durable; raises StoreUnavailable when it is not."""
        wait_durable(lambda settle: self.record(attempt, settle), timeout)

    def delete(self, attempt_id: str, created_at: float, timeout: float) -> None:
        """Forget an attempt everywhere, in order after its earlier writes; returns once that is durable.

        Its unwritten versions are dropped here, so no later flush brings it back; a spooled
        delete is replayed after the spooled upserts it follows.
        """

        def enqueue(settle: Durable) -> None:
            with self._lock:
                self._drafts.pop(attempt_id, None)
                self._answers.pop(attempt_id, None)
                self._labels.append(delete_op(attempt_id, created_at))  # labels and deletes keep one order
                self._waiting.append(settle)
            self._wake.set()

        wait_durable(enqueue, timeout)

    def hide(self, attempt_id: str, hidden: bool, created_at: float, timeout: float) -> None:
        """Hide an attempt from the wall (or show it again), in order after its earlier writes; returns once
        that is durable, so every wall told of it may drop it. Raises StoreUnavailable when it is not."""

        def enqueue(settle: Durable) -> None:
            with self._lock:
                self._labels.append(hidden_op(attempt_id, hidden, created_at))
                self._waiting.append(settle)
            self._wake.set()

        wait_durable(enqueue, timeout)

    def label(self, attempt_id: str, label: int | None, created_at: float) -> None:
        with self._lock:
            self._labels.append(label_op(attempt_id, label, created_at))
        self._wake.set()

    def pending(self, attempt_id: str) -> Attempt | None:
        """An attempt that is recorded but not yet written, so reads see their own writes."""
        with self._lock:
            return self._answers.get(attempt_id) or self._drafts.get(attempt_id)

    def health(self) -> dict[str, Any]:
        """Stable facts only: a driver's error text (hosts, addresses) goes to the log, never to a probe."""
        return {
            "store": "degraded" if self.degraded else "ok",
            "spool_depth": self.spool.depth(),
        }

    def flush(self, drafts: bool = True) -> None:
        """Hand what was recorded to the store, or to the spool if the store fails; tell who waits.

        Answers (and labels) are written first, on their own, so that their senders never
        wait behind a timed flush of drafts; ``drafts=False`` writes only them.
        """
        with self._lock:
            operations = [upsert_op(attempt) for attempt in self._answers.values()] + self._labels
            waiting = self._waiting
            self._answers, self._labels, self._waiting = {}, [], []
        durable = self._write(operations) if operations else True
        for on_durable in waiting:
            try:
                on_durable(durable)
            except Exception:  # one failed delivery must not cost the others theirs
                log.exception("answering a durable attempt failed")
        if drafts:
            with self._lock:
                operations, self._drafts = [upsert_op(attempt) for attempt in self._drafts.values()], {}
            if operations:
                self._write(operations)

    def _write(self, operations: list[dict[str, Any]]) -> bool:
        """Operations into the store, else into the spool; True once they are in one of them.

        Any failure of the store, expected or not, sends the batch to the spool. If even
        the spool fails (a full disk), the operations go back into memory for the next
        flush, and False tells the waiting answers that nothing was promised.
        """
        if not self.degraded and self.spool.depth() == 0:
            try:
                apply(self.store, operations)
                return True
            except Exception as error:
                self.fail(error)
        try:
            self.spool.push(operations)
            return True
        except Exception:
            log.exception("the spool failed too; keeping %d writes in memory", len(operations))
            self._restore(operations)
            return False

    def _restore(self, operations: list[dict[str, Any]]) -> None:
        """Put operations that no write took back in front of what was recorded since."""
        with self._lock:
            for operation in operations:
                if operation["op"] == "upsert":
                    self._drafts.setdefault(operation["attempt"].id, operation["attempt"])
            kept = [operation for operation in operations if operation["op"] in ("label", "hidden")]
            self._labels = kept + self._labels

    def drain(self) -> bool:
        """Replay the spool in order; True when it is empty."""
        while True:
            batch = self.spool.peek(DRAIN_BATCH)
            try:
                if not batch:
                    return self._recovered()
                apply(self.store, [operation for _, operation in batch])
            except Exception as error:  # the batch stays in the spool for the next retry
                self.fail(error)
                return False
            self.spool.remove_through(batch[-1][0])

    def _recovered(self) -> bool:
        """The spool is empty: the log is healthy again once the store answers (an empty spool alone proves nothing)."""
        if self.degraded:
            self.store.ping()
            log.info("store is back; spool drained")
        self.degraded = False
        return True

    def purge(self) -> None:
        """Forget attempts past the retention period in the spool and the store; cheap, idempotent, never fatal.

        A store that is down is purged on a later round: its rows are only read once it is back.
        """
        if self.retention_seconds <= 0:
            return
        before = time.time() - self.retention_seconds
        self.spool.purge(before)
        try:
            self.store.purge(before)
        except Exception as error:
            log.warning("purging expired attempts failed, will retry: %s", error)

    def fail(self, error: Exception) -> None:
        if not self.degraded:
            log.warning("store unavailable, spooling attempts: %s", error)
        self.degraded = True

    def _run(self) -> None:
        next_retry, next_flush, next_purge = 0.0, time.monotonic() + self.flush_seconds, 0.0
        while not self._stopping:
            self._wake.wait(max(0.0, next_flush - time.monotonic()))  # woken early by an answer
            self._wake.clear()
            try:
                drafts_due = time.monotonic() >= next_flush
                if drafts_due:
                    next_flush = time.monotonic() + self.flush_seconds
                self.flush(drafts=drafts_due)
                if self.degraded and time.monotonic() >= next_retry and not self.drain():
                    next_retry = time.monotonic() + self.retry_seconds
                if time.monotonic() >= next_purge:
                    next_purge = time.monotonic() + self.purge_seconds
                    self.purge()
            except Exception:  # the writer must outlive any single failure
                log.exception("attempt log writer failed; retrying")
                time.sleep(self.retry_seconds)

    def close(self) -> None:
        """Stop the writer and put everything still in memory somewhere durable."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=10)
        self.flush()
        if self.degraded:
            self.drain()
        self.spool.close()
