"""Both stores honour one contract, on a real SQLite file and a real Cassandra node."""

import sqlite3
import time
from collections.abc import Callable

import pytest
from cassandra.cluster import Cluster

from server.storage.attempts import Attempt
from server.storage.sqlite import SqliteStore
from server.storage.store import Store, StoreUnavailable
from server.storage.urls import open_store
from tests.support.outages import unopenable_sqlite
from tests.support.records import make_attempt
from tests.support.server_process import free_port

# The tables and columns each store creates: what the history, stats and label queries rely on.
ATTEMPT_COLUMNS = {
    "id",
    "created_at",
    "updated_at",
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
    "owner",
    "room",
    "hidden",
}
ROOM_COLUMNS = {"code", "name", "language", "created_at", "last_active", "closed_at"}
SCHEMAS = {
    "sqlite": {"attempts": ATTEMPT_COLUMNS, "rooms": ROOM_COLUMNS},
    "cassandra": {
        "attempts": ATTEMPT_COLUMNS,
        "attempts_by_day": {"day", "created_at", "id", "digit", "label", "final", "room"},
        "attempt_days": {"bucket", "day"},
        "rooms": ROOM_COLUMNS,
    },
}
FIELDS = {"session": "drawer"}  # a column whose Attempt field has another name


@pytest.fixture(params=["sqlite", "cassandra"])
def unreachable_store(request, tmp_path):
    """A store that cannot be reached: a directory where the SQLite file should be, or no Cassandra listening."""
    if request.param == "sqlite":
        opened = open_store(unopenable_sqlite(tmp_path / "a.db").url)
    else:
        opened = open_store(f"cassandra://127.0.0.1:{free_port()}/nowhere")
    yield opened
    opened.close()


def schema_of(store: Store) -> dict[str, set[str]]:
    """Tables and their columns as the database itself describes them (the driver's metadata for Cassandra,
    which reads whichever system tables the server's version has)."""
    if isinstance(store, SqliteStore):
        with sqlite3.connect(store.path) as database:
            tables = [name for (name,) in database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {table: {row[1] for row in database.execute(f"PRAGMA table_info({table})")} for table in tables}
    cluster = Cluster(store.hosts, port=store.port, protocol_version=3)
    try:
        cluster.connect()
        tables = cluster.metadata.keyspaces[store.keyspace].tables
        return {name: set(table.columns) for name, table in tables.items()}
    finally:
        cluster.shutdown()


def test_upsert_then_get_round_trips(store):
    record = make_attempt(time.time())
    store.upsert([record])
    loaded = store.get(record.id)
    assert loaded.id == record.id
    assert loaded.created_at == pytest.approx(record.created_at, abs=0.001)
    for field in sorted(ATTEMPT_COLUMNS - {"id", "created_at", "updated_at"}):  # times: compared above, or stamped
        name = FIELDS.get(field, field)
        assert getattr(loaded, name) == getattr(record, name), field


def test_delete_forgets_the_attempt_and_an_ownerless_write_keeps_the_owner(store):
    record = make_attempt(time.time())
    store.upsert([record])
    store.upsert([Attempt(**{**record.__dict__, "owner": None, "frames": 2})])  # its tracker entry was evicted
    assert store.get(record.id).owner == record.owner
    store.delete(record.id, record.created_at)
    assert store.get(record.id) is None
    assert record.id not in [attempt.id for attempt in store.recent(10, None)]


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


def test_hidden_is_a_flag_of_its_own_that_upserts_keep_and_may_come_first(store):
    """The wall's moderation: set alone (set_hidden), never by the attempt's own writes."""
    record = make_attempt(time.time(), room="7B")
    store.set_hidden(record.id, True, record.created_at)
    assert store.get(record.id) is None, "a flag alone is not an attempt"
    store.upsert([record])
    assert store.get(record.id).hidden is True
    store.upsert([Attempt(**{**record.__dict__, "frames": 3, "hidden": False})])  # its drawer sent it again
    assert (store.get(record.id).frames, store.get(record.id).hidden) == (3, True), "an upsert never clears it"
    assert [(a.id, a.hidden) for a in store.recent(10, None, "7B")] == [(record.id, True)], "history keeps it"
    store.set_hidden(record.id, False, record.created_at)
    assert store.get(record.id).hidden is False
    shown = make_attempt(time.time(), room="7B")
    store.upsert([shown])
    assert store.get(shown.id).hidden is False
    store.delete(record.id, record.created_at)
    store.set_hidden(record.id, True, record.created_at)  # a late flag does not bring a deleted attempt back
    assert store.get(record.id) is None
    assert [a.id for a in store.recent(10, None, "7B")] == [shown.id]


def test_an_older_sqlite_file_gets_the_hidden_column(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as database:  # the attempts table as it was before the hidden flag
        columns = ", ".join(f"{name} TEXT" for name in sorted(ATTEMPT_COLUMNS - {"hidden", "id"}))
        database.execute(f"CREATE TABLE attempts (id TEXT PRIMARY KEY, {columns})")
    store = SqliteStore(str(path))
    record = make_attempt(time.time())
    store.upsert([record])
    assert store.get(record.id).hidden is False
    store.set_hidden(record.id, True, record.created_at)
    assert store.get(record.id).hidden is True
    store.close()


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


def test_history_and_stats_are_per_room(store):
    """Each room sees its own attempts; no room is the default room "" (not every room)."""
    now = time.time()
    seventh = [make_attempt(now - seconds, digit=7, room="7B") for seconds in range(3)]
    eighth = make_attempt(now - 0.5, digit=8, room="8C")
    default = make_attempt(now - 1.5, digit=1)
    store.upsert([*seventh, eighth, default])
    assert [a.id for a in store.recent(10, None, "7B")] == [a.id for a in seventh]
    assert [a.room for a in store.recent(10, None, "7B")] == ["7B"] * 3
    assert [a.id for a in store.recent(2, None, "7B")] == [a.id for a in seventh[:2]]
    assert [a.id for a in store.recent(10, None)] == [default.id]
    assert store.outcomes(now - 60, "8C") == [(8, None)]
    assert store.outcomes(now - 60) == [(1, None)]
    assert store.outcomes(now - 60, "9A") == []


def test_hostile_ids_and_text_are_data_not_queries(store):
    record = Attempt(**{**make_attempt(time.time()).__dict__, "drawer": "x'); DROP TABLE attempts; --"})
    store.upsert([record])
    assert store.get(record.id).drawer == record.drawer


def test_ping_answers_when_the_store_is_up(store):
    assert store.ping() is None


OPERATIONS: dict[str, Callable[[Store], object]] = {
    "create_schema": lambda store: store.create_schema(),
    "ping": lambda store: store.ping(),
    "upsert": lambda store: store.upsert([make_attempt()]),
    "set_label": lambda store: store.set_label("00000000-0000-4000-8000-000000000000", 3, time.time()),
    "set_hidden": lambda store: store.set_hidden("00000000-0000-4000-8000-000000000000", True, time.time()),
    "get": lambda store: store.get("00000000-0000-4000-8000-000000000000"),
    "recent": lambda store: store.recent(10, None),
    "outcomes": lambda store: store.outcomes(0.0),
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_every_operation_on_an_unreachable_store_is_store_unavailable(unreachable_store, operation):
    """The attempt log spools on StoreUnavailable and the API answers 503 for it; anything else would be a crash."""
    with pytest.raises(StoreUnavailable):
        OPERATIONS[operation](unreachable_store)


def test_schema_creation_is_idempotent_and_keeps_the_data(store_url, store):
    record = make_attempt()
    store.upsert([record])
    again = open_store(store_url)  # as a second process, or the next release, would
    again.create_schema()
    stored = again.get(record.id)
    assert stored is not None, "creating the schema again lost the data"
    assert stored == store.get(record.id)
    assert schema_of(again) == SCHEMAS[store_url.split(":")[0]]
    again.close()


@pytest.mark.parametrize(
    "url",
    ["mysql://x/y", "cassandra://127.0.0.1/Bad-Name", "cassandra://127.0.0.1/ks?consistency=SOMETIMES"],
)
def test_bad_store_urls_are_refused(url):
    with pytest.raises(ValueError, match=r"STORE_URL|keyspace|consistency"):
        open_store(url)
