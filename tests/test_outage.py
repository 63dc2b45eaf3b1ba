"""Cassandra goes down under load and comes back: every acknowledged attempt is stored exactly once."""

import threading
import time

import pytest
from cassandra.cluster import Cluster

from scripts.cassandra_node import CACHE, Node
from tests.images import big_digit, data_url, on_canvas, transparent_png

pytestmark = [pytest.mark.cassandra, pytest.mark.slow]


@pytest.fixture
def outage_node():
    """A node of its own: this test stops and starts it."""
    node = Node(CACHE / "outage-cassandra", port=19043, storage_port=17002)
    node.start()
    yield node
    node.stop()


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_outage_under_load_loses_nothing(outage_node, app_config, mnist):
    from server import create_app

    app = create_app({**app_config, "STORE_URL": f"cassandra://127.0.0.1:{outage_node.port}/outage"})
    image = data_url(transparent_png(on_canvas(big_digit(mnist.x_test[0], 160))))
    acknowledged: list[str] = []
    failures: list[int] = []
    stop = threading.Event()

    def draw() -> None:
        client = app.test_client()
        while not stop.is_set():
            response = client.post("/api/predict", json={"image": image})
            if response.status_code == 200:
                acknowledged.append(response.json["attempt_id"])
            else:
                failures.append(response.status_code)
            time.sleep(0.01)

    drawers = [threading.Thread(target=draw) for _ in range(2)]
    for drawer in drawers:
        drawer.start()
    health = app.test_client()
    try:
        wait_until(lambda: len(acknowledged) >= 30, 30, "answers before the outage")
        outage_node.stop()
        before_outage = len(acknowledged)
        wait_until(lambda: health.get("/healthz").json["status"] == "degraded", 30, "degraded health")
        wait_until(lambda: len(acknowledged) >= before_outage + 40, 30, "answers during the outage")
        assert health.get("/healthz").json["store"]["spool_depth"] > 0
        outage_node.start()
        wait_until(lambda: len(acknowledged) >= before_outage + 80, 60, "answers after the restart")
    finally:
        stop.set()
        for drawer in drawers:
            drawer.join()
    assert failures == [], "the app kept classifying through the outage"
    wait_until(lambda: health.get("/healthz").json["status"] == "ok", 60, "the spool to drain")
    assert health.get("/healthz").json["store"]["spool_depth"] == 0
    app.extensions["digits"].close()

    cluster = Cluster(["127.0.0.1"], port=outage_node.port, protocol_version=3)
    session = cluster.connect("outage")
    stored = [str(row.id) for row in session.execute("SELECT id FROM attempts")]
    by_day = [str(row.id) for row in session.execute("SELECT id FROM attempts_by_day")]
    cluster.shutdown()
    assert len(stored) == len(set(stored))
    assert sorted(stored) == sorted(acknowledged), "every acknowledged attempt, exactly once"
    assert sorted(by_day) == sorted(acknowledged)
