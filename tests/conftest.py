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
        "LOG_FLUSH_SECONDS": 0.05,
        "STORE_RETRY_SECONDS": 0.2,
    }


@pytest.fixture
def app(app_config):
    from server import create_app

    application = create_app(app_config)
    yield application
    application.extensions["digits"].close()


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
