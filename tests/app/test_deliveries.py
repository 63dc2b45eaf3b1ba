"""Offline attempts delivered (``POST /api/deliveries``) and kiosk heartbeats (``/api/kiosks``), in-process.

A delivery is stored once, re-recognized by the server's model beside the browser's kept answer; a
second delivery is a no-op; another token for an existing attempt is 403 with nothing changed; an unknown
claimed model version is kept as text; a bad drawing gets the usual image error codes.
"""

from __future__ import annotations

import base64
import dataclasses
import threading
import time
import uuid

import pytest

from server.api.deliveries import DELIVERING
from tests.support.images import blank_png, data_url
from tests.support.socket_events import events, new_id
from tests.support.waiting import wait_until

TOKEN = "offline-token-made-by-the-page-0001"


def delivery(image: str, **changes) -> dict:
    return {
        "attempt_id": str(uuid.uuid4()),
        "owner_token": TOKEN,
        "image": image,
        "digit": 7,
        "reason": None,
        "confidence": 0.93,
        "model_version": "v1-builtin",
        "label": None,
        "drawn_at": time.time() - 120,
        **changes,
    }


def stored(client, attempt_id: str) -> dict:
    response = client.get(f"/api/attempts/{attempt_id}")
    assert response.status_code == 200, response.json
    return response.json


def test_a_delivery_is_stored_once_with_both_answers(client, anonymous, seven_frame):
    sent = delivery(seven_frame, label=7, kiosk_id="hall-1")
    first = anonymous.post("/api/deliveries", json=sent)
    assert first.status_code == 200, first.json
    assert first.json["stored"] is True
    assert first.json["server"]["digit"] == 7
    attempt = stored(client, sent["attempt_id"])
    assert attempt["source"] == "offline"
    assert attempt["final"] is True
    assert attempt["digit"] == 7
    assert abs(attempt["created_at"] - sent["drawn_at"]) < 1  # the time it was drawn, not delivered
    again = anonymous.post("/api/deliveries", json=sent)  # a retry after a lost answer, or a second tab
    assert again.status_code == 200
    assert again.json["stored"] is False
    assert stored(client, sent["attempt_id"])["updated_at"] == attempt["updated_at"]  # nothing rewritten
    both = anonymous.get(f"/api/deliveries/{sent['attempt_id']}", headers={"X-Owner-Token": TOKEN})
    assert both.status_code == 200
    assert both.json["browser"]["digit"] == 7
    assert both.json["browser"]["model_version"] == "v1-builtin"
    assert both.json["browser"]["kiosk_id"] == "hall-1"
    assert both.json["server"]["digit"] == 7
    deadline = time.time() + 5
    while stored(client, sent["attempt_id"])["label"] != 7:  # the label the drawer gave offline
        assert time.time() < deadline
        time.sleep(0.05)


def test_another_token_for_an_existing_attempt_is_forbidden_and_changes_nothing(client, anonymous, seven_frame):
    sent = delivery(seven_frame)
    assert anonymous.post("/api/deliveries", json=sent).status_code == 200
    before = stored(client, sent["attempt_id"])
    forged = anonymous.post("/api/deliveries", json={**sent, "owner_token": "x" * 32, "label": 1, "digit": 1})
    assert forged.status_code == 403
    assert forged.json["error"]["code"] == "forbidden"
    assert stored(client, sent["attempt_id"]) == before


def test_a_claimed_model_version_the_server_does_not_know_is_kept_as_text(anonymous, app, seven_frame):
    sent = delivery(seven_frame, model_version="v9-from-a-kiosk-nobody-updated", digit=1)
    answer = anonymous.post("/api/deliveries", json=sent)
    assert answer.status_code == 200
    assert answer.json["server"]["digit"] == 7  # the server's own answer, from its own model
    kept = app.extensions["service"].store.offline_answer(sent["attempt_id"])
    assert kept.claimed_version == "v9-from-a-kiosk-nobody-updated"
    assert kept.version_known is False
    assert kept.digit == 1


@pytest.mark.parametrize(
    ("image", "status", "code"),
    [
        (
            "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64).decode(),
            400,
            "corrupt_image",
        ),
        ("data:image/png;base64,@@@", 400, "bad_encoding"),
        ("data:image/png;base64," + base64.b64encode(b"GIF89a" + b"\x00" * 10).decode(), 400, "corrupt_image"),
        ("data:image/png;base64," + base64.b64encode(b"not an image at all").decode(), 415, "unsupported_format"),
    ],
)
def test_a_bad_drawing_gets_the_usual_codes_and_is_not_stored(client, anonymous, image, status, code):
    sent = delivery(image)
    answer = anonymous.post("/api/deliveries", json=sent)
    assert (answer.status_code, answer.json["error"]["code"]) == (status, code)
    assert client.get(f"/api/attempts/{sent['attempt_id']}").status_code == 404


def test_an_oversized_drawing_is_refused(make_app, seven_frame):
    small = make_app(MAX_UPLOAD_BYTES=2000).test_client()
    large = data_url(blank_png(900))
    answer = small.post("/api/deliveries", json=delivery(large))
    assert answer.status_code == 413
    assert answer.json["error"]["code"] in {"image_too_large", "too_large"}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"attempt_id": "not-a-uuid"}, "bad_attempt_id"),
        ({"owner_token": "short"}, "bad_owner_token"),
        ({"owner_token": None}, "bad_owner_token"),
        ({"label": 12}, "bad_label"),
        ({"digit": "7"}, "bad_label"),
        ({"reason": "because"}, "bad_payload"),
        ({"model_version": ""}, "bad_payload"),
        ({"drawn_at": "yesterday"}, "bad_payload"),
        ({"kiosk_id": "<script>"}, "bad_payload"),
        ({"kiosk_id": "hall-1\n"}, "bad_payload"),
        ({"confidence": 3}, "bad_payload"),
        ({"owner_token": "\ud800" * 20}, "bad_owner_token"),  # JSON carries it; UTF-8 cannot
        ({"model_version": "v1\ud800"}, "bad_payload"),
        ({"drawn_at": 10**400}, "bad_payload"),  # past a float's range
        ({"drawn_at": float("inf")}, "bad_payload"),
    ],
)
def test_malformed_deliveries_are_refused(anonymous, seven_frame, change, code):
    answer = anonymous.post("/api/deliveries", json=delivery(seven_frame, **change))
    assert answer.status_code == 400
    assert answer.json["error"]["code"] == code


def test_a_drawing_dated_in_the_future_is_stored_now(client, anonymous, seven_frame):
    sent = delivery(seven_frame, drawn_at=time.time() + 10 * 86400)
    assert anonymous.post("/api/deliveries", json=sent).status_code == 200
    assert stored(client, sent["attempt_id"])["created_at"] <= time.time()


def test_deliveries_spend_the_address_budget(make_app, seven_frame):
    limited = make_app(REST_RATE_LIMIT_PER_SECOND=0.01, REST_RATE_LIMIT_BURST=2).test_client()
    codes = [limited.post("/api/deliveries", json=delivery(seven_frame)).status_code for _ in range(4)]
    assert codes[:2] == [200, 200]
    assert codes[2:] == [429, 429]


def test_kiosk_heartbeats_reach_the_teacher_only(client, anonymous):
    beat = {
        "kiosk_id": "science-centre-2",
        "model_version": "v1-builtin",
        "online_seconds": 300.5,
        "offline_seconds": 42,
        "waiting": 3,
        "attempts_today": 17,
        "state": "offline",
    }
    assert anonymous.post("/api/kiosks/heartbeat", json=beat).status_code == 200
    assert anonymous.get("/api/kiosks").status_code == 401
    kiosks = client.get("/api/kiosks").json["kiosks"]
    assert [k["kiosk_id"] for k in kiosks] == ["science-centre-2"]
    assert kiosks[0]["waiting"] == 3
    assert kiosks[0]["attempts_today"] == 17
    assert kiosks[0]["state"] == "offline"
    assert time.time() - kiosks[0]["last_seen"] < 5
    assert anonymous.post("/api/kiosks/heartbeat", json={**beat, "kiosk_id": "Bibliothèque 2"}).status_code == 200
    for bad in (
        {**beat, "kiosk_id": ""},
        {**beat, "kiosk_id": "science-centre-2\n"},
        {**beat, "waiting": -1},
        {**beat, "waiting": 10**400},
        {**beat, "model_version": "\ud800"},
        {**beat, "state": "asleep"},
        [1, 2],
    ):
        answer = anonymous.post("/api/kiosks/heartbeat", json=bad)
        assert answer.status_code == 400
        assert answer.json["error"]["code"] == "bad_payload"


def test_deleting_an_offline_attempt_deletes_the_browsers_answer_too(client, anonymous, app, seven_frame):
    sent = delivery(seven_frame)
    assert anonymous.post("/api/deliveries", json=sent).status_code == 200
    assert app.extensions["service"].store.offline_answer(sent["attempt_id"]) is not None
    gone = anonymous.delete(f"/api/attempts/{sent['attempt_id'].upper()}", headers={"X-Owner-Token": TOKEN})
    assert gone.status_code == 200
    assert app.extensions["service"].store.offline_answer(sent["attempt_id"]) is None


def test_the_browsers_answers_are_forgotten_after_the_retention_period(make_app, seven_frame):
    kept = make_app(RETENTION_DAYS=1)
    old = delivery(seven_frame, drawn_at=time.time() - 3 * 86400)  # kept within the period: stored as 1 day old
    new = delivery(seven_frame)
    store = kept.extensions["service"].store
    client = kept.test_client()
    assert client.post("/api/deliveries", json=old).status_code == 200
    store.save_offline_answer(
        dataclasses.replace(store.offline_answer(old["attempt_id"]), attempt_id=str(uuid.uuid4()), drawn_at=0.0)
    )
    assert client.post("/api/deliveries", json=new).status_code == 200
    assert store.offline_answer(old["attempt_id"]) is not None
    assert store.offline_answer(new["attempt_id"]) is not None
    assert store._run("SELECT attempt_id FROM offline_answers WHERE drawn_at = 0") == []


def test_the_same_delivery_sent_at_once_is_recognized_and_stored_once(client, anonymous, app, seven_frame):
    """Two tabs, or a retry while the first is still recognized: one is stored, the other told to send again."""
    sent = delivery(seven_frame, label=7)
    with DELIVERING.hold(sent["attempt_id"]) as mine:  # a delivery of it in flight
        assert mine
        second = anonymous.post("/api/deliveries", json=sent)
    assert second.status_code == 503
    assert second.json["error"]["code"] == "busy"
    assert client.get(f"/api/attempts/{sent['attempt_id']}").status_code == 404  # nothing stored by it
    answers = []

    def deliver():
        answers.append(app.test_client().post("/api/deliveries", json=sent))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {answer.status_code for answer in answers} <= {200, 503}
    assert [answer.json.get("stored") for answer in answers].count(True) == 1
    assert stored(client, sent["attempt_id"])["frames"] == 1


def test_a_delivery_for_a_class_that_has_closed_is_kept_in_the_default_room(make_app, teacher_client, seven_frame):
    """A closed class's drawing goes to the default room; an address out of code guesses is told to come back
    (429, retried by the outbox), so an open class's drawing is never filed elsewhere for it."""
    app = make_app(ROOM_GUESSES_PER_MINUTE=0.001, ROOM_GUESSES_BURST=1)
    anonymous, client = app.test_client(), teacher_client(app)
    sent = delivery(seven_frame)
    answer = anonymous.post("/api/deliveries?room=123456", json=sent)  # no class 123456 is open
    assert answer.status_code == 200, answer.json
    assert answer.json["stored"] is True
    assert stored(client, sent["attempt_id"])["room"] == ""
    out_of_guesses = anonymous.post("/api/deliveries?room=123457", json=delivery(seven_frame))
    assert out_of_guesses.status_code == 429
    assert out_of_guesses.json["error"]["code"] == "rate_limited"


def test_a_label_delivered_for_an_attempt_the_server_finished_is_kept(client, socket_client, anonymous, seven_frame):
    """The final frame reached the server, the answer did not: the page delivers it, with the label given offline."""
    attempt_id = new_id()
    socket_client.emit("frame", {"attempt_id": attempt_id, "seq": 0, "image": seven_frame, "final": True})
    [prediction] = events(socket_client, "prediction")
    sent = delivery(seven_frame, attempt_id=attempt_id, owner_token=prediction["owner_token"], label=1)
    answer = anonymous.post("/api/deliveries", json=sent)
    assert answer.status_code == 200
    assert answer.json["stored"] is False
    wait_until(lambda: stored(client, attempt_id)["label"] == 1, what="the label given offline")
    assert stored(client, attempt_id)["source"] == "canvas"
    kept = anonymous.get(f"/api/deliveries/{attempt_id}", headers={"X-Owner-Token": prediction["owner_token"]})
    assert kept.status_code == 404  # drawn online: no browser's answer is made up for it
