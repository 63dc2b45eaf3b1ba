"""The attempt log: coalescing, the durable spool, draining in order when the store returns."""

import dataclasses
import sqlite3
import threading
import time

import pytest

from server.storage.attempt_log import AttemptLog, Spool
from server.storage.attempts import Attempt, new_attempt_id
from server.storage.sqlite import SqliteStore
from server.storage.store import StoreUnavailable
from tests.support.records import make_attempt
from tests.support.waiting import wait_until


class FlakyStore(SqliteStore):
    """A real SQLite store that can be switched off, like a database going down."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.down = False
        self.writes: list[list[str]] = []

    def upsert(self, attempts):
        if self.down:
            raise StoreUnavailable("switched off")
        self.writes.append([a.id for a in attempts])
        super().upsert(attempts)

    def set_label(self, attempt_id, label, created_at):
        if self.down:
            raise StoreUnavailable("switched off")
        super().set_label(attempt_id, label, created_at)

    def delete(self, attempt_id, created_at):
        if self.down:
            raise StoreUnavailable("switched off")
        super().delete(attempt_id, created_at)

    def ping(self):
        self.pings = getattr(self, "pings", 0) + 1
        if self.down:
            raise StoreUnavailable("switched off")
        super().ping()


@pytest.fixture
def store(tmp_path):
    flaky = FlakyStore(str(tmp_path / "a.db"))
    flaky.create_schema()
    return flaky


def test_only_the_latest_version_of_an_attempt_is_written(store, tmp_path):
    log = AttemptLog(store, Spool(tmp_path / "spool.db"), flush_seconds=10)
    attempt_id = new_attempt_id()
    for frames in range(1, 6):
        log.record(make_attempt(attempt_id=attempt_id, final=False, frames=frames))
    log.flush()
    assert store.writes == [[attempt_id]]
    assert store.get(attempt_id).frames == 5
    log.close()


def test_an_answer_waits_until_its_attempt_is_in_the_store(store, tmp_path):
    log = AttemptLog(store, Spool(tmp_path / "spool.db"), flush_seconds=5)
    final = make_attempt(final=True)
    seen_when_told: list[tuple[bool, bool]] = []
    log.record(final, lambda durable: seen_when_told.append((durable, store.get(final.id) is not None)))
    wait_until(lambda: seen_when_told, timeout=2, what="the durable callback (the writer is woken, not timed)")
    assert seen_when_told == [(True, True)], "told only once the store has it"
    log.close()


def test_commit_returns_once_stored_and_concurrent_answers_share_a_write(store, tmp_path):
    log = AttemptLog(store, Spool(tmp_path / "spool.db"), flush_seconds=5)
    finals = [make_attempt(final=True) for _ in range(20)]
    threads = [threading.Thread(target=log.commit, args=(attempt, 5.0)) for attempt in finals]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(store.get(attempt.id) is not None for attempt in finals)
    assert len(store.writes) < len(finals), "answers that wait together are written together"
    log.close()


def test_an_answer_is_written_alone_and_drafts_wait_for_the_timed_flush(store, tmp_path):
    log = AttemptLog(store, Spool(tmp_path / "spool.db"), flush_seconds=0.3)
    draft, final = make_attempt(final=False), make_attempt(final=True)
    log.record(draft)
    log.commit(final, 5.0)
    assert store.writes == [[final.id]], "the answer does not wait for the drafts' write"
    wait_until(lambda: store.get(draft.id) is not None, what="the draft's timed flush")
    log.close()


def test_a_flush_writes_answers_before_drafts_and_tells_them_first(store, tmp_path):
    log = AttemptLog(store, Spool(tmp_path / "spool.db"), flush_seconds=60)
    draft, final = make_attempt(final=False), make_attempt(final=True)
    told_while_drafts_unwritten = []
    log.record(draft)
    log.record(final, lambda durable: told_while_drafts_unwritten.append(store.get(draft.id) is None))
    log.flush()
    assert store.writes == [[final.id], [draft.id]]
    assert told_while_drafts_unwritten == [True], "an answer never waits behind the drafts' write"
    log.close()


def test_an_answer_during_an_outage_waits_for_the_spool(store, tmp_path):
    store.down = True
    log = AttemptLog(store, Spool(tmp_path / "spool.db"), flush_seconds=5, retry_seconds=10)
    final = make_attempt(final=True)
    log.commit(final, 5.0)
    assert [operation["attempt"].id for _, operation in log.spool.peek(10)] == [final.id]
    log.close()


class BrokenStore(FlakyStore):
    """A store failing in a way nobody planned for: not StoreUnavailable."""

    def upsert(self, attempts):
        if self.down:
            raise RuntimeError("a driver bug")
        super().upsert(attempts)


def test_an_unexpected_store_error_spools_the_batch_instead_of_dropping_it(tmp_path):
    store = BrokenStore(str(tmp_path / "a.db"))
    store.create_schema()
    store.down = True
    log = AttemptLog(store, Spool(tmp_path / "spool.db"), flush_seconds=0.02, retry_seconds=0.05)
    draft, final = make_attempt(final=False), make_attempt(final=True)
    log.record(draft)
    log.commit(final, 5.0)
    wait_until(lambda: log.spool.depth() == 2, what="both writes in the spool")
    assert log.health()["store"] == "degraded"
    store.down = False
    wait_until(lambda: log.spool.depth() == 0, what="the spool to drain")
    assert store.get(draft.id) is not None
    assert store.get(final.id) is not None
    log.close()


class FullSpool(Spool):
    """A spool on a full disk."""

    full = True

    def push(self, operations):
        if self.full:
            raise sqlite3.OperationalError("database or disk is full")
        super().push(operations)


def test_an_answer_is_refused_when_neither_store_nor_spool_keeps_it_and_the_write_is_kept(store, tmp_path):
    store.down = True
    spool = FullSpool(tmp_path / "spool.db")
    log = AttemptLog(store, spool, flush_seconds=0.02, retry_seconds=0.05)
    final = make_attempt(final=True)
    with pytest.raises(StoreUnavailable):
        log.commit(final, 5.0)
    assert log.pending(final.id) == final, "kept in memory for the next flush, not dropped"
    spool.full = False
    store.down = False
    wait_until(lambda: store.get(final.id) is not None, what="the kept write to land")
    log.close()


def test_outage_spools_then_drains_in_order(store, tmp_path):
    log = AttemptLog(store, Spool(tmp_path / "spool.db"), flush_seconds=0.02, retry_seconds=0.05)
    store.down = True
    written = [make_attempt(final=True) for _ in range(30)]
    for record in written:
        log.record(record)
        time.sleep(0.005)
    log.label(written[0].id, 4, written[0].created_at)
    wait_until(lambda: log.spool.depth() >= 31)
    assert log.health()["store"] == "degraded"
    store.down = False
    wait_until(lambda: log.health() == {"store": "ok", "spool_depth": 0})
    assert {a.id for a in store.recent(100, None)} == {a.id for a in written}
    assert store.get(written[0].id).label == 4
    order = [attempt_id for batch in store.writes for attempt_id in batch]
    assert order == [a.id for a in written], "the spool drains oldest first"
    log.close()


def test_an_empty_spool_does_not_mean_the_store_is_back(store, tmp_path):
    store.down = True
    log = AttemptLog(store, Spool(tmp_path / "spool.db"), flush_seconds=0.02, retry_seconds=0.02)
    log.fail(StoreUnavailable("down at start-up"))  # what RecognitionService does when the schema cannot be created
    wait_until(lambda: getattr(store, "pings", 0) >= 3, what="several retries")
    assert log.health()["store"] == "degraded", "nothing was written, so nothing proved the store back"
    store.down = False
    wait_until(lambda: log.health()["store"] == "ok", what="the store to answer a ping")
    log.close()


def test_spool_survives_a_restart(store, tmp_path):
    store.down = True
    log = AttemptLog(store, Spool(tmp_path / "spool.db"), flush_seconds=0.02, retry_seconds=10)
    kept = make_attempt(final=True)
    log.record(kept)
    log.close()  # the process stops while the store is down
    assert Spool(tmp_path / "spool.db").depth() == 1
    store.down = False
    restarted = AttemptLog(store, Spool(tmp_path / "spool.db"), flush_seconds=0.02, retry_seconds=0.05)
    wait_until(lambda: store.get(kept.id) is not None)
    assert restarted.health()["spool_depth"] == 0
    restarted.close()


def test_replaying_the_same_spool_twice_stores_each_attempt_once(store, tmp_path):
    spool = Spool(tmp_path / "spool.db")
    record = make_attempt(final=True)
    from server.storage.attempt_log import upsert_op

    spool.push([upsert_op(record), upsert_op(record)])
    log = AttemptLog(store, spool, flush_seconds=0.02, retry_seconds=0.05)
    wait_until(lambda: spool.depth() == 0)
    assert [a.id for a in store.recent(10, None)] == [record.id]
    log.close()


def test_attempt_json_round_trip():
    record = dataclasses.replace(make_attempt(final=True), label=3)
    assert Attempt.from_json(record.to_json()) == record


def test_a_delete_drops_unwritten_drafts_and_is_replayed_after_the_spooled_writes_it_follows(store, tmp_path):
    log = AttemptLog(store, Spool(tmp_path / "spool.db"), flush_seconds=0.05, retry_seconds=0.05)
    kept, deleted = make_attempt(), make_attempt()
    store.down = True
    log.commit(kept, timeout=5)
    log.commit(deleted, timeout=5)  # both spooled
    log.record(dataclasses.replace(deleted, frames=2, final=False))  # a draft not yet written
    log.delete(deleted.id, deleted.created_at, timeout=5)  # durable in the spool, behind the upserts
    assert log.pending(deleted.id) is None
    store.down = False
    wait_until(lambda: log.health()["spool_depth"] == 0, what="the spool to drain")
    log.flush()
    assert store.get(deleted.id) is None, "the delete came after its upsert, and the draft never landed"
    assert store.get(kept.id) is not None
    log.close()
