"""Owner tokens (server/access/owners.py): an attempt belongs to whoever drew it, in SQLite and in Cassandra."""

import dataclasses
import hashlib
import sqlite3
import time
import uuid
from urllib.parse import urlparse

import pytest

from server.extensions import socketio
from server.storage.attempts import day_of
from server.storage.sqlite import SqliteStore
from tests.support.records import make_attempt
from tests.support.socket_events import events, new_id
from tests.support.waiting import wait_until


@pytest.fixture
def owned_app(make_app, store_url):
    return make_app(STORE_URL=store_url)


def stored(app, attempt_id: str):
    return app.extensions["service"].store.get(attempt_id)


def draw(connection, attempt_id: str, image, seq: int = 0, final: bool = True, **extra) -> dict:
    connection.emit("frame", {"attempt_id": attempt_id, "seq": seq, "image": image, "final": final, **extra})
    return events(connection, "prediction")[0]


def drawn_and_stored(app, connection, image) -> tuple[str, str]:
    """A finished attempt of ``connection``, in the store: its id and owner token."""
    attempt_id = new_id()
    token = draw(connection, attempt_id, image)["owner_token"]
    wait_until(lambda: stored(app, attempt_id) is not None, what="the attempt in the store")
    return attempt_id, token


def test_the_first_prediction_carries_the_owner_token_and_only_its_hash_is_stored(app, seven_frame):
    connection = socketio.test_client(app)
    attempt_id = new_id()
    first = draw(connection, attempt_id, seven_frame, final=False)
    token = first["owner_token"]
    assert len(token) >= 22, "at least 128 random bits"
    assert "owner_token" not in draw(connection, attempt_id, seven_frame, seq=1), "only the first answer"
    wait_until(lambda: stored(app, attempt_id) is not None and stored(app, attempt_id).final, what="the attempt")
    record = stored(app, attempt_id)
    assert record.owner == hashlib.sha256(token.encode()).hexdigest()
    assert token not in record.to_json()
    summary = record.summary()
    assert "owner" not in summary
    assert "owner_token" not in summary
    assert record.owner not in str(summary)
    connection.disconnect()


def test_another_connection_may_not_draw_over_or_label_an_attempt(owned_app, seven_frame, blank_frame):
    owner, stranger = socketio.test_client(owned_app), socketio.test_client(owned_app)
    attempt_id, _ = drawn_and_stored(owned_app, owner, seven_frame)
    before = stored(owned_app, attempt_id)
    stranger.emit("frame", {"attempt_id": attempt_id, "seq": 5, "image": blank_frame, "final": True})
    assert events(stranger, "error")[0] == {
        "code": "forbidden",
        "message": "This attempt belongs to another drawer: send its owner_token.",
        "attempt_id": attempt_id,
        "seq": 5,
    }
    wrong = {"attempt_id": attempt_id, "label": 1, "owner_token": "guessed"}
    assert stranger.emit("label", wrong, callback=True)["code"] == "forbidden"
    owned_app.extensions["service"].log.flush()
    assert stored(owned_app, attempt_id) == before, "nothing stored changed"
    assert events(stranger, "prediction", timeout=0.5) == []
    for connection in (owner, stranger):
        connection.disconnect()


def test_after_a_reconnect_the_owner_token_lets_the_drawer_go_on(owned_app, seven_frame, blank_frame):
    first = socketio.test_client(owned_app)
    attempt_id, token = drawn_and_stored(owned_app, first, blank_frame)
    first.disconnect()
    owned_app.extensions["service"].tracker.forget(attempt_id)  # as after a restart: only the store knows it
    again = socketio.test_client(owned_app)
    answer = draw(again, attempt_id, seven_frame, seq=1, owner_token=token)
    assert answer["digit"] == 7
    assert "owner_token" not in answer
    ack = again.emit("label", {"attempt_id": attempt_id, "label": 7, "owner_token": token}, callback=True)
    assert ack == {"ok": True, "attempt_id": attempt_id, "label": 7}
    wait_until(lambda: stored(owned_app, attempt_id).label == 7, what="the label")
    record = stored(owned_app, attempt_id)
    assert (record.digit, record.owner) == (7, hashlib.sha256(token.encode()).hexdigest()), "the owner is kept"
    again.disconnect()


def test_the_teacher_may_label_any_attempt(app, seven_frame, teacher_token):
    pupil, teacher = socketio.test_client(app), socketio.test_client(app, auth={"token": teacher_token})
    attempt_id, _ = drawn_and_stored(app, pupil, seven_frame)
    assert teacher.emit("label", {"attempt_id": attempt_id, "label": 1}, callback=True)["ok"] is True
    wait_until(lambda: stored(app, attempt_id).label == 1, what="the teacher's label")
    for connection in (pupil, teacher):
        connection.disconnect()


def predicted(anonymous, seven_png) -> tuple[str, str]:
    from tests.support.images import data_url

    body = anonymous.post("/api/predict", json={"image": data_url(seven_png)}).json
    return body["attempt_id"], body["owner_token"]


def test_rest_owner_token_reads_and_labels_its_own_attempt_only(anonymous, seven_png):
    attempt_id, token = predicted(anonymous, seven_png)
    other_id, _ = predicted(anonymous, seven_png)
    mine = {"X-Owner-Token": token}
    assert anonymous.get(f"/api/attempts/{attempt_id}", headers=mine).json["digit"] == 7
    assert anonymous.get(f"/api/attempts/{attempt_id}").status_code == 401
    assert anonymous.get(f"/api/attempts/{other_id}", headers=mine).json["error"]["code"] == "forbidden"
    assert anonymous.put(f"/api/attempts/{other_id}/label", json={"label": 1}, headers=mine).status_code == 403
    assert anonymous.delete(f"/api/attempts/{other_id}", headers=mine).status_code == 403
    assert anonymous.get(f"/api/attempts/{attempt_id}/image", headers=mine).status_code == 401, "teachers only"
    response = anonymous.put(f"/api/attempts/{attempt_id}/label", json={"label": 2}, headers=mine)
    assert response.json == {"attempt_id": attempt_id, "label": 2}
    wait_until(lambda: anonymous.get(f"/api/attempts/{attempt_id}", headers=mine).json["label"] == 2, what="label")
    assert anonymous.get(f"/api/attempts/{other_id}", headers={"X-Owner-Token": "x"}).status_code == 403


def test_a_refused_rest_label_or_delete_changes_nothing_stored(owned_app, seven_png):
    """Over REST as over Socket.IO: another drawer's token gets 403 and the row stays as it was (both stores)."""
    anonymous = owned_app.test_client()
    attempt_id, _ = predicted(anonymous, seven_png)
    _, stranger = predicted(anonymous, seven_png)
    wait_until(lambda: stored(owned_app, attempt_id) is not None, what="the attempt in the store")
    before = stored(owned_app, attempt_id)
    headers = {"X-Owner-Token": stranger}
    assert anonymous.put(f"/api/attempts/{attempt_id}/label", json={"label": 1}, headers=headers).status_code == 403
    assert anonymous.delete(f"/api/attempts/{attempt_id}", headers=headers).status_code == 403
    assert anonymous.delete(f"/api/attempts/{attempt_id}").status_code == 401
    owned_app.extensions["service"].log.flush()
    assert stored(owned_app, attempt_id) == before, "nothing stored changed"


def row_counts(store_url: str, attempt_id: str, created_at: float) -> dict[str, int]:
    """Every row an attempt has, read past the store's own code: SQLite placeholders, Cassandra's two tables."""
    parsed = urlparse(store_url)
    if parsed.scheme == "sqlite":
        with sqlite3.connect(parsed.path) as connection:
            return {
                "attempts": connection.execute("SELECT COUNT(*) FROM attempts WHERE id = ?", (attempt_id,)).fetchone()[
                    0
                ]
            }
    from cassandra.cluster import Cluster

    host, _, port = parsed.netloc.partition(":")
    cluster = Cluster([host], port=int(port), protocol_version=3)
    session = cluster.connect(parsed.path.strip("/"))
    key = uuid.UUID(attempt_id)
    try:
        return {
            "attempts": len(list(session.execute("SELECT id FROM attempts WHERE id = %s", (key,)))),
            "attempts_by_day": sum(
                row.id == key
                for row in session.execute("SELECT id FROM attempts_by_day WHERE day = %s", (day_of(created_at),))
            ),
        }
    finally:
        cluster.shutdown()


def test_delete_removes_every_row_and_the_image(owned_app, store_url, seven_png, teacher_headers):
    anonymous = owned_app.test_client()
    attempt_id, token = predicted(anonymous, seven_png)
    created_at = stored(owned_app, attempt_id).created_at
    assert set(row_counts(store_url, attempt_id, created_at).values()) == {1}
    response = anonymous.delete(f"/api/attempts/{attempt_id}", headers={"X-Owner-Token": token})
    assert response.json == {"deleted": attempt_id}
    assert set(row_counts(store_url, attempt_id, created_at).values()) == {0}, "gone from every table"
    assert stored(owned_app, attempt_id) is None
    assert anonymous.get(f"/api/attempts/{attempt_id}/image", headers=teacher_headers).status_code == 404
    assert anonymous.get(f"/api/attempts/{attempt_id}", headers=teacher_headers).status_code == 404
    assert anonymous.delete(f"/api/attempts/{attempt_id}", headers=teacher_headers).status_code == 404


def test_the_teacher_may_delete_any_attempt(app, anonymous, seven_png, teacher_headers):
    attempt_id, _ = predicted(anonymous, seven_png)
    assert anonymous.delete(f"/api/attempts/{attempt_id}", headers=teacher_headers).status_code == 200
    assert anonymous.get("/api/attempts", headers=teacher_headers).json["attempts"] == []


def test_an_sqlite_file_from_before_owners_gets_the_column(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE attempts (id TEXT PRIMARY KEY, created_at REAL NOT NULL, updated_at REAL NOT NULL, "
            "source TEXT NOT NULL, session TEXT NOT NULL, digit INTEGER, confidence REAL NOT NULL, "
            "probabilities TEXT NOT NULL, image BLOB, input BLOB, model_version TEXT NOT NULL, "
            "frames INTEGER NOT NULL, latency_ms REAL NOT NULL, final INTEGER NOT NULL, label INTEGER)"
        )
        connection.execute(
            "INSERT INTO attempts VALUES ('a', 1, 1, 'canvas', 's', 3, 0.9, '[]', NULL, NULL, 'v1', 1, 1, 1, NULL)"
        )
    for _ in range(2):  # idempotent
        store = SqliteStore(str(path))
        assert store.get("a").owner is None, "an old attempt has no owner: only a teacher may change it"
        assert store.get("a").room == "", "an old attempt is in the default room"
        store.close()


@pytest.mark.cassandra
def test_cassandra_adds_the_owner_column_once(cassandra_url):
    from server.storage.urls import open_store

    for start in range(2):  # the second start finds the column there and goes on
        store = open_store(cassandra_url)
        try:
            store.create_schema()
            attempt = dataclasses.replace(make_attempt(time.time()), owner=f"{start:02d}" * 32)
            store.upsert([attempt])
            assert store.get(attempt.id).owner == attempt.owner, "the owner column is there and written"
        finally:
            store.close()
