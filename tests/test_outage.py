"""Cassandra goes down under load and comes back: every acknowledged attempt is stored exactly once."""

import uuid

import pytest
from cassandra.cluster import Cluster

from scripts.cassandra_node import CACHE, Node
from tests.images import big_digit, data_url, on_canvas, transparent_png
from tests.waiting import PredictLoad, wait_until

pytestmark = [pytest.mark.cassandra, pytest.mark.slow]


@pytest.fixture
def outage_node():
    """A node of its own: this test stops and starts it."""
    node = Node(CACHE / "outage-cassandra", port=19043, storage_port=17002)
    node.start()
    yield node
    node.stop()


def test_outage_under_load_loses_nothing(outage_node, make_app, mnist):
    keyspace = f"outage_{uuid.uuid4().hex[:12]}"  # the node's data folder outlives the test
    app = make_app(STORE_URL=f"cassandra://127.0.0.1:{outage_node.port}/{keyspace}")
    image = data_url(transparent_png(on_canvas(big_digit(mnist.x_test[0], 160))))
    health = app.test_client()
    with PredictLoad(app, image) as load:
        wait_until(lambda: len(load.acknowledged) >= 30, 30, "answers before the outage")
        outage_node.stop()
        before_outage = len(load.acknowledged)
        wait_until(lambda: health.get("/healthz").json["status"] == "degraded", 30, "degraded health")
        wait_until(lambda: len(load.acknowledged) >= before_outage + 40, 30, "answers during the outage")
        assert health.get("/healthz").json["store"]["spool_depth"] > 0
        outage_node.start()
        wait_until(lambda: len(load.acknowledged) >= before_outage + 80, 60, "answers after the restart")
    assert load.failures == [], "the app kept classifying through the outage"
    wait_until(lambda: health.get("/healthz").json["status"] == "ok", 60, "the spool to drain")
    assert health.get("/healthz").json["store"]["spool_depth"] == 0

    cluster = Cluster(["127.0.0.1"], port=outage_node.port, protocol_version=3)
    session = cluster.connect(keyspace)
    stored = [str(row.id) for row in session.execute("SELECT id FROM attempts")]
    by_day = [str(row.id) for row in session.execute("SELECT id FROM attempts_by_day")]
    cluster.shutdown()
    assert len(stored) == len(set(stored))
    assert sorted(stored) == sorted(load.acknowledged), "every acknowledged attempt, exactly once"
    assert sorted(by_day) == sorted(load.acknowledged)
