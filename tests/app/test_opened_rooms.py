"""Rooms a teacher opens (server/api/rooms.py, server/access/rooms.py), through the app's REST and Socket.IO.

The real model and recognizer processes, a SQLite file; budgets made small so their edges show.
A whole school from one address against a real server: tests/system/test_classroom.py.
"""

from __future__ import annotations

import re

import pytest

from tests.support.socket_events import events, new_id, socket_to


def opened(client, **body) -> dict:
    response = client.post("/api/rooms", json=body)
    assert response.status_code == 201, response.json
    return response.json


def test_opening_a_room_answers_code_link_qr_and_expiry(client):
    room = opened(client, name="7B", language="de")
    assert set(room) == {"code", "name", "language", "join_url", "qr", "created_at", "expires_at"}
    assert re.fullmatch(r"[0-9]{6}", room["code"])
    assert room["join_url"] == f"http://localhost/?room={room['code']}"
    assert room["qr"].startswith("data:image/svg+xml;base64,")
    assert room["expires_at"] == pytest.approx(room["created_at"] + 240 * 60)
    assert [listed["code"] for listed in client.get("/api/rooms").json["rooms"]] == [room["code"]]
    svg = client.get(f"/api/rooms/{room['code']}/qr.svg")
    assert svg.status_code == 200
    assert svg.mimetype == "image/svg+xml"
    assert svg.data.startswith(b"<svg")


def test_the_join_link_follows_public_url(make_app, teacher_client):
    client = teacher_client(make_app(PUBLIC_URL="https://digits.school.example/"))
    assert opened(client)["join_url"].startswith("https://digits.school.example/?room=")


def test_rooms_need_the_teacher_key_but_a_pupil_may_look_one_up(client, anonymous):
    code = opened(client, name="7B", language="fr")["code"]
    assert anonymous.post("/api/rooms", json={}).status_code == 401
    assert anonymous.get("/api/rooms").status_code == 401
    assert anonymous.get(f"/api/rooms/{code}/qr.svg").status_code == 401
    assert anonymous.delete(f"/api/rooms/{code}").status_code == 401
    assert anonymous.get(f"/api/rooms/{code}").json == {"code": code, "name": "7B", "language": "fr"}


def test_bad_room_requests_get_clear_errors(client):
    assert client.post("/api/rooms", json={"name": "x" * 41}).json["error"]["code"] == "bad_request"
    assert client.post("/api/rooms", json={"language": "xx"}).json["error"]["code"] == "bad_request"
    assert client.post("/api/rooms", data="[1]", content_type="application/json").status_code == 400
    for path in ("/api/rooms/123456", "/api/rooms/7B", "/api/rooms/123456/qr.svg"):
        assert client.get(path).json["error"]["code"] in {"unknown_room", "not_found"}, path
    assert client.delete("/api/rooms/123456").json["error"]["code"] == "unknown_room"


def test_closing_a_room_refuses_its_code_from_then_on(client, app, seven_frame):
    code = opened(client)["code"]
    pupil = socket_to(app, {"room": code})
    assert events(pupil, "room")[0]["code"] == code
    assert client.delete(f"/api/rooms/{code}").json == {"code": code, "closed": True}
    assert client.get("/api/rooms").json["rooms"] == []
    pupil.emit("frame", {"attempt_id": new_id(), "seq": 0, "image": seven_frame, "final": True})
    assert events(pupil, "error")[0]["code"] == "unknown_room", "a joined pupil is told the class closed"
    late = socket_to(app, {"room": code})
    assert events(late, "error")[0]["code"] == "unknown_room"


def test_a_pupil_joins_with_auth_and_the_attempt_keeps_the_room(client, app, seven_frame):
    code = opened(client, name="7B", language="es")["code"]
    pupil = socket_to(app, {"room": code})
    assert events(pupil, "room") == [{"code": code, "name": "7B", "language": "es"}]
    attempt_id = new_id()
    pupil.emit("frame", {"attempt_id": attempt_id, "seq": 0, "image": seven_frame, "final": True})
    assert events(pupil, "prediction")[0]["attempt_id"] == attempt_id
    assert client.get(f"/api/attempts/{attempt_id}").json["room"] == code
    assert [a["attempt_id"] for a in client.get(f"/api/attempts?room={code}").json["attempts"]] == [attempt_id]
    assert client.get(f"/api/stats?room={code}").json["attempts"] == 1
    pupil.emit("frame", {"attempt_id": new_id(), "seq": 0, "image": seven_frame, "final": True, "room": "8C"})
    assert events(pupil, "error")[0]["code"] == "bad_room", "a joined connection draws in its class only"


def test_an_unknown_code_is_said_in_words_and_the_pupil_draws_alone(app, seven_frame):
    pupil = socket_to(app, {"room": "123456"})
    [error] = events(pupil, "error")
    assert error["code"] == "unknown_room"
    assert "not open" in error["message"]
    attempt_id = new_id()
    pupil.emit("frame", {"attempt_id": attempt_id, "seq": 0, "image": seven_frame, "final": True})
    assert events(pupil, "prediction")[0]["attempt_id"] == attempt_id


def test_guessing_codes_is_limited_and_then_even_a_right_code_is_refused(make_app, teacher_client):
    app = make_app(ROOM_GUESSES_BURST=3, ROOM_GUESSES_PER_MINUTE=0.001)
    code = opened(teacher_client(app))["code"]
    pupil = app.test_client()
    assert [pupil.get(f"/api/rooms/{guess:06d}").status_code for guess in (1, 2, 3)] == [404, 404, 404]
    refused = pupil.get(f"/api/rooms/{code}")
    assert (refused.status_code, refused.json["error"]["code"]) == (429, "rate_limited"), "no oracle once spent"
    guesses = [socket_to(app, {"room": f"{guess:06d}"}) for guess in (1, 2, 3)]  # the socket's own address
    assert [events(guess, "error")[0]["code"] for guess in guesses] == ["unknown_room"] * 3
    guesser = socket_to(app, {"room": code})
    assert events(guesser, "error")[0]["code"] == "rate_limited"
    assert events(guesser, "room", timeout=0.5) == []


def test_an_opened_room_has_its_own_budget_not_the_address(make_app, teacher_client, blank_frame):
    app = make_app(MAX_CONNECTIONS_PER_ADDRESS=2, ROOM_MAX_CONNECTIONS=4, ADDRESS_RATE_LIMIT_BURST=2)
    code = opened(teacher_client(app))["code"]
    pupils = [socket_to(app, {"room": code}) for _ in range(4)]
    assert all(pupil.is_connected() for pupil in pupils), "four in the class, though the address allows two"
    assert not socket_to(app, {"room": code}).is_connected(), "the fifth: the class is full"
    for pupil in pupils:  # six frames from one address: over its burst of two, within the room's
        for seq in range(2):
            pupil.emit("frame", {"attempt_id": new_id(), "seq": seq, "image": blank_frame})
    errors = [error["code"] for pupil in pupils for error in events(pupil, "error", count=0, timeout=1.0)]
    assert "rate_limited" not in errors
    anonymous = [socket_to(app) for _ in range(3)]
    assert [connection.is_connected() for connection in anonymous] == [True, True, False], "anonymous: the address"


def test_free_rooms_stay_unless_turned_off(make_app, seven_frame):
    free = socket_to(make_app(), {"room": "7B"})
    assert events(free, "error", count=0, timeout=0.5) == []
    strict = make_app(FREE_ROOMS=False)
    pupil = socket_to(strict, {"room": "7B"})
    assert events(pupil, "error")[0]["code"] == "unknown_room"
    pupil.emit("frame", {"attempt_id": new_id(), "seq": 0, "image": seven_frame, "room": "7B"})
    assert events(pupil, "error")[0]["code"] == "unknown_room"
    assert strict.test_client().post("/api/predict?room=7B", json={"image": seven_frame}).status_code == 404
