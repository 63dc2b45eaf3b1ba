"""The store is down, at start-up or mid-run, and comes back: the app keeps answering, reports
itself degraded, and stores every acknowledged attempt exactly once when the store returns."""

import uuid

import pytest
from cassandra.cluster import Cluster

from tests.support.outages import Outage, own_cassandra_node
from tests.support.waiting import PredictLoad, wait_until

CASSANDRA = [pytest.mark.cassandra, pytest.mark.slow]


@pytest.fixture
def outage_node():
    """A node of its own: these tests stop and start it."""
    yield from own_cassandra_node("outage-cassandra", 19043, 17002)


@pytest.fixture(params=["sqlite", pytest.param("cassandra", marks=CASSANDRA)])
def outage(request) -> Outage:
    """Each store, down before the app starts."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_outage")
    node = request.getfixturevalue("outage_node")
    node.stop()
    return Outage(f"cassandra://127.0.0.1:{node.port}/late_{uuid.uuid4().hex[:12]}", node.start)


def test_the_app_starts_with_the_store_down_and_drains_once_it_is_back(outage, make_app, teacher_client, seven_frame):
    client = teacher_client(make_app(STORE_URL=outage.url))
    answer = client.post("/api/predict", json={"image": seven_frame})
    assert answer.status_code == 200, "predictions go on without the store"
    assert answer.json["digit"] == 7
    wait_until(lambda: client.get("/healthz").json["store"]["spool_depth"] == 1, what="the attempt in the spool")
    assert client.get("/healthz").json["status"] == "degraded"
    assert client.get("/healthz").json["store"] == {"store": "degraded", "spool_depth": 1}  # no driver text
    assert "127.0.0.1" not in client.get("/healthz").get_data(as_text=True)
    assert client.get("/api/attempts").json["error"]["code"] == "store_unavailable"
    outage.end()
    wait_until(lambda: client.get("/healthz").json["status"] == "ok", 60, "the spool to drain")
    assert client.get("/healthz").json["store"]["spool_depth"] == 0
    assert [a["attempt_id"] for a in client.get("/api/attempts").json["attempts"]] == [answer.json["attempt_id"]]


@pytest.mark.cassandra
@pytest.mark.slow
def test_outage_under_load_loses_nothing(outage_node, make_app, seven_frame):
    keyspace = f"outage_{uuid.uuid4().hex[:12]}"  # the node's data folder outlives the test
    app = make_app(STORE_URL=f"cassandra://127.0.0.1:{outage_node.port}/{keyspace}")
    health = app.test_client()
    with PredictLoad(app, seven_frame) as load:
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
