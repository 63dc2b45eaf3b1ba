"""The Procfile's processes work as a Heroku-style platform runs them (`bash -c` with PORT set)
and under a local Procfile runner (honcho)."""

import gc
import os
import runpy
import subprocess
import sys
import types
import uuid
from pathlib import Path

import pytest
import requests
import socketio

from tests.support.server_process import ROOT, running_server

pytestmark = pytest.mark.slow


def processes() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


def test_procfile_declares_web_and_release():
    """The web process is gunicorn with gunicorn.conf.py (read from the working directory); PORT binds there."""
    assert set(processes()) == {"web", "release"}
    assert "gunicorn 'server:create_app()'" in processes()["web"]


def test_release_creates_the_schema(tmp_path):
    environment = {
        **os.environ,
        "STORE_URL": f"sqlite:///{tmp_path / 'a.db'}",
        "SPOOL_PATH": str(tmp_path / "s.db"),
        "DATA_DIR": str(tmp_path),
    }
    environment["PATH"] = f"{Path(sys.executable).parent}:{environment['PATH']}"
    result = subprocess.run(
        ["bash", "-c", processes()["release"]], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "Schema ready" in result.stdout
    assert (tmp_path / "a.db").exists()
    assert "XNNPACK" not in result.stderr, "the release step made a LiteRT interpreter: it needs no model"


def test_gunicorn_starts_the_runtime_after_the_fork(make_app, monkeypatch):
    """``post_worker_init`` starts the recognizer processes before the first visitor, who then does not wait,
    and the web process's garbage collector (server/collector.py) with its sweep."""
    monkeypatch.setenv("ASYNC_MODE", "threading")  # the file sets a default in os.environ: not in this process
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    app = make_app(GC_SWEEP_SECONDS=300.0)
    assert not app.extensions["service"].started
    config["post_worker_init"](types.SimpleNamespace(wsgi=app))
    try:
        assert app.extensions["service"].started
        assert app.extensions["collector"].sweep_seconds == 300.0
        assert gc.get_freeze_count() > 0
    finally:
        app.extensions["collector"].stop()


def test_web_process_serves_the_app_and_the_protocol(tmp_path, seven_frame):
    """On $PORT (set by running_server, as a platform does), every interface, the eventlet worker."""
    with running_server(tmp_path, command=["bash", "-c", processes()["web"]]) as base:
        assert "Using worker: eventlet" in (tmp_path / "server.log").read_text()
        client = socketio.SimpleClient()
        client.connect(base, transports=["websocket"])
        client.emit("frame", {"attempt_id": str(uuid.uuid4()), "seq": 0, "image": seven_frame, "final": True})
        name, prediction = client.receive(timeout=20)
        client.disconnect()
    assert name == "prediction"
    assert prediction["digit"] == 7


def test_honcho_runs_the_procfile(tmp_path):
    honcho = str(Path(sys.executable).parent / "honcho")
    assert subprocess.run([honcho, "check"], cwd=ROOT, capture_output=True, timeout=60).returncode == 0
    command = [honcho, "start", "web", "--port", "{port}", "--no-colour"]
    with running_server(tmp_path, command=command) as base:
        assert requests.get(f"{base}/healthz", timeout=5).json()["status"] == "ok"
