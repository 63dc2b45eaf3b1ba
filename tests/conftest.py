"""Shared fixtures: the real MNIST cache, the committed model, test images, apps and stores.

Every fixture lives here once; image builders that tests vary live in ``tests/support/images.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from model.runtime import card as model_card
from model.runtime.litert import Classifier
from model.runtime.recognizer import Recognizer
from model.training.data import Mnist, load_mnist
from tests.support.images import CLEAR, blank_png, data_url, drawing
from tests.support.outages import Outage, unopenable_sqlite
from tests.support.server_process import TEACHER_TOKEN

SKIPPED: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        SKIPPED.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped test hides a whole feature from CI (a missing browser, say): the run fails instead."""
    if SKIPPED and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter) -> None:
    if SKIPPED:
        terminalreporter.write_line(
            f"FAILED: {len(SKIPPED)} test(s) skipped; install what they need instead: {', '.join(SKIPPED)}", red=True
        )


@pytest.fixture(scope="session")
def mnist() -> Mnist:
    return load_mnist()


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return Classifier.load(model_card.TFLITE_PATH)


@pytest.fixture(scope="session")
def recognizer() -> Recognizer:
    """The committed model with its card; tests that patch it use monkeypatch, which undoes the patch."""
    return Recognizer.load()


@pytest.fixture(scope="session")
def seven_digit(mnist) -> np.ndarray:
    """A clear 7 from the MNIST test set, 28x28."""
    return mnist.x_test[CLEAR[7]]


@pytest.fixture(scope="session")
def seven_png(seven_digit) -> bytes:
    """The 7 drawn on a transparent canvas, as the page sends it."""
    return drawing(seven_digit)


@pytest.fixture(scope="session")
def seven_frame(seven_png) -> str:
    """The 7 as a frame's data URL."""
    return data_url(seven_png)


@pytest.fixture(scope="session")
def non_digit_png(recognizer) -> bytes:
    """A generated non-digit (a word, a shape...) that the committed model refuses, as a canvas PNG."""
    from model.training.realistic import non_digit_samples

    return next(s.data for s in non_digit_samples(24, seed=3) if recognizer.recognize(s.data).reason == "not_a_digit")


@pytest.fixture(scope="session")
def blank_frame() -> str:
    return data_url(blank_png())


@pytest.fixture
def store_path(tmp_path) -> Path:
    """The test app's SQLite file."""
    return tmp_path / "attempts.db"


@pytest.fixture
def teacher_token() -> str:
    """The test apps' teacher key."""
    return TEACHER_TOKEN


@pytest.fixture
def teacher_headers(teacher_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {teacher_token}"}


@pytest.fixture
def app_config(tmp_path, store_path, teacher_token) -> dict:
    """A test app on its own SQLite file and spool, flushing the attempt log quickly, with a known teacher key."""
    return {
        "TESTING": True,
        "TEACHER_TOKEN": teacher_token,
        "DATA_DIR": str(tmp_path / "data"),
        "STORE_URL": f"sqlite:///{store_path}",
        "SPOOL_PATH": str(tmp_path / "spool.db"),
        "MODELS_DIR": str(tmp_path / "models"),
        "MODEL_POLL_SECONDS": 0.1,
        "LOG_FLUSH_SECONDS": 0.05,
        "STORE_RETRY_SECONDS": 0.2,
        # Tests post back to back from one address (load threads, polling); test_rate_limits checks the limit.
        "REST_RATE_LIMIT_PER_SECOND": 1000.0,
        "REST_RATE_LIMIT_BURST": 1000,
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
        application.extensions["service"].close()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def teacher_client(teacher_headers):
    """Any test app's REST client, sending the teacher key with every request."""

    def client_of(application):
        teacher = application.test_client()
        teacher.environ_base["HTTP_AUTHORIZATION"] = teacher_headers["Authorization"]
        return teacher

    return client_of


@pytest.fixture
def client(app, teacher_client):
    """The teacher's REST client: most API tests are about what a teacher sees (test_teacher checks who may)."""
    return teacher_client(app)


@pytest.fixture
def anonymous(app):
    """A REST client without the teacher key: a pupil's browser or a kiosk."""
    return app.test_client()


@pytest.fixture
def sqlite_outage(store_path) -> Outage:
    """The test app's SQLite store is down."""
    return unopenable_sqlite(store_path)


@pytest.fixture
def store_down_app(make_app, sqlite_outage):
    """An app started while its store is down."""
    return make_app(STORE_URL=sqlite_outage.url)


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


@pytest.fixture(params=["sqlite", pytest.param("cassandra", marks=pytest.mark.cassandra)])
def store_url(request, tmp_path) -> str:
    """Each store in turn: a fresh SQLite file, then a fresh keyspace on the session's Cassandra node."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'a.db'}"
    return request.getfixturevalue("cassandra_url")


@pytest.fixture
def store(store_url):
    """Each store in turn (``store_url``), opened with its schema, closed after the test."""
    from server.storage.urls import open_store

    opened = open_store(store_url)
    opened.create_schema()
    yield opened
    opened.close()


@pytest.fixture
def redis_url(tmp_path):
    """A real Redis server on a free port, for Socket.IO's message queue."""
    import subprocess
    import time

    import redis

    from tests.support.server_process import free_port

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
