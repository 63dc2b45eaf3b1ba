"""Both async modes serve the protocol for real: threading (the default) and eventlet.

Each mode runs ``python -m server`` in its own process; several Socket.IO clients
(websocket transport) stream frames at once, and every final frame is answered.
"""

import threading
import uuid

import pytest
import socketio

from tests.support.server_process import running_server

pytestmark = pytest.mark.slow


def drawer(base: str, frame: str, answers: list, errors: list) -> None:
    client = socketio.SimpleClient()
    client.connect(base, transports=["websocket"])
    attempt_id = str(uuid.uuid4())
    try:
        for seq in range(8):
            client.emit("frame", {"attempt_id": attempt_id, "seq": seq, "image": frame, "final": seq == 7})
        while True:
            name, payload = client.receive(timeout=30)
            if name == "error":
                errors.append(payload)
            elif name == "prediction":
                answers.append(payload)
                if payload["final"]:
                    return
    finally:
        client.disconnect()


@pytest.mark.parametrize("mode", ["threading", "eventlet"])
def test_mode_answers_concurrent_drawers(tmp_path, seven_frame, mode):
    answers, errors = [], []
    with running_server(tmp_path, ASYNC_MODE=mode) as base:
        threads = [threading.Thread(target=drawer, args=(base, seven_frame, answers, errors)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []
    finals = [answer for answer in answers if answer["final"]]
    assert len(finals) == 6, "every drawing's final frame is answered"
    assert {answer["digit"] for answer in answers} == {7}
