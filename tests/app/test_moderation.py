"""The teacher's hands on the wall and the lesson's downloads, through the app's REST and Socket.IO.

Hiding (server/api/moderation.py) keeps a flag with the attempt and tells the room's feed; deleting
tells it too; the room's attempts download as CSV and its drawings as a ZIP, streamed
(server/api/lesson_export.py). The real model, a SQLite file; the wall page itself in Chromium:
tests/system/test_wall.py.
"""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from datetime import datetime

import pytest
from PIL import Image

from server.api import lesson_export
from server.storage.attempts import Attempt
from tests.support.records import make_attempt
from tests.support.socket_events import events, new_id, socket_to

COLUMNS = [
    "id",
    "created_at",
    "digit",
    "confidence",
    "label",
    "model_version",
    "room",
    "room_name",
    "source",
    "frames",
    "hidden",
    "drawing",
]
DRAWING_NAME = re.compile(r"(\d{8}T\d{6}\.\d{3}Z)_([0-9a-f-]{36})\.png")


def drawn(pupil, frame: str, room: str) -> str:
    """A finished drawing sent by a pupil's connection in ``room``; its id once answered (and so stored)."""
    attempt_id = new_id()
    pupil.emit("frame", {"attempt_id": attempt_id, "seq": 0, "image": frame, "final": True, "room": room})
    assert events(pupil, "prediction")[0]["attempt_id"] == attempt_id
    return attempt_id


def watching(app, teacher_token, room: str):
    teacher = socket_to(app, {"token": teacher_token})
    assert teacher.emit("watch", {"room": room}, callback=True) == {"ok": True, "room": room}
    return teacher


def opened(client, name: str = "") -> str:
    response = client.post("/api/rooms", json={"name": name})
    assert response.status_code == 201, response.json
    return response.json["code"]


# --- hiding and deleting ---------------------------------------------------------------------------


def test_hiding_keeps_the_flag_and_tells_every_watcher_of_the_room(app, client, teacher_token, seven_frame):
    code = opened(client, "7B")
    wall, dashboard = watching(app, teacher_token, code), watching(app, teacher_token, code)
    elsewhere = watching(app, teacher_token, "8C")
    pupil = socket_to(app, {"room": code})
    attempt_id = drawn(pupil, seven_frame, code)
    assert events(wall, "attempt")[0]["hidden"] is False

    response = client.put(f"/api/attempts/{attempt_id}/hidden", json={"hidden": True})
    assert response.status_code == 200, response.json
    assert response.json == {"attempt_id": attempt_id, "hidden": True, "room": code}
    for watcher in (wall, dashboard):
        assert events(watcher, "hidden") == [{"attempt_id": attempt_id, "hidden": True}]
    assert events(elsewhere, "hidden", count=0, timeout=0.3) == [], "only the attempt's room is told"

    assert app.extensions["service"].store.get(attempt_id).hidden is True
    assert client.get(f"/api/attempts/{attempt_id}").json["hidden"] is True
    listed = client.get(f"/api/attempts?room={code}").json["attempts"]
    assert [(a["attempt_id"], a["hidden"]) for a in listed] == [(attempt_id, True)], "history keeps it, flagged"

    assert client.put(f"/api/attempts/{attempt_id}/hidden", json={"hidden": False}).json["hidden"] is False
    assert events(wall, "hidden") == [{"attempt_id": attempt_id, "hidden": False}]
    assert app.extensions["service"].store.get(attempt_id).hidden is False


def test_a_hidden_attempt_stays_hidden_when_its_drawer_sends_it_again(app, client, teacher_token, seven_frame):
    wall = watching(app, teacher_token, "7B")
    pupil = socket_to(app, {"room": "7B"})
    attempt_id = drawn(pupil, seven_frame, "7B")
    assert events(wall, "attempt")[0]["hidden"] is False
    assert client.put(f"/api/attempts/{attempt_id}/hidden", json={"hidden": True}).status_code == 200
    pupil.emit("frame", {"attempt_id": attempt_id, "seq": 1, "image": seven_frame, "final": True, "room": "7B"})
    assert events(pupil, "prediction")[0]["seq"] == 1
    again = events(wall, "attempt")
    assert [(a["attempt_id"], a["frames"], a["hidden"]) for a in again] == [(attempt_id, 2, True)], "not back"
    stored = app.extensions["service"].store.get(attempt_id)
    assert (stored.frames, stored.hidden) == (2, True), "the attempt's own writes never clear the flag"


def test_only_the_teacher_may_hide(app, client, anonymous, seven_frame):
    answer = anonymous.post("/api/predict", json={"image": seven_frame, "room": "7B"}).json
    path = f"/api/attempts/{answer['attempt_id']}/hidden"
    assert anonymous.put(path, json={"hidden": True}).status_code == 401
    owner = {"X-Owner-Token": answer["owner_token"]}
    assert anonymous.put(path, json={"hidden": True}, headers=owner).status_code == 401, "not even its drawer"
    wrong = {"Authorization": "Bearer not-the-key"}
    assert anonymous.put(path, json={"hidden": True}, headers=wrong).status_code == 401
    assert client.get(f"/api/attempts/{answer['attempt_id']}").json["hidden"] is False


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/api/attempts/{id}/hidden", {"hidden": "yes"}, 400, "bad_request"),
        ("/api/attempts/{id}/hidden", {}, 400, "bad_request"),
        ("/api/attempts/{id}/hidden", [True], 400, "bad_request"),
        ("/api/attempts/not-a-uuid/hidden", {"hidden": True}, 400, "bad_attempt_id"),
        ("/api/attempts/00000000-0000-4000-8000-000000000000/hidden", {"hidden": True}, 404, "not_found"),
    ],
)
def test_bad_hide_requests_are_refused(client, seven_frame, path, body, status, code):
    attempt_id = client.post("/api/predict", json={"image": seven_frame}).json["attempt_id"]
    response = client.put(path.replace("{id}", attempt_id), json=body)
    assert (response.status_code, response.json["error"]["code"]) == (status, code)


def test_deleting_tells_the_rooms_feed(app, client, teacher_token, seven_frame):
    wall = watching(app, teacher_token, "7B")
    pupil = socket_to(app, {"room": "7B"})
    attempt_id = drawn(pupil, seven_frame, "7B")
    assert events(wall, "attempt")[0]["attempt_id"] == attempt_id
    assert client.delete(f"/api/attempts/{attempt_id}").json == {"deleted": attempt_id}
    assert events(wall, "deleted") == [{"attempt_id": attempt_id}]
    assert client.get(f"/api/attempts/{attempt_id}").status_code == 404


# --- the lesson's downloads ------------------------------------------------------------------------


def kept(room: str, created_at: float, png: bytes, digit: int = 7, hidden: bool = False, **changes) -> Attempt:
    """A finished attempt of ``room`` with ``png`` as its kept drawing, written straight to the store."""
    return Attempt(
        **{**make_attempt(created_at, digit=digit, room=room).__dict__, "image": png, "hidden": hidden, **changes}
    )


@pytest.fixture
def lesson(app, client, seven_png) -> dict:
    """An opened room with four finished attempts (one hidden, one without a drawing), a draft, and another
    room's attempt; the room is closed, as after the lesson."""
    code = opened(client, "=7B Mathe")  # a name a spreadsheet would run as a formula
    now = time.time()
    attempts = [
        kept(code, now - 40, seven_png, label=7),
        kept(code, now - 30, seven_png, digit=1, label=4),
        kept(code, now - 20, seven_png, hidden=True),
        kept(code, now - 10, None),
    ]
    draft = kept(code, now - 5, seven_png, final=False)
    store = app.extensions["service"].store
    store.upsert([*attempts, draft, kept("8C", now - 15, seven_png)])
    for attempt in attempts:  # labels and the flag are written on their own, as the app does
        if attempt.label is not None:
            store.set_label(attempt.id, attempt.label, attempt.created_at)
        if attempt.hidden:
            store.set_hidden(attempt.id, True, attempt.created_at)
    assert client.delete(f"/api/rooms/{code}").status_code == 200
    return {"code": code, "attempts": attempts[::-1]}  # newest first, as downloaded


def rows(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff"), "a byte order mark, so a spreadsheet reads UTF-8"
    reader = csv.DictReader(io.StringIO(text[1:]))
    assert reader.fieldnames == COLUMNS
    return list(reader)


def test_the_csv_has_a_row_per_finished_attempt_of_the_room(client, lesson):
    response = client.get(f"/api/rooms/{lesson['code']}/attempts.csv")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="room-{lesson["code"]}-attempts.csv"'
    got = rows(response.get_data(as_text=True))
    assert [row["id"] for row in got] == [attempt.id for attempt in lesson["attempts"]], "no draft, no other room"
    for row, attempt in zip(got, lesson["attempts"], strict=True):
        assert datetime.fromisoformat(row["created_at"]).timestamp() == pytest.approx(attempt.created_at, abs=0.001)
        assert row["digit"] == str(attempt.digit)
        assert float(row["confidence"]) == pytest.approx(attempt.confidence)
        assert row["label"] == ("" if attempt.label is None else str(attempt.label))
        assert (row["model_version"], row["room"], row["source"]) == ("v1", lesson["code"], "canvas")
        assert row["room_name"] == "'=7B Mathe", "the class's name is text, not a formula"
        assert row["frames"] == "1"
        assert row["hidden"] == ("true" if attempt.hidden else "false")
        shown = attempt.image is not None and not attempt.hidden
        assert bool(DRAWING_NAME.fullmatch(row["drawing"])) is shown


def test_the_zip_has_each_kept_drawing_as_a_png_and_the_csv(client, lesson):
    response = client.get(f"/api/rooms/{lesson['code']}/drawings.zip")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == f'attachment; filename="room-{lesson["code"]}-drawings.zip"'
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.testzip() is None
    shown = [attempt for attempt in lesson["attempts"] if attempt.image is not None and not attempt.hidden]
    drawings = [name for name in archive.namelist() if name != "attempts.csv"]
    assert [DRAWING_NAME.fullmatch(name).group(2) for name in drawings] == [attempt.id for attempt in shown]
    for name, attempt in zip(drawings, shown, strict=True):
        created = datetime.strptime(DRAWING_NAME.fullmatch(name).group(1), "%Y%m%dT%H%M%S.%fZ")
        assert created.strftime("%Y%m%d%H%M%S") == time.strftime("%Y%m%d%H%M%S", time.gmtime(attempt.created_at))
        with Image.open(io.BytesIO(archive.read(name))) as image:
            image.load()
            assert image.format == "PNG"
        assert archive.read(name) == attempt.image
        assert archive.getinfo(name).external_attr >> 16 == 0o644
    inside = rows(archive.read("attempts.csv").decode("utf-8"))
    assert inside == rows(client.get(f"/api/rooms/{lesson['code']}/attempts.csv").get_data(as_text=True))
    assert [row["drawing"] for row in inside if row["drawing"]] == drawings


def test_the_zip_is_sent_a_drawing_at_a_time(client, lesson, seven_png):
    """Streamed: the body comes in several chunks, none of them the whole archive."""
    response = client.get(f"/api/rooms/{lesson['code']}/drawings.zip", buffered=False)
    chunks = list(response.response)
    assert len(chunks) >= 4, "two drawings, the CSV, the central directory"
    assert all(chunks), "no empty chunk: in a chunked response it would end the body"
    whole = b"".join(chunks)
    assert max(len(chunk) for chunk in chunks) < len(whole)
    assert zipfile.ZipFile(io.BytesIO(whole)).testzip() is None


def test_the_downloads_page_through_the_store(client, app, monkeypatch, seven_png):
    monkeypatch.setattr(lesson_export, "PAGE_SIZE", 2)
    now = time.time()
    attempts = [kept("7B", now - seconds, seven_png) for seconds in range(7)]
    app.extensions["service"].store.upsert(attempts)
    got = rows(client.get("/api/rooms/7B/attempts.csv").get_data(as_text=True))
    assert [row["id"] for row in got] == [attempt.id for attempt in attempts], "a free-form room, four pages"
    assert {row["room_name"] for row in got} == {""}
    archive = zipfile.ZipFile(io.BytesIO(client.get("/api/rooms/7B/drawings.zip").data))
    assert len(archive.namelist()) == 7 + 1


def test_a_drawing_made_live_is_in_the_download(app, client, seven_frame):
    pupil = socket_to(app, {"room": "7B"})
    attempt_id = drawn(pupil, seven_frame, "7B")
    [row] = rows(client.get("/api/rooms/7B/attempts.csv").get_data(as_text=True))
    assert (row["id"], row["digit"], row["room"]) == (attempt_id, "7", "7B")
    archive = zipfile.ZipFile(io.BytesIO(client.get("/api/rooms/7B/drawings.zip").data))
    with Image.open(io.BytesIO(archive.read(row["drawing"]))) as image:
        assert image.format == "PNG"


def test_the_downloads_need_the_teacher_key(anonymous, lesson):
    for name in ("attempts.csv", "drawings.zip"):
        response = anonymous.get(f"/api/rooms/{lesson['code']}/{name}")
        assert (response.status_code, response.json["error"]["code"]) == (401, "unauthorized")
        wrong = anonymous.get(f"/api/rooms/{lesson['code']}/{name}", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401


def test_a_bad_room_code_is_refused_and_an_empty_room_has_a_header_only(client):
    assert client.get(f"/api/rooms/{'x' * 17}/attempts.csv").json["error"]["code"] == "bad_room"
    assert rows(client.get("/api/rooms/empty/attempts.csv").get_data(as_text=True)) == []
    archive = zipfile.ZipFile(io.BytesIO(client.get("/api/rooms/empty/drawings.zip").data))
    assert archive.namelist() == ["attempts.csv"]
