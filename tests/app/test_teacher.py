"""The teacher key (server/access/teacher.py): what needs it, how it is sent, and how a server without one makes one."""

import os
import re
import stat

import pytest

from server.extensions import socketio
from tests.support.socket_events import events

ZERO = "00000000-0000-4000-8000-000000000000"
TEACHER_ROUTES = [
    ("get", "/api/attempts"),
    ("get", f"/api/attempts/{ZERO}"),
    ("get", f"/api/attempts/{ZERO}/image"),
    ("get", "/api/stats"),
    ("get", "/api/models"),
    ("post", "/api/models/no-such-version/activate"),
    ("post", "/api/models/rollback"),
    ("delete", "/api/models/no-such-version"),
    ("get", "/api/retrain"),
    ("post", "/api/retrain"),
    ("put", f"/api/attempts/{ZERO}/label"),
    ("delete", f"/api/attempts/{ZERO}"),
    ("put", f"/api/attempts/{ZERO}/hidden"),
    ("get", "/api/rooms/123456/attempts.csv"),
    ("get", "/api/rooms/123456/drawings.zip"),
    ("post", "/api/rooms"),
    ("get", "/api/rooms"),
    ("delete", "/api/rooms/123456"),
    ("get", "/api/rooms/123456/qr.svg"),
    ("get", "/api/kiosks"),
    ("get", f"/api/deliveries/{ZERO}"),  # or the attempt's owner token
]


# What anyone may do without the key: pages (their data needs it), health, drawing, the API description.
# Attempt reads, labels and deletes are in TEACHER_ROUTES: without the key they need the owner token.
PUBLIC_ROUTES = {
    ("get", "/"),
    ("get", "/dashboard"),
    ("get", "/history"),
    ("get", "/wall"),
    ("get", "/healthz"),
    ("get", "/static/<path:filename>"),
    ("get", "/api/openapi.json"),
    ("post", "/api/predict"),
    ("post", "/api/number"),
    ("get", "/api/rooms/<code>"),  # a class's name and language for its pupils; misses are rate limited
    # The offline fallback (docs/offline.md): the served model, the installable page, deliveries and heartbeats.
    ("get", "/api/model/card"),
    ("get", "/api/model/digits.tflite"),
    ("get", "/sw.js"),
    ("get", "/manifest.webmanifest"),
    ("post", "/api/deliveries"),  # an existing attempt needs its owner token (403 otherwise)
    ("post", "/api/kiosks/heartbeat"),
}
# Socket.IO events: drawing and labelling one's own attempt need no key (test_owners checks whose attempt).
PUBLIC_EVENTS = {"connect", "disconnect", "frame", "label"}
TEACHER_EVENTS = {"watch"}


def test_every_route_and_event_is_either_public_or_in_the_teacher_list(app):
    """A new route or event fails here until someone decides whether it needs the key (and it is tested)."""
    routes = {
        (method.lower(), rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    teacher = {(method, re.sub(ZERO, "<attempt_id>", path)) for method, path in TEACHER_ROUTES}
    teacher = {(method, re.sub(r"no-such-version", "<version>", path)) for method, path in teacher}
    teacher = {(method, re.sub(r"/123456(/|$)", r"/<code>\1", path)) for method, path in teacher}
    assert routes == PUBLIC_ROUTES | teacher
    assert set(socketio.server.handlers["/"]) == PUBLIC_EVENTS | TEACHER_EVENTS


def assert_unauthorized(response) -> None:
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert response.json["error"]["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path"), TEACHER_ROUTES)
def test_teacher_routes_refuse_a_missing_or_wrong_key(anonymous, method, path):
    kwargs = {"json": {"label": 3}} if method == "put" else {}
    assert_unauthorized(getattr(anonymous, method)(path, **kwargs))
    wrong = {"Authorization": "Bearer not-the-key"}
    assert_unauthorized(getattr(anonymous, method)(path, headers=wrong, **kwargs))


@pytest.mark.parametrize(("method", "path"), [route for route in TEACHER_ROUTES if route != ("post", "/api/retrain")])
def test_teacher_routes_admit_the_key(anonymous, teacher_headers, method, path):
    kwargs = {"json": {"label": 3}} if method == "put" else {}
    response = getattr(anonymous, method)(path, headers=teacher_headers, **kwargs)
    assert response.status_code not in (401, 403), response.json


def test_the_key_reads_the_listing_and_stats(anonymous, teacher_headers):
    assert anonymous.get("/api/attempts", headers=teacher_headers).json["attempts"] == []
    assert anonymous.get("/api/stats", headers=teacher_headers).json["attempts"] == 0


def test_pages_load_without_the_key_only_their_data_needs_it(anonymous):
    for page in ("/", "/dashboard", "/history", "/wall"):
        assert anonymous.get(page).status_code == 200
    assert anonymous.post("/api/number", json={"image": "@@"}).status_code == 400, "drawing needs no key"


def test_watch_needs_the_key(app, teacher_token):
    pupil = socketio.test_client(app)
    assert pupil.emit("watch", callback=True)["code"] == "unauthorized"
    assert events(pupil, "error")[0]["code"] == "unauthorized"
    teacher = socketio.test_client(app, auth={"token": teacher_token})
    assert teacher.emit("watch", callback=True) == {"ok": True, "room": ""}
    for connection in (pupil, teacher):
        connection.disconnect()


def test_a_wrong_key_on_connect_is_told_and_watch_is_refused(app):
    impostor = socketio.test_client(app, auth={"token": "not-the-key"})
    assert impostor.is_connected(), "drawing still works"
    assert events(impostor, "error")[0]["code"] == "unauthorized"
    assert impostor.emit("watch", callback=True) == {
        "ok": False,
        "code": "unauthorized",
        "message": "The live feed needs the teacher key: connect with auth {token}.",
    }
    impostor.disconnect()


def test_the_key_is_remembered_per_connection_only(app, teacher_token):
    teacher = socketio.test_client(app, auth={"token": teacher_token})
    pupil = socketio.test_client(app)
    assert teacher.emit("watch", callback=True)["ok"] is True
    assert pupil.emit("watch", callback=True)["ok"] is False
    teacher.disconnect()
    assert app.extensions["service"].teachers == set()
    pupil.disconnect()


def test_a_server_without_a_key_makes_one_keeps_it_private_and_reuses_it(make_app, tmp_path):
    data = tmp_path / "state"
    first = make_app(TEACHER_TOKEN="", DATA_DIR=str(data))
    path = data / "teacher_token"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    key = first.config["TEACHER_TOKEN"]
    assert len(key) >= 43, "32 random bytes"
    assert path.read_text().strip() == key
    assert make_app(TEACHER_TOKEN="", DATA_DIR=str(data)).config["TEACHER_TOKEN"] == key, "reused on restart"
    headers = {"Authorization": f"Bearer {key}"}
    assert first.test_client().get("/api/stats", headers=headers).status_code == 200


def test_a_configured_key_wins_and_no_file_is_made(make_app, tmp_path):
    app = make_app(TEACHER_TOKEN="from-the-environment", DATA_DIR=str(tmp_path / "state"))
    assert app.config["TEACHER_TOKEN"] == "from-the-environment"
    assert not (tmp_path / "state" / "teacher_token").exists()


def test_python_m_server_prints_the_dashboard_link_with_the_key(monkeypatch, capsys, tmp_path, app_config):
    """It prints the link, then execs gunicorn (recorded here, not run); a store password is never printed."""
    from server import __main__ as entry

    execs = []
    monkeypatch.setattr(entry.os, "execve", lambda *args: execs.append(args))
    monkeypatch.setattr(entry.os, "chdir", lambda path: None)
    settings = {**app_config, "TEACHER_TOKEN": "", "DATA_DIR": str(tmp_path / "state"), "PORT": 8123}
    settings["STORE_URL"] = "cassandra://digits:s3cret@db1:9042/classes"
    for key, value in settings.items():
        monkeypatch.setenv(key, str(value))
    entry.main()
    [(_, argv, environment)] = execs
    assert environment["PORT"] == "8123"
    assert argv[1:] == ["-m", "gunicorn", "server:create_app()"]
    key = (tmp_path / "state" / "teacher_token").read_text().strip()
    printed = capsys.readouterr().out
    assert f"Teacher dashboard: http://127.0.0.1:8123/dashboard#token={key}" in printed
    assert printed.count(key) == 1, "the key is printed once, in the link"
    assert "s3cret" not in printed
    assert "cassandra://digits:***@db1:9042/classes" in printed


def test_keys_are_compared_in_constant_time(app, anonymous, teacher_headers, monkeypatch):
    """Every key check, REST and Socket.IO, goes through hmac.compare_digest (no early-exit ==)."""
    import hmac

    from server.access import teacher

    compared, original = [], hmac.compare_digest

    def recording(a, b):
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(teacher.hmac, "compare_digest", recording)
    assert anonymous.get("/api/stats", headers={"Authorization": "Bearer not-the-key"}).status_code == 401
    assert anonymous.get("/api/stats", headers=teacher_headers).status_code == 200
    socketio.test_client(app, auth={"token": "socket-guess"}).disconnect()
    key = teacher_headers["Authorization"].removeprefix("Bearer ").encode()
    assert [candidate for candidate, _ in compared] == [b"not-the-key", key, b"socket-guess"]
