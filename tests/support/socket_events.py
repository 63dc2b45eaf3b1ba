"""Socket.IO test-client helpers shared by the live tests: wait for events, new attempt ids."""

from __future__ import annotations

import time
import uuid

from server.extensions import socketio


def events(connection, name: str, count: int = 1, timeout: float = 10.0) -> list[dict]:
    """The ``name`` events received so far, once at least ``count`` have arrived.

    Answers are emitted by the results loop, after the handler has returned, so a test
    waits for them; other events stay for a later call.
    """
    inbox = connection.__dict__.setdefault("inbox", [])
    deadline = time.monotonic() + timeout
    while True:
        inbox.extend(connection.get_received())
        matching = [event for event in inbox if event["name"] == name]
        if len(matching) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    inbox[:] = [event for event in inbox if event["name"] != name]
    return [event["args"][0] for event in matching]


def new_id() -> str:
    return str(uuid.uuid4())


def socket_to(app, auth: dict | None = None):
    return socketio.test_client(app, auth=auth)
