"""Classrooms (server/access/rooms.py): a drawer's room decides whose dashboard feed and stats see its attempts.

In-process, on both stores: SQLite and (marked cassandra) a real Cassandra node.
"""

from __future__ import annotations

import pytest

from tests.support.images import data_url
from tests.support.socket_events import events, new_id, socket_to


@pytest.fixture(params=["sqlite", pytest.param("cassandra", marks=pytest.mark.cassandra)])
def room_app(request, make_app):
    if request.param == "sqlite":
        return make_app(INFERENCE_WORKERS=1)
    return make_app(INFERENCE_WORKERS=1, STORE_URL=request.getfixturevalue("cassandra_url"))


def draw(connection, image: str, room: str | None) -> str:
    """One finished drawing (a single final frame) in ``room``; returns its attempt id once answered."""
    attempt_id = new_id()
    frame = {"attempt_id": attempt_id, "seq": 0, "image": image, "final": True}
    connection.emit("frame", frame if room is None else {**frame, "room": room})
    assert events(connection, "prediction")[0]["attempt_id"] == attempt_id
    return attempt_id


def test_each_dashboard_sees_only_its_rooms_drawings_and_labels(room_app, seven_frame, teacher_token):
    drawer = socket_to(room_app)
    seventh, eighth, default = (socket_to(room_app, {"token": teacher_token}) for _ in range(3))
    assert seventh.emit("watch", {"room": "7B"}, callback=True) == {"ok": True, "room": "7B"}
    assert eighth.emit("watch", {"room": "8C"}, callback=True) == {"ok": True, "room": "8C"}
    assert default.emit("watch", callback=True) == {"ok": True, "room": ""}
    in_7b, in_8c, in_none = (
        draw(drawer, seven_frame, "7B"),
        draw(drawer, seven_frame, "8C"),
        draw(drawer, seven_frame, None),
    )
    drawer.emit("label", {"attempt_id": in_7b, "label": 7}, callback=True)
    assert [attempt["attempt_id"] for attempt in events(seventh, "attempt")] == [in_7b]
    assert events(seventh, "label") == [{"attempt_id": in_7b, "label": 7}]
    assert [attempt["attempt_id"] for attempt in events(eighth, "attempt")] == [in_8c]
    assert [attempt["attempt_id"] for attempt in events(default, "attempt")] == [in_none]
    assert events(eighth, "label", timeout=0.3) == []
    assert events(default, "label", timeout=0.3) == []


def test_watching_another_room_leaves_the_first(room_app, seven_frame, teacher_token):
    drawer, dashboard = socket_to(room_app), socket_to(room_app, {"token": teacher_token})
    dashboard.emit("watch", {"room": "7B"}, callback=True)
    dashboard.emit("watch", {"room": "8C"}, callback=True)
    draw(drawer, seven_frame, "7B")
    in_8c = draw(drawer, seven_frame, "8C")
    assert [attempt["attempt_id"] for attempt in events(dashboard, "attempt", count=2, timeout=1)] == [in_8c]


def test_history_and_stats_by_room(room_app, seven_frame, seven_png, teacher_client):
    teacher, drawer = teacher_client(room_app), socket_to(room_app)
    in_7b = draw(drawer, seven_frame, "7B")
    uploaded = teacher.post("/api/predict", json={"image": data_url(seven_png), "room": "7B"}).json["attempt_id"]
    in_8c = draw(drawer, seven_frame, "8C")
    listing = teacher.get("/api/attempts?room=7B").json["attempts"]
    assert {attempt["attempt_id"] for attempt in listing} == {in_7b, uploaded}
    assert {attempt["room"] for attempt in listing} == {"7B"}
    assert [attempt["attempt_id"] for attempt in teacher.get("/api/attempts?room=8C").json["attempts"]] == [in_8c]
    assert teacher.get("/api/attempts").json["attempts"] == [], "no room is the default room, not all rooms"
    stats = teacher.get("/api/stats?room=7B").json
    assert (stats["room"], stats["attempts"]) == ("7B", 2)
    assert teacher.get("/api/stats?room=8C").json["attempts"] == 1
    assert teacher.get("/api/stats").json["attempts"] == 0


BAD_CODES = ["x" * 17, "7 B", "7B;", "ü", "../7B"]


@pytest.mark.parametrize("room", [*BAD_CODES, 7, ["7B"]])
def test_bad_rooms_in_frames_and_watch_are_refused(app, seven_frame, teacher_token, room):
    drawer, dashboard = socket_to(app), socket_to(app, {"token": teacher_token})
    drawer.emit("frame", {"attempt_id": new_id(), "seq": 0, "image": seven_frame, "room": room})
    assert events(drawer, "error")[0]["code"] == "bad_room"
    assert dashboard.emit("watch", {"room": room}, callback=True)["code"] == "bad_room"


@pytest.mark.parametrize("room", BAD_CODES)
def test_bad_rooms_over_rest_are_400(app, teacher_client, seven_frame, room):
    teacher = teacher_client(app)
    for path in ("/api/attempts", "/api/stats"):
        response = teacher.get(path, query_string={"room": room})
        assert (response.status_code, response.json["error"]["code"]) == (400, "bad_room")
    response = teacher.post("/api/predict", json={"image": seven_frame, "room": room})
    assert (response.status_code, response.json["error"]["code"]) == (400, "bad_room")
