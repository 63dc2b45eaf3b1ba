"""No address or Socket.IO sid is stored or published: the attempt's session is a daily pseudonym."""

import os
import stat
import uuid

from server.access.pseudonyms import SECRET_FILE, Pseudonyms
from tests.support.images import data_url
from tests.support.socket_events import events
from tests.support.waiting import wait_until


def stored(app, attempt_id: str):
    store = app.extensions["service"].store
    wait_until(lambda: store.get(attempt_id) is not None, what="the attempt to be stored")
    return store.get(attempt_id)


def test_a_pseudonym_is_stable_within_a_day_and_changes_across_days(tmp_path):
    day = ["2026-11-29"]
    pseudonyms = Pseudonyms(tmp_path, today=lambda: day[0])
    first = pseudonyms("203.0.113.7")
    assert first == pseudonyms("203.0.113.7")
    assert first != pseudonyms("203.0.113.8")
    assert "203.0.113.7" not in first
    assert Pseudonyms(tmp_path, today=lambda: day[0])("203.0.113.7") == first  # another process agrees
    day[0] = "2026-11-30"
    assert pseudonyms("203.0.113.7") != first


def test_the_secret_is_private_to_the_server(tmp_path):
    Pseudonyms(tmp_path)
    assert stat.S_IMODE(os.stat(tmp_path / SECRET_FILE).st_mode) == 0o600


def test_rest_attempts_store_no_address(client, seven_png):
    address = "198.51.100.23"
    first, second = (
        client.post("/api/predict", json={"image": data_url(seven_png)}, environ_base={"REMOTE_ADDR": address}).json[
            "attempt_id"
        ]
        for _ in range(2)
    )
    drawer = stored(client.application, first).drawer
    assert drawer != address
    assert address not in drawer
    assert stored(client.application, second).drawer == drawer  # one drawer, one pseudonym today
    assert client.get(f"/api/attempts/{first}").json["session"] == drawer


def test_live_attempts_store_and_publish_no_sid(app, socket_client, seven_frame, teacher_token):
    from server.extensions import socketio

    dashboard = socketio.test_client(app, auth={"token": teacher_token})
    dashboard.emit("watch")
    attempt_id = str(uuid.uuid4())
    socket_client.emit("frame", {"attempt_id": attempt_id, "seq": 0, "image": seven_frame, "final": True})
    events(socket_client, "prediction")
    sids = set(app.extensions["service"].connection_limits.sids())  # request.sid of every connection, as seen
    drawer = stored(app, attempt_id).drawer
    assert sids
    assert not any(sid in drawer for sid in sids)
    published = [event for event in dashboard.get_received() if event["name"] == "attempt"]
    assert published
    assert all(event["args"][0]["session"] == drawer for event in published)
    dashboard.disconnect()
