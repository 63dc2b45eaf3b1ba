"""Privacy by default: attempts past RETENTION_DAYS are forgotten by every store and by the spool."""

import time

from server.storage.attempt_log import AttemptLog, Spool, label_op, upsert_op
from server.storage.cassandra import time_to_live
from server.storage.sqlite import SqliteStore
from server.storage.urls import open_store
from tests.support.records import make_attempt
from tests.support.waiting import wait_until

RETENTION = 2.0  # seconds: a fractional RETENTION_DAYS, as a test sets it


def test_an_expired_attempt_disappears(store_url):
    """Cassandra lets it expire by TTL, SQLite deletes it on the purge: either way a read finds nothing."""
    store = open_store(store_url, retention_seconds=RETENTION)
    store.create_schema()
    try:
        attempt = make_attempt()
        store.upsert([attempt])
        store.set_label(attempt.id, 7, attempt.created_at)  # a label must not keep the row alive
        assert store.get(attempt.id) is not None

        def expired() -> bool:
            store.purge(time.time() - RETENTION)
            return store.get(attempt.id) is None

        wait_until(expired, timeout=RETENTION + 10, what="the attempt to expire")
        assert store.recent(10, None) == []
        assert store.outcomes(0) == []
    finally:
        store.close()


def test_a_fresh_attempt_is_kept_by_the_purge(tmp_path):
    store = SqliteStore(str(tmp_path / "a.db"))
    old, fresh = make_attempt(created_at=time.time() - 100), make_attempt()
    store.upsert([old, fresh])
    store.purge(time.time() - 50)
    assert store.get(old.id) is None
    assert store.get(fresh.id) is not None


def test_the_spool_forgets_expired_writes(tmp_path):
    spool = Spool(tmp_path / "spool.db")
    old, fresh = make_attempt(created_at=time.time() - 100), make_attempt()
    spool.push([upsert_op(old), label_op(old.id, 3, old.created_at), upsert_op(fresh)])
    spool.purge(time.time() - 50)
    assert [operation["attempt"].id for _, operation in spool.peek(10)] == [fresh.id]


def test_the_log_purges_at_start(tmp_path):
    store = SqliteStore(str(tmp_path / "a.db"))
    old = make_attempt(created_at=time.time() - 100)
    store.upsert([old])
    log = AttemptLog(store, Spool(tmp_path / "spool.db"), flush_seconds=0.02, retention_seconds=50)
    try:
        wait_until(lambda: store.get(old.id) is None, timeout=5)
    finally:
        log.close()


def test_time_to_live_counts_from_creation():
    assert time_to_live(1000.0, 0, 5000.0) == 0  # no retention: no TTL
    assert time_to_live(1000.0, 100.0, 1050.0) == 50
    assert time_to_live(1000.0, 100.0, 9999.0) == 1  # already expired: gone at once
