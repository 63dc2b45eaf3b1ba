"""A two-node Cassandra cluster on loopback: replication factor 2, one node stopped under load.

The app keeps writing at consistency ONE while a node is down and stays healthy; once the
node is back, a read at ALL finds every acknowledged attempt exactly once.

The test reads the cluster's layout from the driver's metadata, never from system schema
tables: those changed in Cassandra 3.0 (the tests run 2.1, production 5).
"""

import uuid

import pytest
from cassandra import ConsistencyLevel, OperationTimedOut, ReadTimeout, Unavailable
from cassandra.cluster import Cluster, NoHostAvailable
from cassandra.metadata import SimpleStrategy
from cassandra.query import SimpleStatement

from scripts.cassandra_node import CACHE, Node
from tests.support.waiting import PredictLoad, wait_until

pytestmark = [pytest.mark.cassandra, pytest.mark.slow]
PORT, STORAGE_PORT = 19045, 17006  # ports of its own: the crash test's node uses 19044 and 17004


def nodes_seen_from(address: str) -> int:
    """How many nodes the ring has, as the driver learns it through one node."""
    cluster = Cluster([address], port=PORT, protocol_version=3)
    try:
        cluster.connect()
        return len(cluster.metadata.all_hosts())
    finally:
        cluster.shutdown()


def healthy(client) -> bool:
    """Healthy and nothing spooled: every acknowledged attempt so far reached the store."""
    health = client.get("/healthz").json
    return health["status"] == "ok" and health["store"]["spool_depth"] == 0


@pytest.fixture
def two_nodes():
    first = Node(CACHE / "cluster-1", address="127.0.0.1", port=PORT, storage_port=STORAGE_PORT)
    second = Node(CACHE / "cluster-2", address="127.0.0.2", port=PORT, storage_port=STORAGE_PORT, seeds="127.0.0.1")
    first.start()
    second.start(timeout=240)
    wait_until(lambda: nodes_seen_from("127.0.0.1") == 2, 120, "the second node to join the ring")
    yield first, second
    second.stop()
    first.stop()


def test_one_node_down_under_load_loses_nothing(two_nodes, make_app, seven_frame):
    _, second = two_nodes
    keyspace = f"clustered_{uuid.uuid4().hex[:12]}"  # the nodes' data folders outlive the test
    app = make_app(STORE_URL=f"cassandra://127.0.0.1,127.0.0.2:{PORT}/{keyspace}?replication_factor=2&consistency=ONE")
    health = app.test_client()
    with PredictLoad(app, seven_frame) as load:
        wait_until(lambda: len(load.acknowledged) >= 30, 30, "answers with both nodes up")
        second.stop()
        stopped_at = len(load.acknowledged)
        wait_until(lambda: len(load.acknowledged) >= stopped_at + 60, 60, "answers with one node down")
        wait_until(lambda: healthy(health), 60, "a healthy app under load with one node down")
        assert second.running_pid() is None, "the second node is still down"
    assert load.failures == []

    # At consistency ONE a write acknowledged just before the stop may sit on the stopped
    # replica only: bring it back and read at ALL, so every replica's rows are counted.
    second.start()
    cluster = Cluster(["127.0.0.1", "127.0.0.2"], port=PORT, protocol_version=3)
    session = cluster.connect(keyspace)
    replication = cluster.metadata.keyspaces[keyspace].replication_strategy
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
    assert isinstance(replication, SimpleStrategy)
    assert replication.replication_factor == 2
    assert sorted(stored) == sorted(load.acknowledged), "every acknowledged attempt, exactly once"
