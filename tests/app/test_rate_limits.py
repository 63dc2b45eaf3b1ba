"""Rate limits per client address, in-process: they survive a reconnect, and REST answers 429 with Retry-After.

The flood and the connection cap run on a real server in ``test_address_limits.py``.
"""

from __future__ import annotations

import pytest

from server.api.openapi import SPEC
from server.extensions import socketio
from tests.support.images import data_url, row, transparent_png
from tests.support.socket_events import events, new_id

SLOW_ADDRESS = {"ADDRESS_RATE_LIMIT_PER_SECOND": 0.001, "ADDRESS_RATE_LIMIT_BURST": 3}
SLOW_REST = {"REST_RATE_LIMIT_PER_SECOND": 0.01, "REST_RATE_LIMIT_BURST": 2}


def from_address(app, address: str):
    """A REST client whose requests come from ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_reconnecting_does_not_reset_the_address_rate(make_app, blank_frame):
    app = make_app(**SLOW_ADDRESS)
    first = socketio.test_client(app)
    for seq in range(3):
        first.emit("frame", {"attempt_id": new_id(), "seq": seq, "image": blank_frame})
    assert len(events(first, "prediction", count=3)) == 3
    first.disconnect()
    again = socketio.test_client(app)  # a fresh connection, a fresh per-connection bucket: the address's is spent
    again.emit("frame", {"attempt_id": new_id(), "seq": 0, "image": blank_frame})
    assert events(again, "error")[0]["code"] == "rate_limited"
    elsewhere = socketio.test_client(app, flask_test_client=from_address(app, "127.0.0.2"))
    elsewhere.emit("frame", {"attempt_id": new_id(), "seq": 0, "image": blank_frame})
    assert len(events(elsewhere, "prediction")) == 1


def test_connections_past_the_cap_are_refused(make_app):
    app = make_app(MAX_CONNECTIONS_PER_ADDRESS=2)
    # A teacher key JSON can carry but UTF-8 cannot (a lone surrogate) is only a wrong key: it is counted.
    connections = [socketio.test_client(app, auth={"token": "\ud800"}) for _ in range(3)]
    assert [connection.is_connected() for connection in connections] == [True, True, False]
    assert events(connections[0], "error")[0]["code"] == "unauthorized"
    connections[0].disconnect()  # a closed connection frees its place
    assert socketio.test_client(app).is_connected()
    assert socketio.test_client(app, flask_test_client=from_address(app, "127.0.0.2")).is_connected()


def test_a_connect_that_fails_is_refused_and_not_counted(make_app, monkeypatch):
    from server.live import handlers

    app = make_app(MAX_CONNECTIONS_PER_ADDRESS=1)

    def broken(auth, address):
        raise RuntimeError("a bug in the connect handler")

    monkeypatch.setattr(handlers, "room_to_join", broken)
    assert not socketio.test_client(app).is_connected()  # an error answered would have admitted it, uncounted
    monkeypatch.undo()
    assert socketio.test_client(app).is_connected()  # the refused one holds no place


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/stats"), ("get", "/api/attempts"), ("post", "/api/predict"), ("post", "/api/number")],
)
def test_rest_answers_429_with_retry_after_per_address(make_app, teacher_headers, seven_png, method, path):
    app = make_app(**SLOW_REST)
    client = from_address(app, "127.0.0.3")
    body = {"json": {"image": data_url(seven_png)}} if method == "post" else {}
    for _ in range(2):
        assert getattr(client, method)(path, headers=teacher_headers, **body).status_code == 200
    refused = getattr(client, method)(path, headers=teacher_headers, **body)
    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert "Retry-After" in SPEC["paths"][path][method]["responses"]["429"]["headers"]
    assert getattr(from_address(app, "127.0.0.4"), method)(path, headers=teacher_headers, **body).status_code == 200


def test_the_api_description_is_not_limited(make_app):
    client = from_address(make_app(**SLOW_REST), "127.0.0.5")
    assert all(client.get("/api/openapi.json").status_code == 200 for _ in range(5))


def test_number_is_read_by_the_recognizer_processes_not_the_web_process(make_app, mnist, monkeypatch):
    app = make_app(INFERENCE_PROCESSES=True)
    digits = app.extensions["service"]
    digits.start()
    monkeypatch.setattr(digits.recognizer, "recognize_number", lambda image: pytest.fail("read in the web process"))
    response = app.test_client().post("/api/number", json={"image": data_url(transparent_png(row(mnist, "31", 30)))})
    assert response.status_code == 200
    assert response.json["number"] == "31"


def test_number_waits_in_the_same_queue_and_gets_busy_with_it(make_app, seven_png):
    response = make_app(MAX_PENDING=0).test_client().post("/api/number", json={"image": data_url(seven_png)})
    assert response.status_code == 503
    assert response.json["error"]["code"] == "busy"
