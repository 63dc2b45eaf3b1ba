"""The service is cheap to make: ``create_app`` and ``flask init-db`` start no runtime; first use does."""

from __future__ import annotations

import sqlite3

import psutil
import pytest

from server.serving.forking import recognizer_template


def children() -> set[int]:
    return {child.pid for child in psutil.Process().children(recursive=True)}


def recognizers() -> set[int]:
    """The recognizer processes: forked by this process's recognizer template (server/serving/forking.py)."""
    template = recognizer_template().pid
    return {child.pid for child in psutil.Process().children(recursive=True) if child.ppid() == template}


def tables(path) -> set[str]:
    if not path.exists():
        return set()
    with sqlite3.connect(path) as connection:
        return {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_create_app_starts_nothing_until_first_use(make_app):
    before = children()
    app = make_app(INFERENCE_PROCESSES=True, INFERENCE_WORKERS=2)
    digits = app.extensions["service"]
    assert not digits.started
    assert (digits.recognizer, digits.queue, digits.log, digits.results) == (None, None, None, None)
    assert children() == before, "no recognizer process (nor template) before the first request"
    recognizers_before = recognizers()
    assert app.test_client().get("/healthz").json["model"]["workers"] == {"ready": 2, "total": 2}
    assert digits.started
    assert len(recognizers() - recognizers_before) == 2


def test_a_socket_connection_starts_the_runtime_too(make_app):
    from server.extensions import socketio

    app = make_app()
    connection = socketio.test_client(app)
    assert app.extensions["service"].started
    connection.disconnect()


def test_init_db_touches_only_the_database(make_app, store_path, monkeypatch):
    from model.runtime import versions

    monkeypatch.setattr(versions.Classifier, "load", lambda path: pytest.fail("loaded a model"))
    before = children()
    app = make_app(INFERENCE_PROCESSES=True)
    assert "attempts" not in tables(store_path)
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "Schema ready" in result.output
    assert "attempts" in tables(store_path)
    assert not app.extensions["service"].started
    assert children() == before
    again = app.test_cli_runner().invoke(args=["init-db"])  # idempotent
    assert again.exit_code == 0, again.output


def test_closing_an_app_that_never_started_is_fine(make_app):
    make_app().extensions["service"].close()
