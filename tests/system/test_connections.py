"""Many open connections on the production stack: idle clients cost the server memory, not threads."""

from __future__ import annotations

import uuid

import pytest
import requests
import socketio

from bench.live import procfile_web
from tests.support.crowd import Crowd
from tests.support.server_process import start_server, stop_server

pytestmark = pytest.mark.slow
CROWD = 300


def test_the_web_process_holds_a_crowd_and_still_answers(tmp_path, seven_frame):
    """Three hundred idle clients stay connected while /healthz and a drawing client are answered.

    The gthread worker this replaced held 64 (one thread per websocket): the 65th client hung.
    """
    process, base = start_server(tmp_path, procfile_web(), MAX_CONNECTIONS_PER_ADDRESS=str(CROWD + 10))
    port = int(base.rsplit(":", 1)[1])
    try:
        with Crowd("127.0.0.1", port, CROWD) as crowd:
            assert requests.get(f"{base}/healthz", timeout=5).json()["status"] == "ok"
            drawer = socketio.SimpleClient()
            drawer.connect(base, transports=["websocket"])
            drawer.emit("frame", {"attempt_id": str(uuid.uuid4()), "seq": 0, "image": seven_frame, "final": True})
            name, prediction = drawer.receive(timeout=20)
            drawer.disconnect()
            assert (name, prediction["digit"]) == ("prediction", 7)
            assert crowd.still_connected() == CROWD, "nobody in the crowd was dropped"
    finally:
        stop_server(process)
