"""A two-node Cassandra cluster on loopback: replication factor 2, one node stopped under load.

The app keeps writing at consistency ONE while a node is down and stays healthy; once the
node is back, a read at ALL finds every acknowledged attempt exactly once.
"""

import uuid

import pytest
from cassandra import ConsistencyLevel, OperationTimedOut, ReadTimeout, Unavailable
from cassandra.cluster import Cluster, NoHostAvailable
from cassandra.query import SimpleStatement

from scripts.cassandra_node import CACHE, Node
from tests.images import big_digit, data_url, on_canvas, transparent_png
from tests.waiting import PredictLoad, wait_until

pytestmark = [pytest.mark.cassandra, pytest.mark.slow]
PORT, STORAGE_PORT = 19044, 17004


def peers(address: str) -> int:
    cluster = Cluster([address], port=PORT, protocol_version=3)
    try:
        return len(list(cluster.connect().execute("SELECT peer FROM system.peers")))
    finally:
        cluster.shutdown()


@pytest.fixture
def two_nodes():
    first = Node(CACHE / "cluster-1", address="127.0.0.1", port=PORT, storage_port=STORAGE_PORT)
    second = Node(CACHE / "cluster-2", address="127.0.0.2", port=PORT, storage_port=STORAGE_PORT, seeds="127.0.0.1")
    first.start()
    second.start(timeout=240)
    wait_until(lambda: peers("127.0.0.1") == 1, 120, "the second node to join the ring")
    yield first, second
    second.stop()
    first.stop()


def test_one_node_down_under_load_loses_nothing(two_nodes, make_app, mnist):
    _, second = two_nodes
    keyspace = f"clustered_{uuid.uuid4().hex[:12]}"  # the nodes' data folders outlive the test
    app = make_app(STORE_URL=f"cassandra://127.0.0.1,127.0.0.2:{PORT}/{keyspace}?replication_factor=2&consistency=ONE")
    image = data_url(transparent_png(on_canvas(big_digit(mnist.x_test[0], 160))))
    health = app.test_client()
    with PredictLoad(app, image) as load:
        wait_until(lambda: len(load.acknowledged) >= 30, 30, "answers with both nodes up")
        second.stop()
        stopped_at = len(load.acknowledged)
        wait_until(lambda: len(load.acknowledged) >= stopped_at + 60, 60, "answers with one node down")
    assert load.failures == []
    wait_until(lambda: health.get("/healthz").json["status"] == "ok", 60, "a healthy app")
    assert health.get("/healthz").json["store"]["spool_depth"] == 0

    # At consistency ONE a write acknowledged just before the stop may sit on the stopped
    # replica only: bring it back and read at ALL, so every replica's rows are counted.
    second.start()
    cluster = Cluster(["127.0.0.1", "127.0.0.2"], port=PORT, protocol_version=3)
    session = cluster.connect(keyspace)
    replication = session.execute(
        "SELECT strategy_options FROM system.schema_keyspaces WHERE keyspace_name = %s", (keyspace,)
    ).one()
    stored: list[str] = []

    def read_all_replicas() -> bool:
        try:
            rows = session.execute(SimpleStatement("SELECT id FROM attempts", consistency_level=ConsistencyLevel.ALL))
        except (Unavailable, ReadTimeout, NoHostAvailable, OperationTimedOut):
            return False
        stored[:] = [str(row.id) for row in rows]
        return True

    wait_until(read_all_replicas, 120, "both replicas to answer")
    cluster.shutdown()
    assert '"replication_factor":"2"' in replication.strategy_options
    assert sorted(stored) == sorted(load.acknowledged), "every acknowledged attempt, exactly once"
