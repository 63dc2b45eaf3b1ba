"""An answer means "stored": a final prediction or a REST answer is sent only once its attempt is durable.

The crash tests kill with SIGKILL, not a polite stop (which flushes): first the Cassandra
node under a stream of predictions, then the web process itself. In both, every attempt
whose answer arrived must be stored exactly once, counted by id in every table.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
import uuid

import pytest
import requests
import socketio as socketio_client
from cassandra.cluster import Cluster

from bench.live import UNLIMITED
from scripts.cassandra_node import Node
from server.extensions import socketio
from server.storage.store import StoreUnavailable
from tests.support.images import big_digit, data_url, on_canvas, transparent_png
from tests.support.outages import own_cassandra_node
from tests.support.server_process import start_server, stop_server
from tests.support.socket_events import events
from tests.support.waiting import PredictLoad, wait_until


@pytest.fixture(scope="module")
def seven(mnist) -> str:
    return data_url(transparent_png(on_canvas(big_digit(mnist.x_test[0], 160))))


def frame(attempt_id: str, image: str, final: bool = True) -> dict:
    return {"attempt_id": attempt_id, "seq": 0, "image": image, "final": final}


def test_a_final_prediction_arrives_only_once_its_attempt_is_stored(make_app, seven):
    app = make_app(LOG_FLUSH_SECONDS=60)  # no timed flush: only the answer's promise writes
    store = app.extensions["service"].store
    connection = socketio.test_client(app)
    draft_id, final_id = str(uuid.uuid4()), str(uuid.uuid4())
    connection.emit("frame", frame(draft_id, seven, final=False))
    events(connection, "prediction")
    connection.emit("frame", frame(final_id, seven))
    [prediction] = events(connection, "prediction")
    assert prediction["final"] is True
    assert store.get(final_id) is not None, "the answer came after the write, not before"
    connection.disconnect()


def test_a_draft_answered_after_its_final_does_not_overwrite_it(make_app, seven, blank_frame):
    app = make_app(INFERENCE_WORKERS=1)
    store = app.extensions["service"].store
    connection = socketio.test_client(app)
    attempt_id = str(uuid.uuid4())
    connection.emit("frame", {**frame(attempt_id, seven), "seq": 5})
    events(connection, "prediction")
    connection.emit("frame", {**frame(attempt_id, blank_frame, final=False), "seq": 4})  # late, out of order
    assert events(connection, "prediction")[0]["seq"] == 4
    app.extensions["service"].log.flush()
    stored = store.get(attempt_id)
    assert stored.final is True
    assert stored.digit == 7
    connection.disconnect()


def test_a_rest_answer_arrives_only_once_its_attempt_is_stored(make_app, seven):
    app = make_app(LOG_FLUSH_SECONDS=60)
    answer = app.test_client().post("/api/predict", json={"image": seven})
    assert answer.status_code == 200
    assert app.extensions["service"].store.get(answer.json["attempt_id"]) is not None


def keep_nothing(app, monkeypatch) -> None:
    """Break both the store and the spool of an app, as a dead database on a full disk would."""
    digits = app.extensions["service"]
    digits.start()  # the attempt log is part of the runtime, made on first use
    log = digits.log

    def refuse(*args):
        raise StoreUnavailable("down")

    monkeypatch.setattr(log.store, "upsert", refuse)
    monkeypatch.setattr(log.spool, "push", lambda operations: (_ for _ in ()).throw(sqlite3.OperationalError("full")))


def test_when_nothing_can_keep_an_attempt_it_is_not_answered(make_app, seven, monkeypatch):
    app = make_app()
    keep_nothing(app, monkeypatch)
    refused = app.test_client().post("/api/predict", json={"image": seven})
    assert refused.status_code == 503
    assert refused.json["error"]["code"] == "store_unavailable"
    connection = socketio.test_client(app)
    connection.emit("frame", frame(str(uuid.uuid4()), seven))
    [error] = events(connection, "error")
    assert error["code"] == "store_unavailable"
    assert events(connection, "prediction", timeout=0.5) == [], "no prediction for an attempt nobody kept"
    connection.disconnect()


# ---- crash tests ------------------------------------------------------------------------------------------------


@pytest.fixture
def crash_node():
    """A Cassandra node of its own: this test kills it."""
    yield from own_cassandra_node("crash-cassandra", 19044, 17004)


def stored_ids(node: Node, keyspace: str) -> dict[str, list[str]]:
    """Every attempt id in every table that holds attempts, duplicates kept."""
    cluster = Cluster([node.address], port=node.port, protocol_version=3)
    session = cluster.connect(keyspace)
    tables = {table: [str(row.id) for row in session.execute(f"SELECT id FROM {table}")] for table in TABLES}
    cluster.shutdown()
    return tables


TABLES = ("attempts", "attempts_by_day")


@pytest.mark.cassandra
@pytest.mark.slow
def test_a_cassandra_crash_loses_no_answered_attempt(crash_node, make_app, seven):
    keyspace = f"crash_{uuid.uuid4().hex[:12]}"
    app = make_app(STORE_URL=f"cassandra://127.0.0.1:{crash_node.port}/{keyspace}", LOG_FLUSH_SECONDS=0.25)
    health = app.test_client()
    with PredictLoad(app, seven, drawers=4) as load:
        wait_until(lambda: len(load.acknowledged) >= 150, 60, "answers before the crash")
        crash_node.kill()
        at_crash = len(load.acknowledged)
        wait_until(lambda: len(load.acknowledged) >= at_crash + 40, 30, "answers while the node is dead")
        crash_node.start()
        wait_until(lambda: len(load.acknowledged) >= at_crash + 80, 60, "answers after the restart")
    assert load.failures == [], "every request was answered, into the store or the spool"
    wait_until(lambda: health.get("/healthz").json["store"]["spool_depth"] == 0, 60, "the spool to drain")
    answered = sorted(load.acknowledged)
    stored = stored_ids(crash_node, keyspace)
    print(f"answered {len(answered)} ({at_crash} before the kill); stored", {t: len(i) for t, i in stored.items()})
    for table, ids in stored.items():
        assert len(ids) == len(set(ids)), f"{table}: no attempt twice"
        assert sorted(ids) == answered, f"{table}: every answered attempt, exactly once"


class Stream:
    """REST and Socket.IO drawers against a real server until it dies; what each got answered.

    The drawer that receives answer number ``kill_at`` kills the server at once: the
    attempt it was just told about is the one most at risk, if answers ran ahead of writes.
    """

    def __init__(self, base: str, image: str, server: subprocess.Popen, kill_at: int, rest_drawers: int = 3) -> None:
        self.base, self.image, self.server, self.kill_at = base, image, server, kill_at
        self.answered: list[str] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._post) for _ in range(rest_drawers)]
        self._threads.append(threading.Thread(target=self._draw))

    def _answered(self, attempt_id: str) -> None:
        with self._lock:
            self.answered.append(attempt_id)
            if len(self.answered) == self.kill_at:  # the whole server: gunicorn, its worker, its recognizers
                os.killpg(self.server.pid, signal.SIGKILL)

    def _post(self) -> None:
        with requests.Session() as session:
            while True:
                try:
                    response = session.post(f"{self.base}/api/predict", json={"image": self.image}, timeout=10)
                except requests.RequestException:
                    return  # the server is gone: whatever was in flight was never answered
                if response.status_code == 200:
                    self._answered(response.json()["attempt_id"])

    def _draw(self) -> None:
        client = socketio_client.SimpleClient()
        client.connect(self.base, transports=["websocket"])
        try:
            while True:
                client.emit("frame", frame(str(uuid.uuid4()), self.image))
                name, payload = client.receive(timeout=10)
                if name == "prediction" and payload["final"]:
                    self._answered(payload["attempt_id"])
        except (socketio_client.exceptions.SocketIOError, OSError):
            return
        finally:
            client.disconnect()

    def run(self) -> list[str]:
        """Draw until the server is killed; the ids whose answers arrived."""
        for thread in self._threads:
            thread.start()
        for thread in self._threads:
            thread.join(timeout=60)
        return list(self.answered)


@pytest.mark.slow
def test_a_web_process_crash_loses_no_answered_attempt(tmp_path, seven):
    settings = {"LOG_FLUSH_SECONDS": "0.25", **{key: "1000" for key in UNLIMITED if "RATE" in key}}
    server, base = start_server(tmp_path, **settings)
    answered = Stream(base, seven, server, kill_at=200).run()
    assert server.wait(timeout=10) == -signal.SIGKILL
    stop_server(server)  # its recognizer processes, had they outlived it
    assert len(answered) >= 200
    restarted, base = start_server(tmp_path, **settings)  # the same store and spool
    try:
        wait_until(lambda: requests.get(f"{base}/healthz", timeout=2).json()["store"]["spool_depth"] == 0, 30)
        with sqlite3.connect(tmp_path / "attempts.db") as db:
            ids = [row[0] for row in db.execute("SELECT id FROM attempts WHERE frames > 0")]
    finally:
        stop_server(restarted)
    missing = set(answered) - set(ids)
    print(f"answered {len(answered)} before the kill; {len(ids)} stored, {len(missing)} of the answered missing")
    assert not missing, f"{len(missing)} of {len(answered)} answered attempts were lost in the crash"
    assert len(ids) == len(set(ids))
