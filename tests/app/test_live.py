"""The Socket.IO protocol, driven in-process with Flask-SocketIO's test client."""

import os
import signal

import pytest

from server.extensions import socketio
from tests.support.socket_events import events, new_id, socket_to
from tests.support.waiting import wait_until


def test_frame_gets_a_prediction(socket_client, seven_frame):
    attempt_id = new_id()
    socket_client.emit("frame", {"attempt_id": attempt_id, "seq": 3, "image": seven_frame, "final": False})
    [prediction] = events(socket_client, "prediction")
    assert prediction["attempt_id"] == attempt_id
    assert prediction["seq"] == 3
    assert prediction["digit"] == 7
    assert len(prediction["probabilities"]) == 10
    assert prediction["confidence"] == max(prediction["probabilities"])
    assert prediction["preview"].startswith("data:image/png;base64,")


def test_a_frame_asking_to_explain_gets_the_heat_map_and_the_layers(socket_client, seven_png, seven_frame):
    socket_client.emit("frame", {"attempt_id": new_id(), "seq": 0, "image": seven_png, "explain": True})
    [prediction] = events(socket_client, "prediction")
    assert prediction["digit"] == 7
    explanation = prediction["explanation"]
    assert set(explanation) == {"target", "heatmap", "peak_drop", "layers"}
    assert explanation["target"] == 7
    assert explanation["heatmap"].startswith("data:image/png;base64,")
    assert 0 < explanation["peak_drop"] <= 1
    assert [layer["shape"] for layer in explanation["layers"]] == [[24, 24, 32], [12, 12, 64], [10, 10, 64]]
    for layer in explanation["layers"]:
        assert set(layer) == {"name", "shape", "channels", "mosaic"}
        assert layer["mosaic"].startswith("data:image/png;base64,")
        assert len(layer["channels"]) == 16
    for asked in ({}, {"explain": False}):
        socket_client.emit("frame", {"attempt_id": new_id(), "seq": 0, "image": seven_frame, **asked})
        assert "explanation" not in events(socket_client, "prediction")[0], "only when asked"


def test_a_blank_frame_has_nothing_to_explain(socket_client, blank_frame):
    socket_client.emit("frame", {"attempt_id": new_id(), "seq": 0, "image": blank_frame, "explain": True})
    [prediction] = events(socket_client, "prediction")
    assert prediction["reason"] == "blank"
    assert "explanation" not in prediction


def test_a_binary_frame_gets_the_same_prediction_as_its_data_url(socket_client, seven_png, seven_frame):
    """The page sends the image's bytes as a binary attachment; other clients may send a data URL."""
    answers = []
    for image in (seven_png, seven_frame):
        socket_client.emit("frame", {"attempt_id": new_id(), "seq": 0, "image": image, "final": False})
        answers.append(events(socket_client, "prediction")[0])
    assert answers[0]["digit"] == 7
    assert answers[0]["probabilities"] == answers[1]["probabilities"]


@pytest.mark.parametrize(
    ("image", "code"),
    [(b"", "empty_image"), (b"GIF89a-not-really", "corrupt_image"), (b"%PDF-1.7", "unsupported_format")],
)
def test_bad_binary_frames_get_specific_errors(socket_client, image, code):
    socket_client.emit("frame", {"attempt_id": new_id(), "seq": 0, "image": image})
    assert events(socket_client, "error")[0]["code"] == code


def test_a_drawing_that_is_no_digit_is_refused_and_stored_as_such(socket_client, non_digit_png, app, recognizer):
    attempt_id = new_id()
    socket_client.emit("frame", {"attempt_id": attempt_id, "seq": 0, "image": non_digit_png, "final": True})
    [prediction] = events(socket_client, "prediction")
    assert prediction["digit"] is None
    assert prediction["reason"] == "not_a_digit"
    assert prediction["not_a_digit"] >= recognizer.calibration.not_a_digit_threshold
    assert prediction["confidence"] == prediction["not_a_digit"]
    assert len(prediction["probabilities"]) == 10
    assert prediction["preview"].startswith("data:image/png;base64,"), "the page still shows what the model saw"
    service = app.extensions["service"]
    wait_until(lambda: service.store.get(attempt_id) is not None, what="the refused attempt to be stored")
    assert service.store.get(attempt_id).digit is None


def test_a_digit_carries_its_calibrated_not_a_digit_probability(socket_client, seven_png):
    socket_client.emit("frame", {"attempt_id": new_id(), "seq": 0, "image": seven_png, "final": False})
    [prediction] = events(socket_client, "prediction")
    assert prediction["digit"] == 7
    assert 0 <= prediction["not_a_digit"] < 0.05
    assert sum(prediction["probabilities"]) + prediction["not_a_digit"] == pytest.approx(1.0, abs=1e-4)


def test_blank_canvas_answers_no_digit(socket_client, blank_frame):
    socket_client.emit("frame", {"attempt_id": new_id(), "seq": 0, "image": blank_frame, "final": True})
    [prediction] = events(socket_client, "prediction")
    assert prediction["digit"] is None
    assert prediction["reason"] == "blank"
    assert prediction["preview"] is None


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ("just a string", "bad_payload"),
        (["a", "list"], "bad_payload"),
        ({"attempt_id": "not-a-uuid", "seq": 0, "image": "x"}, "bad_attempt_id"),
        ({"attempt_id": 42, "seq": 0, "image": "x"}, "bad_attempt_id"),
        ({"attempt_id": "00000000-0000-4000-8000-000000000000", "seq": -1, "image": "x"}, "bad_seq"),
        ({"attempt_id": "00000000-0000-4000-8000-000000000000", "seq": True, "image": "x"}, "bad_seq"),
        ({"attempt_id": "00000000-0000-4000-8000-000000000000", "seq": "1", "image": "x"}, "bad_seq"),
        ({"attempt_id": "00000000-0000-4000-8000-000000000000", "seq": 1}, "bad_image"),
        ({"attempt_id": "00000000-0000-4000-8000-000000000000", "seq": 1, "image": "x", "final": "yes"}, "bad_payload"),
        (
            {"attempt_id": "00000000-0000-4000-8000-000000000000", "seq": 1, "image": "x", "explain": "yes"},
            "bad_payload",
        ),
        ({"attempt_id": "00000000-0000-4000-8000-000000000000", "seq": 1, "image": "x", "explain": 1}, "bad_payload"),
        (
            {"attempt_id": "00000000-0000-4000-8000-000000000000", "seq": 1, "image": "x", "explain": None},
            "bad_payload",
        ),
        (
            {"attempt_id": "00000000-0000-4000-8000-000000000000", "seq": 1, "image": "data:image/png;base64,@@"},
            "bad_encoding",
        ),
        (
            {
                "attempt_id": "00000000-0000-4000-8000-000000000000",
                "seq": 1,
                "image": "data:text/plain;base64,aGVsbG8=",
            },
            "unsupported_format",
        ),
        (
            {"attempt_id": "00000000-0000-4000-8000-000000000000", "seq": 1, "image": "iVBORw0KGgoAAAAN"},
            "corrupt_image",
        ),
    ],
)
def test_malformed_frames_get_specific_errors_and_the_connection_survives(socket_client, seven_frame, payload, code):
    socket_client.emit("frame", payload)
    [error] = events(socket_client, "error")
    assert error["code"] == code
    assert error["message"]
    socket_client.emit("frame", {"attempt_id": new_id(), "seq": 0, "image": seven_frame})
    assert events(socket_client, "prediction")[0]["digit"] == 7


def test_error_echoes_attempt_and_seq(socket_client):
    attempt_id = new_id()
    socket_client.emit("frame", {"attempt_id": attempt_id, "seq": 9, "image": "data:image/png;base64,AAAA"})
    [error] = events(socket_client, "error")
    assert (error["attempt_id"], error["seq"]) == (attempt_id, 9)
    socket_client.emit("frame", {"attempt_id": "x" * 1_000_000, "seq": 9, "image": "x"})  # not echoed back whole
    [error] = events(socket_client, "error")
    assert error["code"] == "bad_attempt_id"
    assert "attempt_id" not in error


@pytest.mark.parametrize("event", ["frame", "label"])
def test_an_owner_token_that_is_not_a_token_is_refused_as_one(socket_client, seven_frame, event):
    started = socket_to(socket_client.app)  # another connection's attempt: the token is checked
    attempt_id = new_id()
    started.emit("frame", {"attempt_id": attempt_id, "seq": 0, "image": seven_frame, "final": True})
    events(started, "prediction")
    for token in ("\ud800" * 20, "token with spaces", "é" * 20):
        payload = {"attempt_id": attempt_id, "seq": 1, "image": seven_frame, "label": 3, "owner_token": token}
        socket_client.emit(event, payload)
        assert events(socket_client, "error")[0]["code"] == "bad_owner_token"


def test_a_store_outage_is_answered_store_unavailable_or_kept_for_later(socket_client, client, app, seven_frame):
    """A frame naming a class cannot be placed while the store is down: store_unavailable, and the connection
    stays. A label of the drawer's own attempt needs no read: it is kept (spooled) and acknowledged."""
    from server.storage.store import StoreUnavailable

    attempt_id = new_id()
    socket_client.emit("frame", {"attempt_id": attempt_id, "seq": 0, "image": seven_frame, "final": True})
    events(socket_client, "prediction")
    service = app.extensions["service"]

    def unreachable(*args, **kwargs):
        raise StoreUnavailable("the store is down")

    real_find, real_check = service.find, service.rooms.check
    service.find = service.rooms.check = unreachable
    ack = socket_client.emit("label", {"attempt_id": attempt_id, "label": 1}, callback=True)
    assert ack == {"ok": True, "attempt_id": attempt_id, "label": 1}
    frame_id = new_id()
    socket_client.emit("frame", {"attempt_id": frame_id, "seq": 0, "image": seven_frame, "room": "123456"})
    [error] = events(socket_client, "error")
    assert (error["code"], error["attempt_id"]) == ("store_unavailable", frame_id)
    service.find, service.rooms.check = real_find, real_check
    wait_until(lambda: client.get(f"/api/attempts/{attempt_id}").json["label"] == 1, what="the label kept")
    socket_client.emit("frame", {"attempt_id": new_id(), "seq": 0, "image": seven_frame})
    assert events(socket_client, "prediction")[0]["digit"] == 7


def test_oversized_frame_is_refused(make_app, seven_frame, seven_png):
    connection = socket_to(make_app(MAX_FRAME_BYTES=1000))
    for image in (seven_frame, seven_png):
        connection.emit("frame", {"attempt_id": new_id(), "seq": 0, "image": image})
        assert events(connection, "error")[0]["code"] == "image_too_large"


def test_rate_limit_per_connection_tells_once_and_drops_the_rest(make_app, blank_frame):
    connection = socket_to(make_app(RATE_LIMIT_PER_SECOND=0.001, RATE_LIMIT_BURST=3))
    for seq in range(6):
        connection.emit("frame", {"attempt_id": new_id(), "seq": seq, "image": blank_frame})
    assert len(events(connection, "prediction", count=3)) == 3
    assert [error["code"] for error in events(connection, "error", count=2, timeout=1.0)] == ["rate_limited"]
    assert events(connection, "prediction", count=4, timeout=0.5) == []
    assert connection.is_connected(), "a little too fast is slowed, not cut off"


def test_a_connection_that_keeps_flooding_is_disconnected_and_its_address_cools_down(make_app, blank_frame):
    app = make_app(RATE_LIMIT_PER_SECOND=0.001, RATE_LIMIT_BURST=2, FLOOD_STRIKES=5, FLOOD_COOLDOWN_SECONDS=60)
    flooder = socket_to(app)
    sent, received = 0, []
    while flooder.is_connected() and sent < 100:
        flooder.emit("frame", {"attempt_id": new_id(), "seq": sent, "image": blank_frame})
        sent += 1
        if flooder.is_connected():
            received.extend(event["name"] for event in flooder.get_received())
    assert sent == 2 + 5 + 1, "two frames allowed, five strikes, the next refusal cuts it off"
    assert received.count("error") == 1, "told once; the flood's other frames are dropped unread, unanswered"
    assert not flooder.is_connected()
    assert not socket_to(app).is_connected(), "the address cools down"
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "127.0.0.9"
    assert socketio.test_client(app, flask_test_client=elsewhere).is_connected(), "another address is welcome"


def test_full_queue_answers_busy(make_app, blank_frame):
    connection = socket_to(make_app(MAX_PENDING=0))
    connection.emit("frame", {"attempt_id": new_id(), "seq": 0, "image": blank_frame})
    assert events(connection, "error")[0]["code"] == "busy"


def test_label_is_acknowledged_and_stored(socket_client, client, seven_frame):
    attempt_id = new_id()
    socket_client.emit("frame", {"attempt_id": attempt_id, "seq": 0, "image": seven_frame, "final": True})
    events(socket_client, "prediction")  # a person labels what they were answered
    ack = socket_client.emit("label", {"attempt_id": attempt_id, "label": 1}, callback=True)
    assert ack == {"ok": True, "attempt_id": attempt_id, "label": 1}
    wait_until(lambda: client.get(f"/api/attempts/{attempt_id}").json.get("label") == 1, what="the stored label")
    assert client.get(f"/api/attempts/{attempt_id}").json["digit"] == 7


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"attempt_id": "00000000-0000-4000-8000-000000000000", "label": 3}, "unknown_attempt"),
        ({"attempt_id": "00000000-0000-4000-8000-000000000000", "label": 10}, "bad_label"),
        ({"attempt_id": "00000000-0000-4000-8000-000000000000", "label": "3"}, "bad_label"),
        ({"label": 3}, "bad_attempt_id"),
        (None, "bad_payload"),
    ],
)
def test_bad_labels_are_refused(socket_client, payload, code):
    ack = socket_client.emit("label", payload, callback=True)
    assert ack["ok"] is False
    assert ack["code"] == code
    assert events(socket_client, "error")[0]["code"] == code


def test_dashboard_sees_finished_attempts_and_labels_of_other_clients(make_app, seven_frame, teacher_token):
    # One inference worker delivers each answer in full (prediction, then any broadcast) before
    # it takes the next frame: a broadcast of the draft would reach the dashboard before the final's.
    app = make_app(INFERENCE_WORKERS=1)
    drawer, dashboard = socket_to(app), socket_to(app, {"token": teacher_token})
    assert dashboard.emit("watch", "7B", callback=True)["code"] == "bad_payload"  # not {"room": "7B"}
    assert dashboard.emit("watch", callback=True) == {"ok": True, "room": ""}
    attempt_id = new_id()
    drawer.emit("frame", {"attempt_id": attempt_id, "seq": 0, "image": seven_frame, "final": False})
    assert events(drawer, "prediction")[0]["final"] is False
    drawer.emit("frame", {"attempt_id": attempt_id, "seq": 1, "image": seven_frame, "final": True})
    events(drawer, "prediction")
    drawer.emit("label", {"attempt_id": attempt_id, "label": 7}, callback=True)
    attempts = events(dashboard, "attempt")
    assert [attempt["final"] for attempt in attempts] == [True], "drafts are not broadcast"
    assert attempts[0]["attempt_id"] == attempt_id
    assert attempts[0]["digit"] == 7
    assert attempts[0]["frames"] == 2
    assert events(dashboard, "label") == [{"attempt_id": attempt_id, "label": 7}]
    drawer.disconnect()
    dashboard.disconnect()


def test_every_frame_of_an_attempt_updates_one_record(socket_client, client, seven_frame, blank_frame):
    attempt_id = new_id()
    for seq, image in enumerate([blank_frame, seven_frame, seven_frame]):  # each sent once the last is answered
        socket_client.emit("frame", {"attempt_id": attempt_id, "seq": seq, "image": image, "final": seq == 2})
        events(socket_client, "prediction")

    def stored_versions() -> list[dict]:
        return [a for a in client.get("/api/attempts?limit=100").json["attempts"] if a["attempt_id"] == attempt_id]

    wait_until(lambda: any(a["final"] for a in stored_versions()), what="the final frame in the store")
    [stored] = stored_versions()
    assert stored["frames"] == 3
    assert stored["digit"] == 7
    assert stored["source"] == "canvas"


def test_a_crashed_recognizer_costs_one_frame_and_the_connection_keeps_working(make_app, seven_frame):
    app = make_app(INFERENCE_WORKERS=1)
    connection = socket_to(app)
    connection.emit("frame", {"attempt_id": new_id(), "seq": 0, "image": seven_frame, "final": True})
    assert events(connection, "prediction")[0]["digit"] == 7
    os.kill(app.extensions["service"].queue.engines[0].pid, signal.SIGKILL)
    connection.emit("frame", {"attempt_id": new_id(), "seq": 0, "image": seven_frame, "final": True})
    [error] = events(connection, "error")
    assert error["code"] == "internal_error"
    connection.emit("frame", {"attempt_id": new_id(), "seq": 0, "image": seven_frame, "final": True})
    assert events(connection, "prediction")[0]["digit"] == 7


def test_a_new_attempt_is_owned_by_the_token_its_first_frame_proposes(socket_client, app, seven_frame):
    """The page makes each attempt's token with it: the server adopts it (one of at least 16 characters), so a
    drawing whose first answer never arrived is still provably the page's; a shorter one gets a fresh token."""
    proposed = "made-by-the-page-with-its-attempt-01"
    owned, short = new_id(), new_id()
    socket_client.emit("frame", {"attempt_id": owned, "seq": 0, "image": seven_frame, "owner_token": proposed})
    socket_client.emit("frame", {"attempt_id": short, "seq": 0, "image": seven_frame, "owner_token": "too-short"})
    answers = {prediction["attempt_id"]: prediction for prediction in events(socket_client, "prediction", count=2)}
    assert answers[owned]["owner_token"] == proposed
    assert answers[short]["owner_token"] != "too-short"
    other = socket_to(app)  # another connection (a reload) proves ownership with the token
    for attempt_id, token, answer in ((owned, proposed, True), (short, "too-short", False)):
        ack = other.emit("label", {"attempt_id": attempt_id, "label": 7, "owner_token": token}, callback=True)
        assert ack["ok"] is answer
