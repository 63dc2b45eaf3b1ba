"""Both stores honour one contract, on a real SQLite file and a real Cassandra node."""

import time

import pytest

from server.attempts import Attempt
from server.stores import open_store
from tests.records import make_attempt


@pytest.fixture(params=["sqlite", pytest.param("cassandra", marks=pytest.mark.cassandra)])
def store(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}" if request.param == "sqlite" else request.getfixturevalue("cassandra_url")
    opened = open_store(url)
    opened.create_schema()
    yield opened
    opened.close()


def test_upsert_then_get_round_trips(store):
    record = make_attempt(time.time())
    store.upsert([record])
    loaded = store.get(record.id)
    assert loaded.id == record.id
    assert loaded.created_at == pytest.approx(record.created_at, abs=0.001)
    for field in (
        "source",
        "session",
        "digit",
        "confidence",
        "probabilities",
        "image",
        "input",
        "model_version",
        "frames",
        "latency_ms",
        "final",
        "label",
    ):
        assert getattr(loaded, field) == getattr(record, field), field


def test_upsert_by_id_keeps_one_record_with_the_latest_frame(store):
    first = make_attempt(time.time(), digit=1, final=False, frames=1)
    later = Attempt(**{**first.__dict__, "digit": 7, "frames": 4, "final": True})
    store.upsert([first])
    store.upsert([later])
    assert store.get(first.id).digit == 7
    assert store.get(first.id).frames == 4
    assert [a.id for a in store.recent(10, None)] == [first.id]


def test_label_survives_later_upserts_and_may_come_first(store):
    record = make_attempt(time.time())
    store.set_label(record.id, 5, record.created_at)
    assert store.get(record.id) is None, "a label alone is not an attempt"
    store.upsert([record])
    store.upsert([record])
    assert store.get(record.id).label == 5
    store.set_label(record.id, None, record.created_at)
    assert store.get(record.id).label is None


def test_recent_pages_newest_first_across_days(store):
    now = time.time()
    records = [make_attempt(now - hours * 3600) for hours in (0, 1, 30, 50, 75)]  # spans four days
    store.upsert(records)
    first = store.recent(2, None)
    assert [a.id for a in first] == [records[0].id, records[1].id]
    rest = store.recent(10, first[-1].created_at)
    assert [a.id for a in rest] == [r.id for r in records[2:]]


def test_outcomes_count_final_attempts_since_a_time(store):
    now = time.time()
    store.upsert(
        [make_attempt(now, digit=2), make_attempt(now, digit=3, final=False), make_attempt(now - 10 * 86400, digit=4)]
    )
    labelled = make_attempt(now, digit=8)
    store.upsert([labelled])
    store.set_label(labelled.id, 3, labelled.created_at)
    assert sorted(store.outcomes(now - 86400), key=str) == sorted([(2, None), (8, 3)], key=str)


def test_hostile_ids_and_text_are_data_not_queries(store):
    record = Attempt(**{**make_attempt(time.time()).__dict__, "session": "x'); DROP TABLE attempts; --"})
    store.upsert([record])
    assert store.get(record.id).session == record.session


def test_ping(store):
    store.ping()


@pytest.mark.cassandra
def test_schema_creation_is_idempotent(cassandra_url):
    for _ in range(2):
        store = open_store(cassandra_url)
        store.create_schema()
        store.close()


@pytest.mark.cassandra
def test_unreachable_cassandra_is_store_unavailable():
    from server.stores import StoreUnavailable

    store = open_store("cassandra://127.0.0.1:1/nowhere")
    with pytest.raises(StoreUnavailable):
        store.create_schema()


@pytest.mark.parametrize(
    "url",
    ["mysql://x/y", "cassandra://127.0.0.1/Bad-Name", "cassandra://127.0.0.1/ks?consistency=SOMETIMES"],
)
def test_bad_store_urls_are_refused(url):
    with pytest.raises(ValueError, match=r"STORE_URL|keyspace|consistency"):
        open_store(url)
