"""Shared fixtures: the real MNIST cache and the committed model."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from model import card as model_card
from model.data import Mnist, load_mnist
from model.litert import Classifier


@pytest.fixture(scope="session")
def mnist() -> Mnist:
    return load_mnist()


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return Classifier.load(model_card.TFLITE_PATH)


@pytest.fixture
def app_config(tmp_path) -> dict:
    """A test app on its own SQLite file and spool, flushing the attempt log quickly."""
    return {
        "TESTING": True,
        "STORE_URL": f"sqlite:///{tmp_path / 'attempts.db'}",
        "SPOOL_PATH": str(tmp_path / "spool.db"),
        "MODELS_DIR": str(tmp_path / "models"),
        "MODEL_POLL_SECONDS": 0.1,
        "LOG_FLUSH_SECONDS": 0.05,
        "STORE_RETRY_SECONDS": 0.2,
    }


@pytest.fixture
def make_app(app_config):
    """Build test apps with settings overridden; each is closed after the test."""
    from server import create_app

    made = []

    def make(**overrides):
        made.append(create_app({**app_config, **overrides}))
        return made[-1]

    yield make
    for application in made:
        application.extensions["digits"].close()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def socket_client(app):
    from server.extensions import socketio

    connection = socketio.test_client(app)
    yield connection
    if connection.is_connected():
        connection.disconnect()


@pytest.fixture(scope="session")
def cassandra_node():
    """A real Cassandra node for the whole session, on its own ports and data folder."""
    from scripts.cassandra_node import CACHE, Node

    node = Node(CACHE / "test-cassandra", port=19042, storage_port=17000)
    node.start()
    yield node
    node.stop()


@pytest.fixture
def cassandra_url(cassandra_node) -> str:
    """A fresh keyspace on the session's node, so tests never see each other's rows."""
    import uuid

    return f"cassandra://127.0.0.1:{cassandra_node.port}/test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def redis_url(tmp_path):
    """A real Redis server on a free port, for Socket.IO's message queue."""
    import subprocess
    import time

    import redis

    from tests.server_process import free_port

    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)
