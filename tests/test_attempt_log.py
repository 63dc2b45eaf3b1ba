"""The attempt log: coalescing, the durable spool, draining in order when the store returns."""

import dataclasses
import time

import pytest

from server.attempt_log import AttemptLog, Spool
from server.attempts import Attempt, new_attempt_id
from server.stores import StoreUnavailable
from server.stores.sqlite import SqliteStore
from tests.records import make_attempt
from tests.waiting import wait_until


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


def test_final_attempts_are_written_promptly(store, tmp_path):
    log = AttemptLog(store, Spool(tmp_path / "spool.db"), flush_seconds=5)
    final = make_attempt(final=True)
    log.record(final)
    wait_until(lambda: store.get(final.id) is not None, timeout=1)
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
    wait_until(lambda: log.health() == {"store": "ok", "spool_depth": 0, "last_error": None})
    assert {a.id for a in store.recent(100, None)} == {a.id for a in written}
    assert store.get(written[0].id).label == 4
    order = [attempt_id for batch in store.writes for attempt_id in batch]
    assert order == [a.id for a in written], "the spool drains oldest first"
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
    from server.attempt_log import upsert_op

    spool.push([upsert_op(record), upsert_op(record)])
    log = AttemptLog(store, spool, flush_seconds=0.02, retry_seconds=0.05)
    wait_until(lambda: spool.depth() == 0)
    assert [a.id for a in store.recent(10, None)] == [record.id]
    log.close()


def test_attempt_json_round_trip():
    record = dataclasses.replace(make_attempt(final=True), label=3)
    assert Attempt.from_json(record.to_json()) == record
