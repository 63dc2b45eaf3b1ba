"""Several server processes for real: Redis shares their broadcasts, Cassandra their attempts."""

import threading
import uuid

import pytest
import socketio

from server.storage.urls import open_store
from tests.support.server_process import TEACHER_TOKEN, running_server

pytestmark = [pytest.mark.cassandra, pytest.mark.slow]


def draw(base: str, frame: str, count: int, attempt_ids: list[str]) -> None:
    client = socketio.SimpleClient()
    client.connect(base, transports=["websocket"])
    for _ in range(count):
        attempt_id = str(uuid.uuid4())
        client.emit("frame", {"attempt_id": attempt_id, "seq": 0, "image": frame, "final": True})
        name, prediction = client.receive(timeout=20)
        assert name == "prediction"
        assert prediction["digit"] == 7
        attempt_ids.append(attempt_id)
    client.disconnect()


def test_two_processes_share_the_dashboard_feed_and_the_store(tmp_path, cassandra_url, redis_url, seven_frame):
    settings = {"STORE_URL": cassandra_url, "MESSAGE_QUEUE_URL": redis_url}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with running_server(tmp_path / "a", **settings) as first, running_server(tmp_path / "b", **settings) as second:
        dashboard = socketio.SimpleClient()
        dashboard.connect(first, transports=["websocket"], auth={"token": TEACHER_TOKEN})
        assert dashboard.call("watch", timeout=10) == {"ok": True, "room": ""}
        attempt_ids: list[str] = []
        drawers = [
            threading.Thread(target=draw, args=(base, seven_frame, 5, attempt_ids)) for base in (first, second) * 2
        ]
        for drawer in drawers:
            drawer.start()
        for drawer in drawers:
            drawer.join(timeout=60)
        seen = set()
        while seen != set(attempt_ids):
            name, payload = dashboard.receive(timeout=20)
            if name == "attempt":
                seen.add(payload["attempt_id"])
        dashboard.disconnect()
    assert len(attempt_ids) == 20
    store = open_store(cassandra_url)
    stored = {attempt.id for attempt in store.recent(100, None)}
    store.close()
    assert stored == set(attempt_ids), "both processes wrote to the same store"
